"""Artifact views: ``ArtifactVersionView`` (one saved output), ``ArtifactView`` (all versions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

from kubeline.client._base import MetadataValue, View, annotation_tags, created, metadata_dict
from kubeline.errors import NotFoundError
from kubeline.resources import names
from kubeline.resources.read import ArtifactVersionSpecView

if TYPE_CHECKING:
    from kubeline.client.client import Client
    from kubeline.client.runs import RunView
    from kubeline.client.steps import StepView


class ArtifactVersionView(View):
    """An ArtifactVersion: where an output is stored, how to load it, who produced it."""

    plural = names.ARTIFACT_VERSIONS

    @property
    def sp(self) -> ArtifactVersionSpecView:
        """The version's spec, typed (``kubeline.resources.read``)."""
        return ArtifactVersionSpecView(self.spec)

    @property
    def name(self) -> str:
        """The artifact's name (e.g. ``iris_dataset``)."""
        return self.sp.artifact_name

    @property
    def version(self) -> str:
        return self.sp.version

    @property
    def uri(self) -> str:
        return self.sp.uri

    @property
    def materializer(self) -> str:
        return self.sp.materializer

    @property
    def data_type(self) -> str:
        return self.sp.data_type

    @property
    def content_hash(self) -> str | None:
        return self.sp.content_hash

    @property
    def save_type(self) -> str:
        return self.sp.save_type

    @property
    def tags(self) -> list[str]:
        """Tags given at save time (``ArtifactConfig(tags=...)``, ``add_output_tags``,
        ``save_artifact(tags=...)``) plus those added later (``add_tags``)."""
        tags = self.sp.tags
        for tag in annotation_tags(self.annotations):
            if tag not in tags:
                tags.append(tag)
        return tags

    @property
    def type(self) -> str:
        """ZenML's artifact type (``DataArtifact``, ``ModelArtifact``, ...)."""
        return self.sp.artifact_type or "BaseArtifact"

    @property
    def data(self) -> Any:
        """The loaded data (``load()``)."""
        return self.load()

    @property
    def run_metadata(self) -> dict[str, MetadataValue]:
        """Metadata saved with the artifact: ``run_metadata["storage_size"].value`` etc."""
        return self._cached("run_metadata", lambda: metadata_dict(self.sp.metadata))

    @property
    def visualizations(self) -> list[dict[str, str]]:
        """``[{"uri", "type"}]`` of the visualizations stored beside the data."""
        return self.sp.visualizations

    @property
    def producer(self) -> dict[str, Any] | None:
        """``{"pipeline", "run", "step", "output"}`` of the producing step run."""
        prod = self.sp.producer
        return dict(prod.raw) if prod else None

    @property
    def producer_run(self) -> RunView | None:
        """The run that produced this version (one GET)."""
        prod = self.sp.producer
        if not prod:
            return None
        return self._cached("producer_run", lambda: self._client._run_by_object_name(prod.run))

    @property
    def producer_step(self) -> StepView | None:
        """The step run that produced this version."""
        run = self.producer_run
        return run._steps_read[self.sp.producer.step] if run else None

    @property
    def artifact(self) -> ArtifactView:
        """All versions of this artifact."""
        return ArtifactView(self._client, self.name)

    def to_artifact_ref(self) -> dict[str, str]:
        """``{"name", "version", "id"}``: how a step input refers to this exact version."""
        return {"name": self.name, "version": self.version, "id": self.id}

    # ------------------------------------------------------------ data
    def load(self, trust_pickles_from: str | Iterable[str] | None = None) -> Any:
        """Read the data back into memory through its materializer.

        The stored files must match the recorded ``contentHash`` first
        (:class:`~kubeline.errors.ArtifactIntegrityError` otherwise). Unpickling
        materializers run code from the artifact, so they load a version of another
        namespace than this process's own (``KUBELINE_NAMESPACE`` or the context's) only
        when ``trust_pickles_from`` (or ``KUBELINE_TRUST_PICKLES_FROM``) names it
        (:class:`~kubeline.errors.UntrustedArtifactError` otherwise; a Kubeline addition).
        """
        from kubeline.artifact_store import default_store
        from kubeline.materializers import load_artifact_data
        from kubeline.materializers.trust import caller_namespace, load_origin

        kube = self._client.kube
        store = default_store(kube)
        reads = getattr(kube, "namespace", None)
        caller = getattr(kube, "home_namespace", None) or caller_namespace() or reads
        origin = load_origin(self.uri, store.root, caller,
                             namespace=self.metadata.get("namespace") or reads,
                             trust=trust_pickles_from)
        return load_artifact_data(self.uri, self.materializer, self.data_type, store,
                                  content_hash=self.content_hash,
                                  what=f"{self.name} v{self.version}", origin=origin)

    def visualize(self, title: str | None = None) -> list[str]:
        """Show the stored visualizations: inline in a notebook, else saved to local files.

        Returns the local paths (or URIs) shown.
        """
        from kubeline.artifact_store import default_store
        from kubeline.client.visualize import show_visualizations

        store = default_store(self._client.kube)
        return show_visualizations(self, title=title, reader=store.read_bytes)

    # ``step.outputs[name]`` is this version, as in ZenML's "Fetching pipelines" docs
    # (``outputs[name].load()``). ZenML 0.98 returns a list of the output's versions there,
    # and its "Steps & Pipelines" pages index it (``outputs[name][0].load()``): that form
    # runs too, as a one-element list. Anything else a list would answer differently fails.
    @overload
    def __getitem__(self, index: int) -> ArtifactVersionView: ...
    @overload
    def __getitem__(self, index: slice) -> list[ArtifactVersionView]: ...
    def __getitem__(self, index: int | slice) -> ArtifactVersionView | list[ArtifactVersionView]:
        """``[0]`` / ``[-1]`` give this version (ZenML 0.98's list form), a slice a list."""
        if isinstance(index, slice):
            return [self][index]
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(
                f"artifact version {self.name!r} v{self.version} is one version, not a list "
                f"or a mapping (indexed with {index!r}): step.outputs[name] is the version "
                "itself, as in ZenML's docs (drop the index); [0] works as for ZenML 0.98's "
                "one-element list")
        if index in (0, -1):
            return self
        raise IndexError(
            f"step.outputs[name] is the single artifact version {self.name!r} "
            f"v{self.version} (ZenML's docs), not a list of versions: only [0] and [-1] "
            f"answer as for ZenML 0.98's one-element list, not [{index}]; other versions of "
            "the artifact: Client().get_artifact(name).versions")

    def __len__(self) -> int:
        """1: the length of ZenML 0.98's one-element list."""
        return 1

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Iterator[ArtifactVersionView]:
        yield self

    def __repr__(self) -> str:
        return f"ArtifactVersionView({self.name!r}, version={self.version!r})"


def version_sort_key(obj: Mapping[str, Any]) -> tuple[str, int, str]:
    """Creation time first, then numeric versions numerically, then text."""
    version = ArtifactVersionSpecView(obj.get("spec")).version
    number = int(version) if re.fullmatch(r"\d{1,18}", version) else -1
    return (created(obj), number, version)


class ArtifactVersions(Mapping[str, ArtifactVersionView]):
    """An artifact's versions by version string (``artifact.versions["2022"]``)."""

    def __init__(self, client: Client, objs: list[dict[str, Any]]) -> None:
        ordered = sorted(objs, key=version_sort_key)
        self._by_version = {
            ArtifactVersionSpecView(o.get("spec")).version: ArtifactVersionView(client, o)
            for o in ordered
        }

    def __getitem__(self, version: str | int) -> ArtifactVersionView:
        try:
            return self._by_version[str(version)]
        except KeyError:
            known = ", ".join(self._by_version) or "none"
            raise NotFoundError(f"no version {version!r} (versions: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_version)

    def __len__(self) -> int:
        return len(self._by_version)

    @property
    def latest(self) -> ArtifactVersionView | None:
        return next(reversed(self._by_version.values()), None)

    def __repr__(self) -> str:
        return f"<versions {', '.join(self._by_version)}>"


class ArtifactView:
    """An artifact: a name and its versions, found by the ``kubeline.dev/artifact`` label."""

    def __init__(self, client: Client, name: str,
                 objs: list[dict[str, Any]] | None = None) -> None:
        self._client = client
        self.name = name
        self._objs = objs

    @property
    def label_selector(self) -> str:
        return f"{names.LABEL_ARTIFACT}={names.label_value(self.name)}"

    def _load(self) -> list[dict[str, Any]]:
        if self._objs is None:
            self._objs = [
                o for o in self._client.kube.iter(names.ARTIFACT_VERSIONS, self.label_selector)
                if ArtifactVersionSpecView(o.get("spec")).artifact_name == self.name
            ]
        return self._objs

    @property
    def versions(self) -> ArtifactVersions:
        """All versions, oldest first, by version string (one paged, label-selected list)."""
        return ArtifactVersions(self._client, self._load())

    @property
    def latest(self) -> ArtifactVersionView:
        latest = self.versions.latest
        if latest is None:
            raise NotFoundError(f"artifact {self.name!r} has no versions")
        return latest

    def refresh(self) -> ArtifactView:
        self._objs = None
        return self

    def __repr__(self) -> str:
        return f"ArtifactView({self.name!r})"
