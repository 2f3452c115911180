"""``ExternalArtifact``: a value from outside the pipeline, given to a step as an input."""

from __future__ import annotations

from typing import Any


class ExternalArtifact:
    """``my_step(data=ExternalArtifact(value=df))`` inside a pipeline: the value is saved as an
    artifact version when the pipeline is compiled (once per object) and the step loads it
    like any input; the cache key sees its content hash, so the same value is a cache hit.
    """

    def __init__(self, value: Any = None, materializer: Any = None,
                 store_artifact_metadata: bool = True,
                 store_artifact_visualizations: bool = True, **kwargs: Any) -> None:
        from kubeline.errors import ConfigurationError

        if kwargs.get("id") is not None or kwargs.get("name") is not None:
            raise ConfigurationError(
                "ExternalArtifact(id=/name=) was removed in ZenML: pass "
                "Client().get_artifact_version(name_or_id) to the step instead")
        unknown = set(kwargs) - {"id", "name", "version", "model"}
        if unknown:
            raise ConfigurationError(f"ExternalArtifact: unknown argument(s) {sorted(unknown)}")
        if value is None:
            raise ConfigurationError("ExternalArtifact needs a value=")
        self.value = value
        self.materializer = materializer
        self.store_artifact_metadata = store_artifact_metadata
        self.store_artifact_visualizations = store_artifact_visualizations
        self._ref: dict[str, Any] | None = None

    def upload_by_value(self) -> Any:
        """Save the value as artifact ``external_<uuid>``; returns the artifact version."""
        import uuid

        from kubeline.artifacts.utils import save_artifact

        return save_artifact(self.value, name=f"external_{uuid.uuid4().hex}",
                             materializer=self.materializer,
                             extract_metadata=self.store_artifact_metadata,
                             include_visualizations=self.store_artifact_visualizations)

    def to_artifact_ref(self) -> dict[str, Any]:
        if self._ref is None:
            version = self.upload_by_value()
            self._ref = version.to_artifact_ref()
        return dict(self._ref)

    def __repr__(self) -> str:
        return f"ExternalArtifact(value={type(self.value).__name__})"
