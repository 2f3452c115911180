"""``UnmaterializedArtifact``: an input handed over as a reference (id, URI), not loaded."""

from __future__ import annotations

from collections.abc import Iterable
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

    def load(self, trust_pickles_from: str | Iterable[str] | None = None) -> Any:
        """Load the data now (through its materializer); pickles of another namespace than
        the step's need ``trust_pickles_from`` (``ArtifactVersionView.load``)."""
        from kubeline.artifact_store import default_store
        from kubeline.materializers.registry import load_artifact_data
        from kubeline.materializers.trust import caller_namespace, load_origin

        if not self.materializer:
            raise ValueError(f"artifact {self.name or self.uri} has no materializer recorded")
        store = default_store()
        origin = load_origin(self.uri, store.root, caller_namespace(), trust=trust_pickles_from)
        return load_artifact_data(self.uri, self.materializer, self.data_type, store,
                                  content_hash=self.content_hash, what=self.name or "",
                                  origin=origin)

    def to_artifact_ref(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "id": self.id}
