"""A step's inputs as ``get_step_context().inputs`` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact


@dataclass(frozen=True)
class StepInputArtifact(UnmaterializedArtifact):
    """An input's artifact version: identity without I/O; ``run_metadata`` and ``tags`` are
    read through the Client (the step's read access to its namespace)."""

    namespace: str | None = None

    def _view(self) -> Any:
        from kubeline.client import Client

        client = Client(namespace=self.namespace)
        if self.artifact_version:
            return client._artifact_version_by_object_name(self.artifact_version)
        return client.get_artifact_version(self.id or self.uri)

    @property
    def run_metadata(self) -> Any:
        """The input artifact version's metadata (``["key"]`` compares as its value)."""
        return self._view().run_metadata

    @property
    def tags(self) -> list[str]:
        return list(self._view().tags)
