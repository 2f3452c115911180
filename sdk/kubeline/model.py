"""``Model(name=..., version=...)``: the model a pipeline's runs belong to.

A configuration object (no I/O when created). ``version`` is unset (each run creates a new
version), a version name or number, a stage (``ModelStages.PRODUCTION``...) or a name
template with ``{date}``/``{time}``; the operator resolves it when a run starts.

While a pipeline is compiled, ``get_model_artifact(name)`` and friends return a
:class:`LazyModelArtifact`: passed to a step it becomes an input resolved at run start.
Inside a step, ``get_step_context().model`` is the run's resolved version; its lookups
and ``set_stage`` go through the Client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeline.context import current_pipeline_context
from kubeline.enums import ModelStages
from kubeline.errors import KubelineError


@dataclass(frozen=True)
class LazyModelArtifact:
    """An artifact of a model version, named in a pipeline body; resolved when the run starts."""

    model: str
    version: str | None
    name: str
    artifact_version: str | None = None
    type: str = "any"

    def to_model_artifact_ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"model": self.model, "artifact": self.name, "type": self.type}
        if self.version is not None:
            ref["version"] = self.version
        if self.artifact_version is not None:
            ref["artifactVersion"] = self.artifact_version
        return ref

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        raise KubelineError(
            f"artifact '{self.name}' of model '{self.model}' (version "
            f"{self.version or 'latest'}) is resolved when the run starts, not while the "
            f"pipeline is compiled: pass it to a step as an input instead of using .{item}")

    def __repr__(self) -> str:
        return f"LazyModelArtifact({self.model!r}, {self.version!r}, {self.name!r})"


@dataclass
class Model:
    """A model in the model control plane, optionally pinned to a version or stage."""

    name: str
    version: str | int | ModelStages | None = None
    license: str | None = None
    description: str | None = None
    audience: str | None = None
    use_cases: str | None = None
    limitations: str | None = None
    trade_offs: str | None = None
    ethics: str | None = None
    tags: list[str] | None = None
    number: int | None = field(default=None, repr=False)  # known once resolved (in a step)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("Model(name=...) needs a non-empty string name")
        if isinstance(self.version, str) and self.version.lower() in ModelStages.values():
            self.version = ModelStages(self.version.lower())
        if self.tags is not None:
            self.tags = list(self.tags)

    @property
    def version_ref(self) -> str | None:
        """The version as stored in specs: a number/name, a stage name, or None (new version)."""
        if self.version is None:
            return None
        if isinstance(self.version, ModelStages):
            return self.version.value
        return str(self.version)

    def to_spec(self) -> dict[str, Any]:
        """The wire form stored in Snapshot ``spec.model``; a bad name template raises here."""
        from kubeline.resources.names import format_name_template

        for text in (self.name, self.version_ref or ""):
            format_name_template(text, 0.0)  # KeyError naming an unknown placeholder
        spec: dict[str, Any] = {"name": self.name}
        if self.version_ref is not None:
            spec["version"] = self.version_ref
        for key, wire in (("license", "license"), ("description", "description"),
                          ("audience", "audience"), ("use_cases", "useCases"),
                          ("limitations", "limitations"), ("trade_offs", "tradeOffs"),
                          ("ethics", "ethics")):
            if getattr(self, key):
                spec[wire] = getattr(self, key)
        if self.tags:
            spec["tags"] = list(self.tags)
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> Model | None:
        if not spec or not spec.get("name"):
            return None
        return cls(
            name=spec["name"], version=spec.get("version"), license=spec.get("license"),
            description=spec.get("description"), audience=spec.get("audience"),
            use_cases=spec.get("useCases"), limitations=spec.get("limitations"),
            trade_offs=spec.get("tradeOffs"), ethics=spec.get("ethics"),
            tags=list(spec.get("tags") or []) or None, number=spec.get("number"),
        )

    # ------------------------------------------------------------ lookups (Client)
    def _model_version(self) -> Any:
        from kubeline.client import Client

        if self.version is None:
            raise KubelineError(
                f"Model('{self.name}') names no version: a run creates one when it starts, so "
                "outside a run ask for a version, a number or a stage (ModelStages.LATEST)")
        return Client().get_model_version(self.name, self.version_ref)

    @staticmethod
    def _compiling() -> bool:
        return current_pipeline_context() is not None

    def _lazy(self, name: str, version: str | None, kind: str) -> LazyModelArtifact | None:
        if not self._compiling():
            return None
        return LazyModelArtifact(self.name, self.version_ref, name,
                                 None if version is None else str(version), kind)

    def get_artifact(self, name: str, version: str | None = None) -> Any:
        """The artifact linked as ``name`` to this model version (any link type)."""
        return self._lazy(name, version, "any") or self._model_version().get_artifact(
            name, version)

    def get_model_artifact(self, name: str, version: str | None = None) -> Any:
        """The model artifact ``name`` of this model version (an artifact version view); in a
        pipeline body, an input resolved when the run starts."""
        return self._lazy(name, version, "model") or self._model_version().get_model_artifact(
            name, version)

    def get_data_artifact(self, name: str, version: str | None = None) -> Any:
        return self._lazy(name, version, "data") or self._model_version().get_data_artifact(
            name, version)

    def get_deployment_artifact(self, name: str, version: str | None = None) -> Any:
        return (self._lazy(name, version, "deployment")
                or self._model_version().get_deployment_artifact(name, version))

    def load_artifact(self, name: str, version: str | None = None) -> Any:
        """Load the data of the artifact linked as ``name``."""
        artifact = self.get_artifact(name, version)
        if artifact is None:
            raise ValueError(f"Version {self.version} of model {self.name} does not have an "
                             f"artifact with name {name} and version {version}.")
        return artifact.load()

    @property
    def id(self) -> str:
        """The model version's id."""
        return str(self._model_version().id)

    @property
    def model_id(self) -> str:
        from kubeline.client import Client

        return str(Client().get_model(self.name).id)

    @property
    def stage(self) -> ModelStages | None:
        stage = self._model_version().stage
        return ModelStages(stage) if stage else None

    @property
    def run_metadata(self) -> dict[str, Any]:
        return self._model_version().run_metadata

    def set_stage(self, stage: str | ModelStages, force: bool = False) -> None:
        """Move this model version to ``stage``; with ``force``, archive the version holding
        it instead of raising."""
        self._model_version().set_stage(stage, force=force)

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge ``metadata`` into this model version's metadata."""
        from kubeline.client import Client

        mv = self._model_version()
        Client().update_model_version(self.name, mv.id, metadata=metadata)

    def __hash__(self) -> int:
        return hash((self.name, self.version_ref))
