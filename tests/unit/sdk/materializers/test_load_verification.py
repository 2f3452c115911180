"""Loading verifies before deserializing: tampered artifacts in (moto) S3 are refused."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kubeline.errors import ArtifactIntegrityError
from kubeline.materializers import load_artifact_data
from kubeline.materializers.base_materializer import BaseMaterializer
from kubeline.materializers.numpy import NumpyMaterializer
from kubeline.materializers.pandas import PandasMaterializer
from kubeline.materializers.path import PathMaterializer
from kubeline.materializers.pickle import CloudpickleMaterializer
from kubeline.materializers.registry import materializer_path_of
from kubeline.resources.names import ENV_NAMESPACE
from planted_pickle import Planted

pytestmark = pytest.mark.unit


def test_the_planted_pickle_records_when_it_is_unpickled() -> None:
    """The control for the checks below: ``Planted.ran == []`` after a refused load means
    something only because unpickling a Planted does record."""
    Planted.ran.clear()
    pickle.loads(pickle.dumps(Planted()))
    assert Planted.ran == ["unpickled"]
    Planted.ran.clear()


@pytest.fixture(autouse=True)
def caller_in_ns_a(monkeypatch: pytest.MonkeyPatch) -> None:
    """These loads act for ns-a, the namespace the artifacts are saved in."""
    monkeypatch.setenv(ENV_NAMESPACE, "ns-a")


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
    s3.write_bytes(f"{m.uri}/data.pkl", pickle.dumps(Planted()))
    Planted.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="does not match its recorded content hash"):
        load_artifact_data(m.uri, materializer_path_of(CloudpickleMaterializer), None, s3,
                           content_hash=digest)
    assert Planted.ran == [], "the tampered pickle must never be deserialized"
    # An added file, a removed file, or no recorded hash: refused too.
    m2, digest2 = saved(s3, CloudpickleMaterializer, 1, "added")
    s3.write_bytes(f"{m2.uri}/extra.bin", b"x")
    with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
        load_artifact_data(m2.uri, materializer_path_of(CloudpickleMaterializer), None, s3,
                           content_hash=digest2)
    with pytest.raises(ArtifactIntegrityError,
                       match=r"no recorded content hash.*run the producing step again"):
        load_artifact_data(m2.uri, materializer_path_of(CloudpickleMaterializer), None, s3)
    # Unverified loads never unpickle (the materializer checks on its own too).
    with pytest.raises(ArtifactIntegrityError, match="not verified"):
        CloudpickleMaterializer(m.uri, s3).load(object)
    assert Planted.ran == []


def test_pandas_never_unpickles_on_the_schema_alone(s3) -> None:  # type: ignore[no-untyped-def]
    m, digest = saved(s3, PandasMaterializer, pd.DataFrame({"a": [1]}), "frame")
    s3.write_bytes(f"{m.uri}/schema.json", json.dumps(
        {"kind": "DataFrame", "format": "pickle", "name": None}).encode())
    s3.write_bytes(f"{m.uri}/data.pkl", pickle.dumps(Planted()))
    Planted.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
        load_artifact_data(m.uri, materializer_path_of(PandasMaterializer), None, s3,
                           content_hash=digest)
    with pytest.raises(ArtifactIntegrityError, match="not verified"):
        PandasMaterializer(m.uri, s3).load(object)
    assert Planted.ran == []
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
    np.lib.format.write_array(buf, np.array([Planted()], dtype=object), allow_pickle=True)
    s3.write_bytes(f"{m2.uri}/data.npy", buf.getvalue())
    forged = NumpyMaterializer(m2.uri, s3)
    forged.verified = True
    Planted.ran.clear()
    with pytest.raises(ArtifactIntegrityError, match="not saved as an object array"):
        forged.load(object)
    assert Planted.ran == []


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


class Notes:
    def __init__(self, text: str) -> None:
        self.text = text


class DocsStyleMaterializer(BaseMaterializer):
    """Written the way ZenML's materializer docs do: files through ``artifact_store.open``
    (not ``self.open``) and an HTML visualization beside the data; one file through
    ``self.open`` as well."""

    ASSOCIATED_TYPES = (Notes,)

    def save(self, data: Notes) -> None:
        with self.artifact_store.open(os.path.join(self.uri, "data.json"), "w") as f:
            json.dump({"text": data.text}, f)
        with self.open("extra.txt", "wb") as f:
            f.write(data.text.encode())

    def load(self, data_type: type) -> Notes:
        with self.artifact_store.open(os.path.join(self.uri, "data.json"), "r") as f:
            text = json.load(f)["text"]
        with self.open("extra.txt") as f:
            assert f.read().decode() == text
        return Notes(text)

    def save_visualizations(self, data: Notes) -> dict[str, str]:
        path = os.path.join(self.uri, "visualization.html")
        with self.artifact_store.open(path, "w") as f:
            f.write(f"<p>{data.text}</p>")
        return {path: "html"}


def test_zenml_style_materializer_loads_verified_and_tampering_is_refused(s3) -> None:  # type: ignore[no-untyped-def]
    """The save path hashes every file the load finds, however it was written: files
    written past ``self.open`` and a visualization written beside the data after
    ``storage_size`` was read (the order a step saves in) are covered."""
    from kubeline.artifacts.utils import materialize

    cls = DocsStyleMaterializer
    uri = s3.uri("artifacts", "ns-a", "docs-style")
    fields = materialize(Notes("hello"), uri, s3, materializer=cls)
    assert fields["metadata"]["storage_size"] == len('{"text": "hello"}') + len("hello")
    digest = fields["contentHash"]
    loaded = load_artifact_data(uri, materializer_path_of(cls), None, s3, content_hash=digest)
    assert loaded.text == "hello"
    for name in ("data.json", "extra.txt", "visualization.html"):
        before = s3.read_bytes(f"{uri}/{name}")
        s3.write_bytes(f"{uri}/{name}", b"tampered")
        with pytest.raises(ArtifactIntegrityError, match="recorded content hash"):
            load_artifact_data(uri, materializer_path_of(cls), None, s3, content_hash=digest)
        s3.write_bytes(f"{uri}/{name}", before)
    assert load_artifact_data(uri, materializer_path_of(cls), None, s3,
                              content_hash=digest).text == "hello"


class ScratchMaterializer(BaseMaterializer):
    """Writes a scratch file through ``self.open`` and removes it before save returns."""

    def save(self, data: bytes) -> None:
        with self.open("scratch.bin", "wb") as f:
            f.write(b"temporary")
        with self.open("data.bin", "wb") as f:
            f.write(data)
        self.artifact_store.fs.rm(self.path("scratch.bin"))

    def load(self, data_type: type) -> bytes:
        with self.open("data.bin") as f:
            return bytes(f.read())


def test_a_file_removed_during_save_is_not_hashed(s3) -> None:  # type: ignore[no-untyped-def]
    m = ScratchMaterializer(s3.uri("artifacts", "ns-a", "scratch"), s3)
    m.save(b"kept")
    assert m.storage_size == 4
    assert load_artifact_data(m.uri, materializer_path_of(ScratchMaterializer), None, s3,
                              content_hash=m.content_hash()) == b"kept"
