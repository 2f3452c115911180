"""Which materializer handles which type; loading data given a URI and materializer path."""

from __future__ import annotations

import importlib
import typing
from typing import TYPE_CHECKING, Any

from kubeline.resources.json_values import is_json

if TYPE_CHECKING:
    from kubeline.materializers.base import BaseMaterializer

AUTO = "kubeline.materializers.base.AutoMaterializer"
FALLBACK = "kubeline.materializers.pickle.CloudpickleMaterializer"
_BUILTIN = "kubeline.materializers.builtin.BuiltInMaterializer"
_PANDAS = "kubeline.materializers.pandas.PandasMaterializer"
_SKLEARN = "kubeline.materializers.pickle.SklearnMaterializer"

# Type path -> materializer path: no heavy import needed to decide.
BUILTIN_TYPES: dict[str, str] = {
    **{f"builtins.{t}": _BUILTIN for t in
       ("int", "float", "bool", "str", "NoneType", "list", "tuple", "dict")},
    "builtins.bytes": "kubeline.materializers.builtin.BytesMaterializer",
    "numpy.ndarray": "kubeline.materializers.numpy.NumpyMaterializer",
    "pandas.DataFrame": _PANDAS, "pandas.core.frame.DataFrame": _PANDAS,
    "pandas.Series": _PANDAS, "pandas.core.series.Series": _PANDAS,
    "pathlib.Path": "kubeline.materializers.path.PathMaterializer",
    "pathlib.PurePath": "kubeline.materializers.path.PathMaterializer",
    **{f"kubeline.types.{t}": "kubeline.materializers.text.TextVisualizationMaterializer"
       for t in ("HTMLString", "MarkdownString", "CSVString", "JSONString")},
    **{f"sklearn.base.{t}": _SKLEARN for t in
       ("BaseEstimator", "ClassifierMixin", "RegressorMixin", "TransformerMixin",
        "ClusterMixin")},
}


def _mro_paths(tp: type) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in getattr(tp, "__mro__", (tp,))]


def import_object(path: str) -> Any:
    """Import ``pkg.mod.Name`` or ``pkg.mod:Name.attr``."""
    if ":" in path:
        module_name, attr = path.split(":", 1)
    else:
        module_name, _, attr = path.rpartition(".")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def materializer_path_of(cls: Any) -> str:
    if isinstance(cls, str):
        return cls
    return f"{cls.__module__}.{cls.__qualname__}"


class MaterializerRegistry:
    """User registrations (exact types and subclasses) on top of the built-in table."""

    def __init__(self) -> None:
        self._types: dict[type, type] = {}

    def register_materializer_type(self, key: type, materializer: type) -> None:
        self._types[key] = materializer

    def register_and_overwrite_type(self, key: type, type_: type) -> None:
        """ZenML's name: ``type_`` becomes the materializer of ``key`` (and its subclasses)."""
        self._types[key] = type_

    def get_materializer_types(self) -> dict[type, type]:
        return dict(self._types)

    def __contains__(self, key: type) -> bool:
        return self.path_for(key) not in (AUTO, FALLBACK)

    def lookup(self, tp: Any) -> type | str:
        """A registered class, or the path of a built-in (AUTO for Any/object/unions)."""
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        origin = typing.get_origin(tp)
        if origin is not None:
            tp = origin
        if tp is typing.Any or not isinstance(tp, type) or tp is object:
            return AUTO
        for cls in getattr(tp, "__mro__", (tp,)):
            if cls in self._types:
                return self._types[cls]
            path = BUILTIN_TYPES.get(f"{cls.__module__}.{cls.__qualname__}")
            if path:
                return path
        return FALLBACK

    def path_for(self, tp: Any) -> str:
        """Materializer path for a type (Any/object -> decided by the value at save time)."""
        return materializer_path_of(self.lookup(tp))

    def __getitem__(self, tp: type) -> type:
        found = self.lookup(tp)
        return import_object(found) if isinstance(found, str) else found


materializer_registry = MaterializerRegistry()


def register_materializer(materializer: type[BaseMaterializer], *types: type
                          ) -> type[BaseMaterializer]:
    """Register ``materializer`` for ``types`` (default: its ``ASSOCIATED_TYPES``)."""
    for tp in types or materializer.ASSOCIATED_TYPES:
        materializer_registry.register_materializer_type(tp, materializer)
    return materializer


def artifact_type_of(tp_or_materializer: Any) -> str:
    """How outputs of this type (or saved by this materializer) link to a model version:
    the materializer's ``ASSOCIATED_ARTIFACT_TYPE`` (model, deployment or data)."""
    from kubeline.enums import ArtifactType

    found = tp_or_materializer
    if not (isinstance(found, type) and hasattr(found, "ASSOCIATED_ARTIFACT_TYPE")):
        found = materializer_registry.lookup(tp_or_materializer)
        if found in (AUTO, FALLBACK):
            return "data"
        if isinstance(found, str):
            found = import_object(found)
    kind = getattr(found, "ASSOCIATED_ARTIFACT_TYPE", ArtifactType.DATA)
    return ArtifactType(kind).link_type


def materializer_path_for_type(tp: Any) -> str:
    return materializer_registry.path_for(tp)


def materializer_for_value(value: Any, declared: str | None = None) -> type:
    """The materializer class to save ``value``: the declared one if it fits, else by type."""
    if declared and declared not in (AUTO,):
        cls = import_object(declared)
        if cls.can_handle_type(type(value)) and (
                declared != _BUILTIN or is_json(value)):
            return cls
    found = materializer_registry.lookup(type(value))
    if not isinstance(found, str):
        return found
    path = FALLBACK if found == AUTO else found
    if path == _BUILTIN and not is_json(value):
        path = FALLBACK
    if path == "kubeline.materializers.numpy.NumpyMaterializer" and value.dtype.hasobject:
        path = FALLBACK
    return import_object(path)


def load_artifact_data(uri: str, materializer: str, data_type: str | type | None = None,
                       artifact_store: Any = None, content_hash: str | None = None,
                       verify: bool = True, what: str = "", origin: Any = None) -> Any:
    """Load the value stored at ``uri`` by ``materializer`` (used by ``.load()`` views).

    With ``verify`` (the default) the stored files must match ``content_hash`` (the
    ArtifactVersion's ``contentHash``) before the materializer reads anything
    (:func:`kubeline.materializers.verify.verify_content`). ``origin``
    (:class:`kubeline.materializers.trust.LoadOrigin`) names the namespaces the files come
    from and the caller's; by default the URI's namespace and :func:`caller_namespace`.
    Pickle-based materializers refuse a namespace the caller does not trust."""
    from kubeline.artifact_store import default_store

    artifact_store = artifact_store or default_store()
    if verify:
        from kubeline.materializers.verify import verify_content

        verify_content(artifact_store, uri, content_hash, what)
    if origin is None:
        from kubeline.materializers.trust import caller_namespace, load_origin

        origin = load_origin(uri, getattr(artifact_store, "root", None), caller_namespace())
    cls = import_object(materializer)
    tp: Any = data_type
    if isinstance(data_type, str):
        try:
            tp = import_object(data_type) if data_type != "typing.Any" else object
        except (ImportError, AttributeError):
            tp = object
    m = cls(uri, artifact_store)
    m.verified = verify
    m.origin = origin
    return m.load(tp if isinstance(tp, type) else object)
