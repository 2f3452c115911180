"""Model control plane views: ``ModelView`` and ``ModelVersionView``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubeline.client._base import LazyMapping, MetadataValue, View, metadata_dict
from kubeline.errors import NotFoundError
from kubeline.resources import names
from kubeline.resources.read import (
    ModelSpecView,
    ModelStatusView,
    ModelVersionSpecView,
    ModelVersionStatusView,
)

if TYPE_CHECKING:
    from kubeline.enums import ModelStages

if TYPE_CHECKING:
    from kubeline.client.artifacts import ArtifactVersionView
    from kubeline.client.runs import RunView


class ModelView(View):
    """A Model object."""

    plural = names.MODELS

    @property
    def name(self) -> str:
        return ModelSpecView(self.spec).name or self.object_name

    @property
    def description(self) -> str | None:
        return ModelSpecView(self.spec).description

    @property
    def tags(self) -> list[str]:
        return ModelSpecView(self.spec).tags

    @property
    def license(self) -> str | None:
        return ModelSpecView(self.spec).license

    @property
    def number_of_versions(self) -> int:
        return ModelStatusView(self.k8s_status).version_count

    @property
    def latest_version_name(self) -> str | None:
        return ModelStatusView(self.k8s_status).latest_version

    @property
    def production_version_name(self) -> str | None:
        return ModelStatusView(self.k8s_status).production_version

    @property
    def versions(self) -> list[ModelVersionView]:
        """All versions of this model, by number (one label-selected, paged list; ZenML's
        ``versions`` reads every page too)."""
        return self._client._all_model_versions(self.name)

    @property
    def latest_version(self) -> ModelVersionView:
        return self._client.get_model_version(self.name, "latest")

    def get_version(self, version: str | int = "latest") -> ModelVersionView:
        return self._client.get_model_version(self.name, version)

    def __repr__(self) -> str:
        return f"ModelView({self.name!r})"


class ModelVersionView(View):
    """A ModelVersion: a version of a model, its stage, history and linked artifacts."""

    plural = names.MODEL_VERSIONS

    @property
    def sp(self) -> ModelVersionSpecView:
        """The version's spec, typed (``kubeline.resources.read``)."""
        return ModelVersionSpecView(self.spec)

    @property
    def name(self) -> str:
        """The version's name (``"3"``, ``"v1.2"``)."""
        return self.sp.version

    @property
    def model_name(self) -> str:
        return self.sp.model_name

    @property
    def model(self) -> ModelView:
        return self._client.get_model(self.model_name)

    @property
    def version(self) -> str:
        return self.name

    @property
    def number(self) -> int | None:
        return ModelVersionStatusView(self.k8s_status).number

    @property
    def stage(self) -> str:
        """The stage in effect (applied by the operator)."""
        return ModelVersionStatusView(self.k8s_status).stage or "none"

    @property
    def requested_stage(self) -> str:
        """The stage asked for in ``spec.stage`` (equal to ``stage`` once applied)."""
        return self.sp.stage

    @property
    def stage_history(self) -> list[dict[str, Any]]:
        """Stage changes, oldest first: ``stage``, ``previous``, ``time``, ``user`` (as the
        API server authenticated it), ``manager``, ``reason``, ``message``."""
        return ModelVersionStatusView(self.k8s_status).stage_history

    @property
    def description(self) -> str | None:
        return self.sp.description

    @property
    def tags(self) -> list[str]:
        return self.sp.tags

    @property
    def run_metadata(self) -> dict[str, MetadataValue]:
        """Metadata logged to this version (``log_metadata(..., infer_model=True)``):
        ``run_metadata["accuracy"].value``."""
        return self._cached("run_metadata", lambda: metadata_dict(self.sp.metadata))

    @property
    def links(self) -> list[dict[str, Any]]:
        """Artifact links in the order they were made: name, artifactVersion, type, run, step."""
        return [dict(a.raw) for a in self.sp.artifacts]

    @property
    def artifact_links(self) -> dict[str, str]:
        """Artifact name -> ArtifactVersion object name (the newest link of each name)."""
        return {a.name: a.artifact_version for a in self.sp.artifacts}

    def _typed(self, kind: str | None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for link in self.sp.artifacts:
            if kind is None or link.type == kind:
                out.setdefault(link.name, []).append(link.artifact_version)
        return out

    def _by_type(self, key: str, kind: str | None) -> LazyMapping[ArtifactVersionView]:
        links = {k: v[-1] for k, v in self._typed(kind).items()}
        return self._cached(key, lambda: LazyMapping(
            list(links), lambda k: self._client._artifact_version_by_object_name(links[k]),
            f"{kind or ''} artifact of model version {self.model_name}:{self.name}".strip()))

    @property
    def artifacts(self) -> LazyMapping[ArtifactVersionView]:
        return self._by_type("artifacts", None)

    @property
    def model_artifacts(self) -> LazyMapping[ArtifactVersionView]:
        return self._by_type("model_artifacts", "model")

    @property
    def data_artifacts(self) -> LazyMapping[ArtifactVersionView]:
        return self._by_type("data_artifacts", "data")

    @property
    def deployment_artifacts(self) -> LazyMapping[ArtifactVersionView]:
        return self._by_type("deployment_artifacts", "deployment")

    def _get(self, name: str, version: str | None, kind: str | None
             ) -> ArtifactVersionView | None:
        candidates = self._typed(kind).get(name) or []
        for object_name in reversed(candidates):
            view = self._client._artifact_version_by_object_name(object_name)
            if version is None or str(view.version) == str(version):
                return view
        return None

    def get_artifact(self, name: str, version: str | None = None
                     ) -> ArtifactVersionView | None:
        """The artifact linked as ``name`` (any type; newest, or of ``version``), or None."""
        return self._get(name, version, None)

    def get_model_artifact(self, name: str, version: str | None = None
                           ) -> ArtifactVersionView | None:
        """The model artifact ``name`` (e.g. 'trained_model'), or None."""
        return self._get(name, version, "model")

    def get_data_artifact(self, name: str, version: str | None = None
                          ) -> ArtifactVersionView | None:
        return self._get(name, version, "data")

    def get_deployment_artifact(self, name: str, version: str | None = None
                                ) -> ArtifactVersionView | None:
        return self._get(name, version, "deployment")

    def load_artifact(self, name: str, version: str | None = None) -> Any:
        view = self.get_artifact(name, version)
        if view is None:
            raise NotFoundError(f"model version {self.model_name}:{self.name} has no artifact "
                                f"{name!r}" + (f" version {version!r}" if version else ""))
        return view.load()

    @property
    def producer_run(self) -> RunView | None:
        run = self.sp.producer_run
        return self._client._run_by_object_name(run) if run else None

    @property
    def pipeline_run_names(self) -> list[str]:
        """Runs whose steps linked artifacts to this version, in link order."""
        return list(dict.fromkeys(a.run for a in self.sp.artifacts if a.run))

    @property
    def pipeline_runs(self) -> dict[str, RunView]:
        return {n: self._client._run_by_object_name(n) for n in self.pipeline_run_names}

    def set_stage(self, stage: str | ModelStages, force: bool = False) -> None:
        """Move this version to ``stage`` (``force``: archive the version holding it, else
        RuntimeError); returns once the operator has applied it."""
        updated = self._client.update_model_version(self.model_name, self.id or self.name,
                                                    stage=stage, force=force)
        self._obj = updated.object
        self._cache.clear()

    def __repr__(self) -> str:
        return f"ModelVersionView({self.model_name!r}, {self.name!r}, stage={self.stage!r})"
