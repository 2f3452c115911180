"""``Model(name=..., version=...)``: the model a pipeline's runs belong to.

A configuration object (no I/O when created). Inside a step,
``get_step_context().model`` returns one; its ``get_model_artifact`` and
``load_artifact`` look the model version up through the Client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeline.enums import ModelStages


@dataclass
class Model:
    """A model in the model control plane, optionally pinned to a version or stage."""

    name: str
    version: str | int | ModelStages | None = None
    description: str | None = None
    license: str | None = None
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("Model(name=...) needs a non-empty string name")

    @property
    def version_ref(self) -> str | None:
        """The version as stored in specs: a number/name, a stage name, or None (new version)."""
        if self.version is None:
            return None
        if isinstance(self.version, ModelStages):
            return self.version.value
        return str(self.version)

    def to_spec(self) -> dict[str, Any]:
        """The wire form stored in Snapshot ``spec.model``."""
        spec: dict[str, Any] = {"name": self.name}
        if self.version_ref is not None:
            spec["version"] = self.version_ref
        if self.description:
            spec["description"] = self.description
        if self.license:
            spec["license"] = self.license
        if self.tags:
            spec["tags"] = list(self.tags)
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> Model | None:
        if not spec or not spec.get("name"):
            return None
        return cls(
            name=spec["name"], version=spec.get("version"), description=spec.get("description"),
            license=spec.get("license"), tags=list(spec.get("tags") or []),
        )

    # ------------------------------------------------------------ lookups (Client)
    def _model_version(self) -> Any:
        from kubeline.client import Client

        return Client().get_model_version(self.name, self.version_ref)

    def get_model_artifact(self, name: str) -> Any:
        """The artifact version linked as ``name`` to this model version (an artifact view)."""
        version = self._model_version()
        getter = getattr(version, "get_model_artifact", None) or version.get_artifact
        return getter(name)

    def get_artifact(self, name: str) -> Any:
        """The artifact version linked as ``name`` to this model version."""
        return self._model_version().get_artifact(name)

    def load_artifact(self, name: str) -> Any:
        """Load the data of the artifact linked as ``name``."""
        return self.get_artifact(name).load()
