"""Streaming S3 writes (concurrent multipart) and ranged reads, against a moto S3 server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import numpy as np
import pytest
from kubeline import s3_stream
from kubeline.artifact_store import ArtifactStore
from kubeline.errors import ArtifactStoreError
from kubeline.materializers.numpy import FILENAME, NumpyMaterializer
from moto_s3 import moto_store

pytestmark = pytest.mark.unit
MIB = 2**20


@pytest.fixture(scope="module")
def store() -> Iterator[ArtifactStore]:
    with moto_store() as s:
        yield s


def _uploads(store: ArtifactStore) -> list[dict]:
    bucket, _, _ = store.fs.split_path(store.root)
    return store.fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", [])


def test_multipart_write_in_odd_chunks_appears_only_on_close(store: ArtifactStore) -> None:
    data = os.urandom(13 * MIB + 123)
    uri = store.uri("stream", "odd.bin")
    writer = s3_stream.S3PartWriter(store.fs, uri, part_size=5 * MIB, max_in_flight=2)
    for start, size in ((0, 1), (1, 3 * MIB), (3 * MIB + 1, 7 * MIB)):
        assert writer.write(memoryview(data)[start:start + size]) == size
    writer.write(data[10 * MIB + 1:])
    assert writer.tell() == len(data)
    assert not store.exists(uri)  # parts are uploaded, but nothing is committed yet
    writer.close()
    assert writer.closed and store.read_bytes(uri) == data
    assert not _uploads(store)


def test_small_and_empty_files_are_single_puts(store: ArtifactStore) -> None:
    for name, data in (("small.bin", b"abc" * 1000), ("empty.bin", b"")):
        uri = store.uri("stream", name)
        with store.open_writer(uri) as f:
            f.write(data)
        assert store.read_bytes(uri) == data


def test_error_inside_with_aborts_the_upload(store: ArtifactStore) -> None:
    uri = store.uri("stream", "aborted.bin")
    with pytest.raises(RuntimeError, match="boom"), \
            s3_stream.S3PartWriter(store.fs, uri, part_size=5 * MIB) as f:
        f.write(os.urandom(11 * MIB))
        raise RuntimeError("boom")
    assert not store.exists(uri)
    assert not _uploads(store)


def test_writer_rejects_parts_smaller_than_s3_allows(store: ArtifactStore) -> None:
    with pytest.raises(ValueError, match="at least 5 MiB"):
        s3_stream.S3PartWriter(store.fs, store.uri("x"), part_size=MIB)


def test_read_into_ranges_offset_and_truncation(store: ArtifactStore) -> None:
    data = os.urandom(3 * MIB + 17)
    uri = store.uri("stream", "read.bin")
    store.write_bytes(uri, data)
    target = bytearray(len(data) - 100)
    s3_stream.read_into(store.fs, uri, target, offset=100, range_size=MIB // 3, concurrency=3)
    assert target == data[100:]
    with pytest.raises(ArtifactStoreError, match="is truncated"):
        s3_stream.read_into(store.fs, uri, bytearray(len(data) + 10), range_size=MIB)


def test_numpy_materializer_multipart_and_ranged_load(store: ArtifactStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_stream, "PART_SIZE", 5 * MIB)
    monkeypatch.setattr(s3_stream, "RANGE_SIZE", MIB)
    arr = np.asfortranarray(np.random.default_rng(1).random((1500, 1000)))  # 12 MB, F order
    m = NumpyMaterializer(store.uri("np", "big"), store)
    m.save(arr)
    raw = store.read_bytes(m.path(FILENAME))
    assert m.storage_size == len(raw)
    assert m._files[FILENAME][0] == hashlib.sha256(raw).hexdigest()  # hashed while streaming
    assert raw == _npy_bytes(arr)
    loaded = NumpyMaterializer(m.uri, store).load(np.ndarray)
    np.testing.assert_array_equal(loaded, arr)
    assert loaded.flags.f_contiguous


def test_numpy_load_rejects_a_truncated_file(store: ArtifactStore) -> None:
    m = NumpyMaterializer(store.uri("np", "cut"), store)
    m.save(np.arange(100_000, dtype=np.int64))
    path = m.path(FILENAME)
    store.write_bytes(path, store.read_bytes(path)[:-8])
    with pytest.raises(ArtifactStoreError, match="truncated"):
        NumpyMaterializer(m.uri, store).load(np.ndarray)


def test_numpy_load_of_small_zero_d_and_empty_arrays(store: ArtifactStore) -> None:
    for i, arr in enumerate((np.float32(3.5) * np.ones(()), np.zeros((0, 4)),
                             np.array(["a", "bc"]))):
        m = NumpyMaterializer(store.uri("np", f"small{i}"), store)
        m.save(arr)
        loaded = NumpyMaterializer(m.uri, store).load(np.ndarray)
        assert loaded.shape == arr.shape and loaded.dtype == arr.dtype
        np.testing.assert_array_equal(loaded, arr)


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()
