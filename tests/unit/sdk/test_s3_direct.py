"""kubeline.s3_direct: SigV4 signing (against botocore's signer) and a direct ArtifactStore
against a moto S3 server, its results compared with the s3fs store's."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading

import pytest
from kubeline import artifact_store as store_mod
from kubeline.artifact_store import ArtifactStore, S3Settings
from kubeline.errors import ArtifactStoreError
from kubeline.s3_direct import EMPTY_SHA256, S3Direct, authorization, split_uri, usable
from moto_s3 import moto_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def stores():
    """(s3fs store, direct store) over one moto bucket."""
    with moto_store() as fs_store:
        direct = ArtifactStore.from_settings(fs_store.settings, direct=True)
        assert direct.direct is not None
        yield fs_store, direct


@pytest.mark.parametrize(("method", "key", "query", "extra"), [
    ("GET", "a/b/data.json", {}, {}),
    ("PUT", "ns/run 1/step+x/manifest.json", {}, {"content-type": "application/json"}),
    ("GET", "", {"list-type": "2", "prefix": "ns/a b/", "continuation-token": "t/=+"}, {}),
    ("GET", "k", {}, {"range": "bytes=0-9"}),
])
def test_signature_matches_botocore(method, key, query, extra) -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from kubeline.s3_direct import _encode

    body = b'{"x": 1}' if method == "PUT" else b""
    payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    amz_date = "20250101T120000Z"
    path = "/bucket" + ("/" + _encode(key, safe="-_.~/") if key else "")
    headers = {"host": "127.0.0.1:9000", "x-amz-content-sha256": payload,
               "x-amz-date": amz_date, **extra}
    ours = authorization(method, path, query, headers, payload, "AKID", "secret/key+",
                         "eu-west-3", amz_date)

    url = "http://127.0.0.1:9000" + path
    request = AWSRequest(method=method, url=url, data=body, params=query, headers=dict(headers))
    request.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials("AKID", "secret/key+"), "s3", "eu-west-3")
    canonical = signer.canonical_request(request)
    theirs = signer.signature(signer.string_to_sign(request, canonical), request)
    assert ours.rsplit("Signature=", 1)[1] == theirs, canonical


def test_usable_only_with_an_http_endpoint_and_static_keys(monkeypatch) -> None:
    good = S3Settings(bucket="b", endpoint="http://s3.local:7070", access_key="a", secret_key="s")
    assert usable(good)
    assert not usable(S3Settings(bucket="b", access_key="a", secret_key="s"))  # AWS itself
    assert not usable(S3Settings(bucket="b", endpoint="https://s3.local", access_key="a",
                                 secret_key="s"))
    assert not usable(S3Settings(bucket="b", endpoint="http://s3.local"))
    monkeypatch.setenv("AWS_SESSION_TOKEN", "t")
    assert not usable(good)
    plain = ArtifactStore.from_settings(S3Settings(bucket="b", access_key="a", secret_key="s"),
                                        direct=True)
    assert plain.direct is None
    assert split_uri("s3://bkt/a/b") == ("bkt", "a/b") and split_uri("bkt") == ("bkt", "")


def test_direct_store_reads_and_writes_what_the_s3fs_store_sees(stores) -> None:
    fs_store, direct = stores
    uri = direct.uri("direct", "one", "data.json")
    direct.write_bytes(uri, b'{"a": 1}')
    assert fs_store.read_bytes(uri) == b'{"a": 1}'
    fs_store.write_bytes(direct.uri("direct", "one", "sub", "x.bin"), b"0123456789")
    assert direct.read_bytes(direct.uri("direct", "one", "sub", "x.bin")) == b"0123456789"
    assert direct.read_range(direct.uri("direct", "one", "sub", "x.bin"), 2, 5) == b"234"
    assert direct.read_range(direct.uri("direct", "one", "sub", "x.bin"), 8, 50) == b"89"
    assert direct.size(uri) == 8 and direct.exists(uri)
    assert direct.exists(direct.uri("direct", "one"))  # a "directory"
    assert not direct.exists(direct.uri("direct", "nothing"))
    assert direct.find(direct.uri("direct", "one")) == fs_store.find(direct.uri("direct", "one"))
    assert direct.find(uri) == fs_store.find(uri)
    assert direct.find(direct.uri("direct", "nothing")) == []
    with direct.open(uri, "rb") as f:
        assert f.read() == b'{"a": 1}'
    target = bytearray(4)
    direct.read_into(direct.uri("direct", "one", "sub", "x.bin"), target, offset=3)
    assert bytes(target) == b"3456"
    with pytest.raises(FileNotFoundError):
        direct.read_bytes(direct.uri("direct", "missing.json"))
    with pytest.raises(FileNotFoundError):
        direct.open(direct.uri("direct", "missing.json"), "rb")
    assert direct._fs is None  # s3fs never created for any of that


def test_files_round_trip_and_a_failed_write_leaves_nothing(stores, tmp_path) -> None:
    fs_store, direct = stores
    local = tmp_path / "f.txt"
    local.write_bytes(b"hello")
    uri = direct.uri("direct", "files", "f.txt")
    direct.put_file(str(local), uri)
    direct.get_file(uri, str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == b"hello" == fs_store.read_bytes(uri)
    broken = direct.uri("direct", "files", "broken.bin")
    with pytest.raises(RuntimeError), direct.open_writer(broken) as f:
        f.write(b"part")
        raise RuntimeError("the materializer failed")
    assert not fs_store.exists(broken)


def test_a_write_past_the_limit_streams_through_s3fs(stores, monkeypatch) -> None:
    fs_store, direct = stores
    monkeypatch.setattr(store_mod, "DIRECT_MAX_BYTES", 1024)
    uri = direct.uri("direct", "big", "data.bin")
    data = bytes(range(256)) * 20  # 5 KiB
    with direct.open_writer(uri) as f:
        for i in range(0, len(data), 700):
            f.write(data[i:i + 700])
    assert fs_store.read_bytes(uri) == data
    with direct.open(uri, "rb") as f:  # larger than the limit: read through s3fs
        assert f.read() == data
    direct.write_bytes(direct.uri("direct", "big", "pipe.bin"), data)
    assert fs_store.read_bytes(direct.uri("direct", "big", "pipe.bin")) == data
    assert direct._fs is not None


def test_materialized_values_hash_and_load_the_same_through_both_stores(stores) -> None:
    pd = pytest.importorskip("pandas")
    from kubeline.materializers import load_artifact_data
    from kubeline.materializers.builtin import BuiltInMaterializer
    from kubeline.materializers.pandas import PandasMaterializer

    fs_store, direct = stores
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    for cls, value in ((BuiltInMaterializer, {"k": [1, 2]}), (PandasMaterializer, frame)):
        uri = direct.uri("direct", "mat", cls.__name__)
        m = cls(uri, direct)
        m.save(value)
        digest = m.content_hash()
        assert cls(uri, fs_store).content_hash() == digest
        path = f"{cls.__module__}.{cls.__name__}"
        for store in (direct, fs_store):
            loaded = load_artifact_data(uri, path, type(value), store, content_hash=digest)
            if cls is PandasMaterializer:
                assert loaded.equals(frame)
            else:
                assert loaded == value


def test_errors_name_the_request_and_s3s_code(stores) -> None:
    fs_store, _ = stores
    wrong = S3Direct(fs_store.settings.endpoint, "unit", "unit")
    with pytest.raises(FileNotFoundError, match=r"NoSuchBucket|404"):
        wrong.get("s3://no-such-bucket/x")
    store = ArtifactStore(None, "s3://no-such-bucket", fs_store.settings, wrong)
    with pytest.raises((ArtifactStoreError, FileNotFoundError)):
        store.write_bytes("s3://no-such-bucket/x", b"1")


def test_a_direct_store_does_not_import_s3fs_or_botocore() -> None:
    code = ("import sys; from kubeline.artifact_store import ArtifactStore, S3Settings; "
            "s = ArtifactStore.from_settings(S3Settings(bucket='b', endpoint='http://127.0.0.1:9',"
            " access_key='a', secret_key='s'), direct=True); "
            "print('s3fs' in sys.modules, 'botocore' in sys.modules, s.direct is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_a_range_answered_with_the_whole_object_is_cut_to_the_range() -> None:
    """A server that ignores Range answers 200 with every byte: get() still returns the range."""
    body = bytes(range(100))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        direct = S3Direct(f"http://127.0.0.1:{server.server_address[1]}", "AK", "SK")
        assert direct.get("s3://b/k", 10, 20) == body[10:20]
        assert direct.get("s3://b/k", 95) == body[95:]
        assert direct.get("s3://b/k", None, 5) == body[:5]
        assert direct.get("s3://b/k") == body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
