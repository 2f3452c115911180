"""Model control plane views: ``ModelView`` and ``ModelVersionView``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeline.client._base import LazyMapping, View
from kubeline.resources import names

if TYPE_CHECKING:
    from kubeline.client.artifacts import ArtifactVersionView
    from kubeline.client.runs import RunView


class ModelView(View):
    """A Model object."""

    plural = names.MODELS

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or self.object_name)

    @property
    def description(self) -> str | None:
        return self.spec.get("description")

    @property
    def tags(self) -> list[str]:
        return list(self.spec.get("tags") or [])

    @property
    def latest_version_name(self) -> str | None:
        return self.k8s_status.get("latestVersion")

    @property
    def production_version_name(self) -> str | None:
        return self.k8s_status.get("productionVersion")

    @property
    def versions(self) -> list[ModelVersionView]:
        """All versions of this model, by number (one label-selected, paged list)."""
        return self._client.list_model_versions(self.name)

    def get_version(self, version: str | int = "latest") -> ModelVersionView:
        return self._client.get_model_version(self.name, version)

    def __repr__(self) -> str:
        return f"ModelView({self.name!r})"


class ModelVersionView(View):
    """A ModelVersion: a version of a model, its stage and its linked artifacts."""

    plural = names.MODEL_VERSIONS

    @property
    def name(self) -> str:
        """The version's name (``"3"``, ``"v1.2"``)."""
        return str(self.spec.get("version") or "")

    @property
    def model_name(self) -> str:
        return str(self.spec.get("model") or "")

    @property
    def version(self) -> str:
        return self.name

    @property
    def number(self) -> int | None:
        return self.k8s_status.get("number")

    @property
    def stage(self) -> str:
        return str(self.spec.get("stage") or "none")

    @property
    def description(self) -> str | None:
        return self.spec.get("description")

    @property
    def artifact_links(self) -> dict[str, str]:
        """Link name -> ArtifactVersion object name."""
        return {a["name"]: a["artifactVersion"] for a in self.spec.get("artifacts") or []}

    @property
    def artifacts(self) -> LazyMapping[ArtifactVersionView]:
        links = self.artifact_links
        return self._cached("artifacts", lambda: LazyMapping(
            list(links), lambda k: self._client._artifact_version_by_object_name(links[k]),
            f"artifact of model version {self.model_name}:{self.name}"))

    def get_artifact(self, name: str) -> ArtifactVersionView:
        """A linked artifact version by link name."""
        return self.artifacts[name]

    get_model_artifact = get_artifact
    get_data_artifact = get_artifact

    @property
    def producer_run(self) -> RunView | None:
        run = self.spec.get("producerRun")
        return self._client._run_by_object_name(run) if run else None

    def __repr__(self) -> str:
        return f"ModelVersionView({self.model_name!r}, {self.name!r}, stage={self.stage!r})"

