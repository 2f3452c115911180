"""Loading verifies before deserializing: tampered artifacts in (moto) S3 are refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kubeline.errors import ArtifactIntegrityError
from kubeline.materializers import load_artifact_data
from kubeline.materializers.numpy import NumpyMaterializer
from kubeline.materializers.pandas import PandasMaterializer
from kubeline.materializers.path import PathMaterializer
from kubeline.materializers.pickle import CloudpickleMaterializer
from kubeline.materializers.registry import materializer_path_of
from moto_s3 import moto_store

pytestmark = pytest.mark.unit


class Boom:
    """Unpickling this records that code from the file ran."""

    ran: list[str] = []

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Boom.ran.append, ("unpickled",))


@pytest.fixture(scope="module")
def s3():  # type: ignore[no-untyped-def]
    with moto_store() as store:
        yield store


def saved(store, cls, value, name):  # type: ignore[no-untyped-def]
    m = cls(store.uri("artifacts", "ns-a", name), store)
    m.save(value)
    return m, m.content_hash()


def test_untampered_loads_and_hash_covers_every_file(s3) -> None:  # type: ignore[no-untyped-def]
    m, digest = saved(s3, PandasMaterializer, pd.DataFrame({"a": [1, 2]}), "ok")
    loaded = load_artifact_data(m.uri, materializer_path_of(PandasMaterializer), None, s3,
                                content_hash=digest)
    assert loaded["a"].tolist() == [1, 2]
    # A visualization added later is not content: loading still verifies.
    s3.write_bytes(f"{m.uri}/visualizations/x.html", b"<p/>")
    load_artifact_data(m.uri, materializer_path_of(PandasMaterializer), None, s3,
                       content_hash=digest)


def test_tampered_pickle_is_refused_before_unpickling(s3) -> None:  # type: ignore[no-untyped-def]
    m, digest = saved(s3, CloudpickleMaterializer, {"weights": [1, 2]}, "model")
    s3.write_bytes(f"{m.uri}/data.pkl", pickle.dumps(Boom()))
    Boom.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="does not match its recorded content hash"):
        load_artifact_data(m.uri, materializer_path_of(CloudpickleMaterializer), None, s3,
                           content_hash=digest)
    assert Boom.ran == [], "the tampered pickle must never be deserialized"
    # An added file, a removed file, or no recorded hash: refused too.
    m2, digest2 = saved(s3, CloudpickleMaterializer, 1, "added")
    s3.write_bytes(f"{m2.uri}/extra.bin", b"x")
    with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
        load_artifact_data(m2.uri, materializer_path_of(CloudpickleMaterializer), None, s3,
                           content_hash=digest2)
    with pytest.raises(ArtifactIntegrityError, match="no recorded content hash"):
        load_artifact_data(m2.uri, materializer_path_of(CloudpickleMaterializer), None, s3)
    # Unverified loads never unpickle (the materializer checks on its own too).
    with pytest.raises(ArtifactIntegrityError, match="not verified"):
        CloudpickleMaterializer(m.uri, s3).load(object)
    assert Boom.ran == []


def test_pandas_never_unpickles_on_the_schema_alone(s3) -> None:  # type: ignore[no-untyped-def]
    m, digest = saved(s3, PandasMaterializer, pd.DataFrame({"a": [1]}), "frame")
    s3.write_bytes(f"{m.uri}/schema.json", json.dumps(
        {"kind": "DataFrame", "format": "pickle", "name": None}).encode())
    s3.write_bytes(f"{m.uri}/data.pkl", pickle.dumps(Boom()))
    Boom.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
        load_artifact_data(m.uri, materializer_path_of(PandasMaterializer), None, s3,
                           content_hash=digest)
    with pytest.raises(ArtifactIntegrityError, match="not verified"):
        PandasMaterializer(m.uri, s3).load(object)
    assert Boom.ran == []
    # A frame really saved as pickle (non-string columns) still loads once verified.
    m2, digest2 = saved(s3, PandasMaterializer, pd.DataFrame({0: [1.5]}), "intcols")
    frame = load_artifact_data(m2.uri, materializer_path_of(PandasMaterializer), None, s3,
                               content_hash=digest2)
    assert frame[0].tolist() == [1.5]


def test_numpy_pickles_only_object_arrays_saved_as_such(s3) -> None:  # type: ignore[no-untyped-def]
    objects = np.array([{"a": 1}, None], dtype=object)
    m, digest = saved(s3, NumpyMaterializer, objects, "objects")
    loaded = load_artifact_data(m.uri, materializer_path_of(NumpyMaterializer), None, s3,
                                content_hash=digest)
    assert loaded[0] == {"a": 1} and loaded[1] is None
    # A numeric array's data.npy swapped for an object array: even with a matching hash
    # (an attacker who could also rewrite the record) it is not unpickled.
    m2, _ = saved(s3, NumpyMaterializer, np.arange(3), "numbers")
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    s3.write_bytes(f"{m2.uri}/data.npy", buf.getvalue())
    forged = NumpyMaterializer(m2.uri, s3)
    forged.verified = True
    Boom.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="not saved as an object array"):
        forged.load(object)
    assert Boom.ran == []


def test_path_materializer_refuses_paths_outside_the_target(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    m, digest = saved(s3, PathMaterializer, folder, "folder")
    loaded = load_artifact_data(m.uri, materializer_path_of(PathMaterializer), None, s3,
                                content_hash=digest)
    assert (loaded / "a.txt").read_text() == "a" and loaded.name == "data"
    outside = tmp_path / "planted"
    for schema in ({"kind": "dir", "name": "..", "files": ["a.txt"]},
                   {"kind": "dir", "name": str(outside), "files": ["a.txt"]},
                   {"kind": "dir", "name": "../x", "files": ["a.txt"]},
                   {"kind": "file", "name": "data", "files": ["../../a.txt"]}):
        s3.write_bytes(f"{m.uri}/schema.json", json.dumps(schema).encode())
        tampered = PathMaterializer(m.uri, s3)
        tampered.verified = True  # even past the hash check the names are checked
        with pytest.raises(ArtifactIntegrityError, match="unsafe"):
            tampered.load(Path)
        # ... and through load(), the hash check refuses it first.
        with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
            load_artifact_data(m.uri, materializer_path_of(PathMaterializer), None, s3,
                               content_hash=digest)
    assert not outside.exists()


def test_registered_files_and_folders_hash_as_they_load(s3) -> None:  # type: ignore[no-untyped-def]
    from kubeline.materializers.path import PreexistingPathMaterializer
    from kubeline.materializers.verify import stored_content_hash

    folder = s3.uri("data", "ns-a", "folder")
    s3.write_bytes(f"{folder}/a.csv", b"1,2")
    s3.write_bytes(f"{folder}/sub/b.csv", b"3")
    single = s3.uri("data", "ns-a", "one.txt")
    s3.write_bytes(single, b"one")
    path = materializer_path_of(PreexistingPathMaterializer)
    for uri in (folder, single):
        digest = stored_content_hash(s3, uri)  # what register_artifact records
        loaded = load_artifact_data(uri, path, None, s3, content_hash=digest)
        assert loaded.exists()
    s3.write_bytes(single, b"two")
    with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
        load_artifact_data(single, path, None, s3, content_hash=digest)
