"""Arbitrary Python objects (cloudpickle) and scikit-learn estimators (joblib).

TRUST BOUNDARY: unpickling runs code chosen by whoever wrote the file. Both load
only files verified against the artifact's recorded content hash
(``BaseMaterializer.allow_unpickling``); that proves the files are what the
producing step saved, not that the producing step is trustworthy: load these
artifacts only from pipelines you trust (docs/security.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from kubeline.materializers.base import BaseMaterializer


class CloudpickleMaterializer(BaseMaterializer):
    """Any object, as ``data.pkl`` (cloudpickle); the fallback for unknown types."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ("builtins.object",)
    FILENAME = "data.pkl"

    def save(self, data: Any) -> None:
        import cloudpickle

        with self.open(self.FILENAME, "wb") as f:
            cloudpickle.dump(data, f)

    def load(self, data_type: type) -> Any:
        import pickle

        self.allow_unpickling("a cloudpickle object")
        with self.open(self.FILENAME, "rb") as f:
            return pickle.load(f)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        tp = type(data)
        return {"python_type": f"{tp.__module__}.{tp.__qualname__}"}


class SklearnMaterializer(BaseMaterializer):
    """scikit-learn estimators, as ``model.joblib``; metadata: class and parameters."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = tuple(
        f"sklearn.base.{t}" for t in ("BaseEstimator", "ClassifierMixin", "RegressorMixin",
                                      "TransformerMixin", "ClusterMixin"))
    FILENAME = "model.joblib"
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[str] = "ModelArtifact"

    def save(self, data: Any) -> None:
        import joblib

        with self.open(self.FILENAME, "wb") as f:
            joblib.dump(data, f)

    def load(self, data_type: type) -> Any:
        import joblib

        self.allow_unpickling("a joblib model")
        with self.open(self.FILENAME, "rb") as f:
            return joblib.load(f)  # see the trust boundary note above

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        tp = type(data)
        meta: dict[str, Any] = {"estimator_class": f"{tp.__module__}.{tp.__qualname__}"}
        get_params = getattr(data, "get_params", None)
        if callable(get_params):
            params = {k: v for k, v in get_params(deep=False).items()
                      if v is None or isinstance(v, (str, int, float, bool))}
            meta["params"] = params
        return meta
