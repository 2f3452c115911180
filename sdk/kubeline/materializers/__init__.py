"""Materializers: how step outputs are written to and read from the artifact store.

``BaseMaterializer`` subclasses declaring ``ASSOCIATED_TYPES`` register
themselves for those types. Built-ins (chosen by type, imported lazily):

| type | materializer | files |
|---|---|---|
| int, float, bool, str, None, JSON list/tuple/dict | ``builtin.BuiltInMaterializer`` | data.json |
| bytes | ``builtin.BytesMaterializer`` | data.bin |
| numpy.ndarray | ``numpy.NumpyMaterializer`` | data.npy (streamed) |
| pandas DataFrame / Series | ``pandas.PandasMaterializer`` | data.parquet |
| scikit-learn estimators | ``pickle.SklearnMaterializer`` | model.joblib |
| pathlib.Path (file or folder) | ``path.PathMaterializer`` | files/... |
| anything else | ``pickle.CloudpickleMaterializer`` | data.pkl |

Trust boundary: the pickle-based materializers (cloudpickle, joblib, numpy
object arrays) run code when loading. Only load artifacts written by pipelines
you trust; anyone who can write the bucket can make a loader run code.
"""

from kubeline.materializers.base import BaseMaterializer
from kubeline.materializers.registry import (
    load_artifact_data,
    materializer_registry,
    register_materializer,
)

__all__ = ["BaseMaterializer", "load_artifact_data", "materializer_registry",
           "register_materializer"]
