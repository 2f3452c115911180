"""``UnmaterializedArtifact``: an input handed over as a reference (id, URI), not loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UnmaterializedArtifact:
    """Annotate a step argument with this type to get the artifact's identity, not its data."""

    id: str | None
    uri: str
    name: str | None = None
    version: str | None = None
    materializer: str | None = None
    data_type: str | None = None
    artifact_version: str | None = None
    content_hash: str | None = None  # recorded at save time; load() verifies it

    def load(self) -> Any:
        """Load the data now (through its materializer)."""
        from kubeline.materializers.registry import load_artifact_data

        if not self.materializer:
            raise ValueError(f"artifact {self.name or self.uri} has no materializer recorded")
        return load_artifact_data(self.uri, self.materializer, self.data_type,
                                  content_hash=self.content_hash, what=self.name or "")

    def to_artifact_ref(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "id": self.id}
