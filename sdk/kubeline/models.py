"""ZenML's identifier classes of ``zenml.models`` used with ``bulk_log_metadata``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PipelineRunIdentifier:
    """A run by ``id``, ``name`` or ``prefix``."""

    id: str | None = None
    name: str | None = None
    prefix: str | None = None

    @property
    def value(self) -> str | None:
        return self.id or self.name or self.prefix


@dataclass(frozen=True)
class StepRunIdentifier:
    """A step run by ``id``, or by ``name`` within ``run``."""

    id: str | None = None
    name: str | None = None
    run: PipelineRunIdentifier | None = None


@dataclass(frozen=True)
class ArtifactVersionIdentifier:
    """An artifact version by ``id``, or ``name`` and ``version``."""

    id: str | None = None
    name: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ModelVersionIdentifier:
    """A model version by ``id``, or ``name`` and ``version``."""

    id: str | None = None
    name: str | None = None
    version: str | None = None


__all__ = ["ArtifactVersionIdentifier", "ModelVersionIdentifier", "PipelineRunIdentifier",
           "StepRunIdentifier"]
