"""Materializers: round trips with metadata, content hashes, visualizations (local fs + moto)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kubeline.artifact_store import ArtifactStore
from kubeline.materializers import load_artifact_data
from kubeline.materializers.registry import (
    AUTO,
    materializer_for_value,
    materializer_path_for_type,
    materializer_path_of,
    materializer_registry,
)
from moto_s3 import moto_store
from sklearn.svm import SVC

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore.local(str(tmp_path / "store"))


def save(store: ArtifactStore, value, name: str = "out"):
    cls = materializer_for_value(value)
    m = cls(store.uri("a", name), store)
    m.save(value)
    meta = m.extract_metadata(value)
    viz = m.save_visualizations(value)
    loaded = load_artifact_data(m.uri, materializer_path_of(cls),
                                f"{type(value).__module__}.{type(value).__qualname__}", store,
                                content_hash=m.content_hash())
    return m, meta, viz, loaded


def test_numpy_round_trip_metadata_and_png(store: ArtifactStore) -> None:
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    m, meta, viz, loaded = save(store, arr)
    assert type(m).__name__ == "NumpyMaterializer"
    np.testing.assert_array_equal(loaded, arr)
    assert loaded.dtype == arr.dtype
    assert meta["shape"] == [3, 4] and meta["dtype"] == "float32"
    assert (meta["min"], meta["max"]) == (0.0, 11.0) and meta["mean"] == pytest.approx(5.5)
    assert m.storage_size == 128 + arr.nbytes
    (uri, kind), = viz.items()
    assert kind == "image" and store.read_bytes(uri)[:8] == b"\x89PNG\r\n\x1a\n"


def test_numpy_fortran_noncontiguous_and_object(store: ArtifactStore) -> None:
    f = np.asfortranarray(np.arange(20).reshape(4, 5))
    assert np.array_equal(save(store, f, "f")[3], f)
    strided = np.arange(30)[::3]
    assert np.array_equal(save(store, strided, "s")[3], strided)
    obj = np.array([{"a": 1}, None], dtype=object)
    cls = materializer_for_value(obj)
    assert cls.__name__ == "CloudpickleMaterializer"


def test_content_hash_is_deterministic_over_bytes(store: ArtifactStore) -> None:
    a = save(store, np.ones(100), "x")[0].content_hash()
    b = save(store, np.ones(100), "y")[0].content_hash()
    c = save(store, np.zeros(100), "z")[0].content_hash()
    assert a == b != c
    df = pd.DataFrame({"a": [1, 2]})
    assert save(store, df, "d1")[0].content_hash() == save(store, df.copy(), "d2")[0].content_hash()


def test_dataframe_and_series_round_trip(store: ArtifactStore) -> None:
    df = pd.DataFrame({"x": [1.0, 2.5], "name": ["a", "b"]}, index=[10, 20])
    _m, meta, viz, loaded = save(store, df)
    pd.testing.assert_frame_equal(loaded, df)
    assert meta["shape"] == [2, 2] and meta["columns"] == ["x", "name"]
    assert meta["dtypes"]["x"] == "float64"
    (uri, kind), = viz.items()
    assert kind == "html" and b"<table" in store.read_bytes(uri)
    series = pd.Series([1, 2, 3], name="target")
    _m, meta, _, loaded_s = save(store, series, "s")
    pd.testing.assert_series_equal(loaded_s, series)
    assert meta["shape"] == [3]
    odd = pd.DataFrame({0: [1], 1: [2]})  # non-string columns -> pickle format
    pd.testing.assert_frame_equal(save(store, odd, "odd")[3], odd)


def test_builtins_bytes_and_fallback(store: ArtifactStore) -> None:
    for i, value in enumerate([3, 2.5, True, "hi", None, [1, "a"], {"k": [1, 2]}]):
        m, _meta, _, loaded = save(store, value, f"b{i}")
        assert loaded == value and type(m).__name__ == "BuiltInMaterializer"
    assert save(store, (1, 2), "tuple")[3] == (1, 2)
    assert save(store, b"\x00\x01", "bytes")[3] == b"\x00\x01"
    weird = {1: {2, 3}}  # not JSON -> cloudpickle
    m, _meta, _, loaded = save(store, weird, "weird")
    assert loaded == weird and type(m).__name__ == "CloudpickleMaterializer"


def test_sklearn_estimator_round_trip(store: ArtifactStore) -> None:
    model = SVC(gamma=0.01).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    m, meta, _, loaded = save(store, model)
    assert type(m).__name__ == "SklearnMaterializer"
    assert meta["estimator_class"].endswith("SVC") and meta["params"]["gamma"] == 0.01
    assert loaded.predict([[3.0]]).tolist() == [1]


def test_files_and_directories(store: ArtifactStore, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    _m, meta, _, loaded = save(store, folder, "dir")
    assert meta == {"kind": "dir", "file_count": 2}
    assert (loaded / "a.txt").read_text() == "A" and (loaded / "sub" / "b.txt").read_text() == "B"
    single = tmp_path / "one.csv"
    single.write_text("x,y\n")
    assert save(store, single, "file")[3].read_text() == "x,y\n"


def test_registry_by_type_and_user_registration() -> None:
    assert materializer_path_for_type(pd.DataFrame).endswith("PandasMaterializer")
    assert materializer_path_for_type(np.ndarray).endswith("NumpyMaterializer")
    assert materializer_path_for_type(int).endswith("BuiltInMaterializer")
    from typing import Any

    assert materializer_path_for_type(Any) == AUTO
    from kubeline.materializers.base import BaseMaterializer

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    class PointMaterializer(BaseMaterializer):
        ASSOCIATED_TYPES = (Point,)

        def save(self, data: Point) -> None:
            with self.open("x.txt", "wb") as f:
                f.write(str(data.x).encode())

        def load(self, data_type: type) -> Point:
            with self.open("x.txt") as f:
                return Point(int(f.read()))

    assert materializer_registry[Point] is PointMaterializer
    assert materializer_for_value(Point(1)) is PointMaterializer


def test_numpy_streams_through_s3_with_moto() -> None:
    with moto_store() as store:
        arr = np.random.default_rng(0).random((300, 1000))  # 2.4 MB: several chunks' worth
        import kubeline.materializers.numpy as npm

        old = npm.CHUNK
        npm.CHUNK = 256 * 1024
        try:
            m, meta, _, loaded = save(store, arr, "big")
        finally:
            npm.CHUNK = old
        np.testing.assert_array_equal(loaded, arr)
        assert store.size(m.path("data.npy")) == m.storage_size
        assert meta["shape"] == [300, 1000]
