"""``ArtifactConfig``: name, version, tags, metadata and type of a step output's artifact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtifactConfig:
    """Use as ``Annotated[pd.DataFrame, ArtifactConfig(name="iris_dataset", version="raw")]``.

    ``tags`` go on the saved artifact version, ``run_metadata`` into its metadata and
    ``artifact_type`` (``kubeline.enums.ArtifactType``) is recorded with it. ``name`` may
    hold placeholders: ``{date}``, ``{time}`` and the step's or pipeline's ``substitutions``.
    """

    name: str | None = None
    version: str | int | None = None
    tags: list[Any] = field(default_factory=list)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    artifact_type: str | None = None
    is_model_artifact: bool = False
    is_deployment_artifact: bool = False

    def __post_init__(self) -> None:
        import json

        from kubeline.errors import ConfigurationError

        try:
            json.dumps(self.run_metadata)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"ArtifactConfig run_metadata must be JSON ({exc})") from None
        names = [t if isinstance(t, str) else getattr(t, "name", None) for t in self.tags]
        if not all(isinstance(n, str) for n in names):
            raise ConfigurationError("ArtifactConfig tags must be strings or Tag(name=...)")

    @property
    def link_type(self) -> str | None:
        """How the output links to the run's model version when this config decides it:
        model (``is_model_artifact`` or a model ``artifact_type``), deployment or data;
        None leaves it to the materializer (scikit-learn estimators are model artifacts)."""
        from kubeline.enums import ArtifactType

        if self.is_model_artifact:
            return "model"
        if self.is_deployment_artifact:
            return "deployment"
        if self.artifact_type is None:
            return None
        return ArtifactType(getattr(self.artifact_type, "value", self.artifact_type)).link_type
