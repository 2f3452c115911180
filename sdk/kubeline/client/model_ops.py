"""The Client's model control plane methods (ZenML's names): models, versions, stages.

Stages are asked for in ``spec.stage`` and applied by the operator (``status.stage``),
which archives the version that held an exclusive stage (staging, production) and records
the stage history; ``update_model_version(stage=...)`` waits until it has.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from kubeline.client._base import Page, check_page_size, created, is_uuid, page_of
from kubeline.client.models_view import ModelVersionView, ModelView
from kubeline.constants import PAGE_SIZE_DEFAULT, PAGINATION_STARTING_PAGE
from kubeline.errors import ConfigurationError, KubelineError, NotFoundError
from kubeline.resources import names

if TYPE_CHECKING:
    from kubeline.kube import Kube

#: Stages a version can be put in (``latest`` is virtual: it selects, never assigns).
MODEL_STAGES = ("none", "staging", "production", "archived")
EXCLUSIVE_STAGES = ("staging", "production")
FIELD_MANAGER = "kubeline"
STAGE_WAIT_SECONDS = 30.0


def _stage_of(obj: dict[str, Any]) -> str:
    """The stage in effect (the operator's ``status.stage``; ``none`` until applied)."""
    return str((obj.get("status") or {}).get("stage") or "none")


def _number_of(obj: dict[str, Any]) -> int:
    return int((obj.get("status") or {}).get("number") or 0)


def _ref(value: Any) -> str | None:
    value = getattr(value, "value", value)  # ModelStages members
    return None if value is None else str(value)


def _sorted(objs: list[dict[str, Any]], sort_by: str,
            keys: dict[str, Callable[[dict[str, Any]], Any]]) -> list[dict[str, Any]]:
    """``objs`` in ZenML's ``[asc:|desc:]<column>`` order (no operand: ascending)."""
    order, _, key = sort_by.rpartition(":")
    if key not in keys or order not in ("", "asc", "desc"):
        raise ConfigurationError(
            f"cannot sort by {sort_by!r}: use [asc:|desc:] and one of {', '.join(keys)}")
    return sorted(objs, key=keys[key], reverse=order == "desc")


_Key = Callable[[dict[str, Any]], Any]
_MODEL_KEYS: dict[str, _Key] = {
    "created": lambda o: (created(o), o["metadata"]["name"]),
    "name": lambda o: str(o.get("spec", {}).get("name")),
}
_VERSION_KEYS: dict[str, _Key] = {
    "number": lambda o: (_number_of(o), created(o)),
    "created": lambda o: (created(o), _number_of(o)),
    "name": lambda o: str(o.get("spec", {}).get("version")),
}


def stage_value(stage: Any) -> str:
    """A valid stage to assign, else ValueError (ZenML's message)."""
    value = _ref(stage)
    if value not in MODEL_STAGES:
        raise ValueError(f"`{value}` is not a valid model stage.")
    return value


class ModelOps:
    """Mixed into :class:`~kubeline.client.Client`."""

    if TYPE_CHECKING:
        @property
        def kube(self) -> Kube: ...
        @property
        def namespace(self) -> str: ...

        def _get_or_none(self, plural: str, name: str) -> dict[str, Any] | None: ...
        def _find_by_uid(self, plural: str, uid: str) -> dict[str, Any] | None: ...

    _whoami: str | None = None

    # ------------------------------------------------------------ models
    def get_model(self, model_name_or_id: str) -> ModelView:
        """A model by name (one GET) or id."""
        key = str(model_name_or_id)
        for candidate in dict.fromkeys([names.model_object_name(key), key]):
            obj = self._get_or_none(names.MODELS, candidate)
            if obj is not None:
                return ModelView(self, obj)  # type: ignore[arg-type]
        obj = self._find_by_uid(names.MODELS, key) if is_uuid(key) else None
        if obj is None:
            obj = next((o for o in self.kube.iter(names.MODELS)
                        if o.get("spec", {}).get("name") == key), None)
        if obj is None:
            raise NotFoundError(f"no model {key!r} in namespace {self.namespace}")
        return ModelView(self, obj)  # type: ignore[arg-type]

    def list_models(self, sort_by: str = "created", page: int = PAGINATION_STARTING_PAGE,
                    size: int = PAGE_SIZE_DEFAULT, name: str | None = None,
                    tag: str | None = None) -> Page[ModelView]:
        """A page of the namespace's models (ZenML's: oldest first, 20 a page; ``sort_by``
        ``created`` or ``name``), optionally one name or those with ``tag``."""
        check_page_size(page, size)
        objs = [o for o in self.kube.iter(names.MODELS)
                if (name is None or o.get("spec", {}).get("name") == name)
                and (tag is None or tag in (o.get("spec", {}).get("tags") or []))]
        chunk = page_of(_sorted(objs, sort_by, _MODEL_KEYS), page, size)
        return Page([ModelView(self, o) for o in chunk],  # type: ignore[arg-type]
                    index=page, size=size, total=chunk.total)

    # ------------------------------------------------------------ versions
    def _model_versions(self, model: str) -> Iterator[dict[str, Any]]:
        """Versions of ``model``: one label-selected, paged list (the operator labels
        versions made with kubectl or GitOps as soon as it sees them)."""
        selector = f"{names.LABEL_MODEL}={names.label_value(model)}"
        for obj in self.kube.iter(names.MODEL_VERSIONS, selector):
            if obj.get("spec", {}).get("model") == model:
                yield obj

    def list_model_versions(self, model_name_or_id: str, sort_by: str = "number",
                            page: int = PAGINATION_STARTING_PAGE,
                            size: int = PAGE_SIZE_DEFAULT, stage: Any = None,
                            name: str | None = None, number: int | None = None,
                            tag: str | None = None) -> Page[ModelVersionView]:
        """A page of a model's versions (ZenML's: by number, oldest first, 20 a page;
        ``sort_by`` ``number``, ``created`` or ``name``), optionally only those in ``stage``
        (in effect), named ``name``, numbered ``number`` or tagged ``tag``."""
        check_page_size(page, size)
        objs = self._model_version_objs(model_name_or_id, stage, name, number, tag)
        chunk = page_of(_sorted(objs, sort_by, _VERSION_KEYS), page, size)
        return Page([ModelVersionView(self, o) for o in chunk],  # type: ignore[arg-type]
                    index=page, size=size, total=chunk.total)

    def _all_model_versions(self, model_name_or_id: str,
                            stage: Any = None) -> list[ModelVersionView]:
        """Every version of a model by number (in ``stage``), unpaged."""
        return [ModelVersionView(self, o)  # type: ignore[arg-type]
                for o in self._model_version_objs(model_name_or_id, stage)]

    def _model_version_objs(self, model_name_or_id: str, stage: Any = None,
                            name: str | None = None, number: int | None = None,
                            tag: str | None = None) -> list[dict[str, Any]]:
        model = self.get_model(model_name_or_id).name
        want = _ref(stage)
        if want is not None and want not in (*MODEL_STAGES, "latest"):
            raise ValueError(f"`{want}` is not a valid model stage.")
        objs = sorted(self._model_versions(model), key=_VERSION_KEYS["number"])
        if want == "latest":
            objs = objs[-1:]
        elif want is not None:
            objs = [o for o in objs if _stage_of(o) == want]
        if name is not None:
            objs = [o for o in objs if str(o["spec"].get("version")) == str(name)]
        if number is not None:
            objs = [o for o in objs if _number_of(o) == int(number)]
        if tag is not None:
            objs = [o for o in objs if tag in (o["spec"].get("tags") or [])]
        return objs

    def get_model_version(self, model_name_or_id: str | None = None,
                          model_version_name_or_number_or_id: Any = None
                          ) -> ModelVersionView:
        """A version by name, number, stage (``production``...), ``latest`` (the default) or
        id; ``get_model_version(model_version_name_or_number_or_id=<id>)`` needs no model."""
        ref = _ref(model_version_name_or_number_or_id)
        if ref and is_uuid(ref):
            obj = self._find_by_uid(names.MODEL_VERSIONS, ref)
            if obj is not None:
                return ModelVersionView(self, obj)  # type: ignore[arg-type]
        if model_name_or_id is None:
            raise NotFoundError(f"no model version with id {ref!r} in namespace {self.namespace}")
        model = self.get_model(model_name_or_id)
        if ref in (None, "latest"):
            versions = self._all_model_versions(model.name)
            if not versions:
                raise NotFoundError(f"model {model.name!r} has no versions")
            return versions[-1]
        if ref in MODEL_STAGES:
            staged = self._all_model_versions(model.name, stage=ref)
            if not staged:
                raise NotFoundError(
                    f"model {model.name!r} has no version in stage {ref!r}; list the versions "
                    f"with `kubeline model version list {model.name}`")
            return staged[-1]
        obj = self._get_or_none(names.MODEL_VERSIONS, names.model_version_name(model.name, ref))
        if obj is not None:
            return ModelVersionView(self, obj)  # type: ignore[arg-type]
        for obj in self._model_versions(model.name):
            if ref in (str(obj["spec"].get("version")), str(_number_of(obj) or "")):
                return ModelVersionView(self, obj)  # type: ignore[arg-type]
        raise NotFoundError(f"model {model.name!r} has no version {ref!r}")

    def update_model_version(self, model_name_or_id: str, version_name_or_id: Any,
                             stage: Any = None, force: bool = False, name: str | None = None,
                             description: str | None = None,
                             add_tags: list[str] | None = None,
                             remove_tags: list[str] | None = None,
                             metadata: dict[str, Any] | None = None) -> ModelVersionView:
        """Change a model version. ``stage``: without ``force``, a stage another version
        holds (staging, production) raises RuntimeError; with ``force`` that version is
        archived. Returns once the operator has applied the stage (status.stage)."""
        mv = self.get_model_version(model_name_or_id, version_name_or_id)
        if name is not None and name != mv.name:
            raise KubelineError(
                "Kubeline cannot rename a model version: its name is part of its object name; "
                "create a new version instead")
        spec: dict[str, Any] = {}
        meta: dict[str, Any] = {"resourceVersion": mv.metadata.get("resourceVersion")}
        target = None
        if stage is not None:
            target = stage_value(stage)
            if target in EXCLUSIVE_STAGES and not force:
                for other in self._model_versions(mv.model_name):
                    held = _stage_of(other) == target or other["spec"].get("stage") == target
                    if held and other["metadata"]["name"] != mv.object_name:
                        raise RuntimeError(
                            f"Model version {other['spec'].get('version')} is in {target}, but "
                            "force flag is False.")
            spec["stage"] = target
            user = self._user()
            if user:
                meta["annotations"] = {names.ANNOTATION_STAGE_CHANGED_BY: user}
        if description is not None:
            spec["description"] = description
        if add_tags or remove_tags:
            tags = [t for t in mv.tags if t not in (remove_tags or [])]
            spec["tags"] = [*tags, *[t for t in add_tags or [] if t not in tags]]
        if metadata:
            spec["metadata"] = dict(metadata)
        if not spec:
            return mv
        body = self.kube.patch(names.MODEL_VERSIONS, mv.object_name,
                               {"metadata": meta, "spec": spec}, field_manager=FIELD_MANAGER)
        view = ModelVersionView(self, body)  # type: ignore[arg-type]
        if target is not None:
            view = self._wait_for_stage(view, target)
        return view

    def _user(self) -> str | None:
        if self._whoami is None:
            self._whoami = self.kube.whoami() or ""
        return self._whoami or None

    def _wait_for_stage(self, view: ModelVersionView, stage: str,
                        timeout: float = STAGE_WAIT_SECONDS) -> ModelVersionView:
        deadline = time.monotonic() + timeout
        while _stage_of(view.object) != stage:
            if view.requested_stage != stage:
                return view  # overtaken: a later promotion archived it (see stage_history)
            if time.monotonic() > deadline:
                raise KubelineError(
                    f"model version {view.model_name}:{view.name} asks for stage {stage!r} but "
                    f"the operator has not applied it within {timeout:.0f}s (is the Kubeline "
                    "operator running and watching this namespace?)")
            time.sleep(0.2)
            view = ModelVersionView(self, self.kube.get(names.MODEL_VERSIONS,  # type: ignore[arg-type]
                                                        view.object_name))
        return view

    def delete_model_version(self, model_version_id: str) -> None:
        """Delete a model version by id (or ``(model, version)`` via ``get_model_version``);
        its artifacts stay."""
        obj = self._find_by_uid(names.MODEL_VERSIONS, str(model_version_id)) if is_uuid(
            str(model_version_id)) else None
        if obj is None:
            raise NotFoundError(f"no model version with id {model_version_id!r} in namespace "
                                f"{self.namespace}")
        self.kube.delete(names.MODEL_VERSIONS, obj["metadata"]["name"])

    def delete_model(self, model_name_or_id: str) -> None:
        """Delete a model and all its versions (their artifacts stay)."""
        model = self.get_model(model_name_or_id)
        for obj in list(self._model_versions(model.name)):
            self.kube.delete(names.MODEL_VERSIONS, obj["metadata"]["name"])
        self.kube.delete(names.MODELS, model.object_name)
