"""Per-namespace S3 identities on a real versitygw (``kubeline.dev.s3_identities``): each
namespace's account reaches its own bucket and nothing of another namespace's, through
the SDK's own store. No cluster: a throwaway server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubeline.artifact_store import ArtifactStore, S3Settings
from kubeline.dev.s3_identities import (
    S3Admin,
    delete_namespace_identity,
    ensure_namespace_identity,
)
from kubeline.dev.s3server import local_s3
from kubeline.errors import ArtifactStoreError

pytestmark = pytest.mark.integration

BUCKET = "kl-{namespace}"


@pytest.fixture(scope="module")
def admin() -> Iterator[S3Admin]:
    with local_s3(accounts=True) as s3:
        yield S3Admin(s3["endpoint"], s3["access_key"], s3["secret_key"])


def _store(settings: dict[str, str]) -> ArtifactStore:
    return ArtifactStore.from_settings(S3Settings.from_secret(settings))


def test_each_namespace_reaches_only_its_own_bucket(admin: S3Admin) -> None:
    a = ensure_namespace_identity(admin, "team-a", BUCKET)
    b = ensure_namespace_identity(admin, "team-b", BUCKET)
    assert (a["bucket"], a["accessKeyId"]) == ("kl-team-a", "ns-team-a")
    store_a, store_b = _store(a), _store(b)
    own = store_a.uri("artifacts", "team-a", "p", "r", "s", "1", "out", "data.json")
    code = store_a.code_uri("ab" * 32)
    store_a.write_bytes(own, b"A's data")
    store_a.write_bytes(code, b"A's code")
    assert store_a.read_bytes(own) == b"A's data"
    assert store_a.find(store_a.root)  # A lists its own bucket

    for attempt in (lambda: store_b.read_bytes(own), lambda: store_b.read_bytes(code),
                    lambda: store_b.find(store_a.root),
                    lambda: store_b.write_bytes(own, b"planted"),
                    lambda: store_b.write_bytes(code, b"planted")):
        with pytest.raises(ArtifactStoreError, match=r"Access Denied|Forbidden") as caught:
            attempt()
        assert isinstance(caught.value.__cause__, PermissionError)  # S3 answered 403
    assert store_a.read_bytes(own) == b"A's data" and store_a.read_bytes(code) == b"A's code"
    # B's own bucket works; and B cannot make buckets of its own.
    store_b.write_bytes(store_b.uri("x"), b"ok")
    with pytest.raises(PermissionError):
        store_b.fs.mkdir("kl-team-c")


def test_identities_are_rekeyed_and_removed(admin: S3Admin) -> None:
    first = ensure_namespace_identity(admin, "team-r", BUCKET)
    _store(first).write_bytes("s3://kl-team-r/x", b"1")
    second = ensure_namespace_identity(admin, "team-r", BUCKET)
    assert second["secretAccessKey"] != first["secretAccessKey"]
    assert _store(second).read_bytes("s3://kl-team-r/x") == b"1"  # same bucket, new key
    with pytest.raises(ArtifactStoreError):
        _store(first).read_bytes("s3://kl-team-r/x")  # the old key is gone
    delete_namespace_identity(admin, "team-r", BUCKET)
    root = ArtifactStore.from_settings(S3Settings(bucket="kubeline", endpoint=admin.endpoint,
                                                  access_key=admin.access_key,
                                                  secret_key=admin.secret_key))
    assert not root.exists("s3://kl-team-r")
    assert "ns-team-r" not in admin.run("list-users")
