"""Artifact store configuration and layout."""

from __future__ import annotations

import pytest
from kubeline.artifact_store import ArtifactStore, S3Settings
from kubeline.errors import ArtifactStoreError, NotFoundError

pytestmark = pytest.mark.unit


def test_settings_from_env() -> None:
    assert S3Settings.from_env({}) is None
    s = S3Settings.from_env({"KUBELINE_S3_BUCKET": "b", "KUBELINE_S3_ENDPOINT": "http://h:1",
                             "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})
    assert s == S3Settings(bucket="b", endpoint="http://h:1", access_key="k", secret_key="s")


class SecretOnly:
    """Stands in for Kube: only read_secret is used."""

    namespace = "team-a"

    def __init__(self, data: dict[str, str] | None) -> None:
        self.data = data

    def read_secret(self, name: str) -> dict[str, str]:
        assert name == "kubeline-s3"
        if self.data is None:
            raise NotFoundError("secrets/kubeline-s3 not found")
        return self.data


def test_settings_from_secret_when_env_is_empty(monkeypatch) -> None:
    monkeypatch.delenv("KUBELINE_S3_BUCKET", raising=False)
    s = S3Settings.resolve(SecretOnly({"bucket": "b2", "endpoint": "http://e", "region": "eu",
                                       "accessKeyId": "a", "secretAccessKey": "z"}))
    assert (s.bucket, s.endpoint, s.region, s.access_key) == ("b2", "http://e", "eu", "a")
    with pytest.raises(ArtifactStoreError, match=r"KUBELINE_S3_BUCKET.*team-a"):
        S3Settings.resolve(SecretOnly(None))


def test_layout_and_listing_cache_disabled() -> None:
    store = ArtifactStore.from_settings(S3Settings(bucket="bk", endpoint="http://127.0.0.1:9"))
    assert store.code_uri("ab") == "s3://bk/code/ab.tar.gz"
    assert store.attempt_uri("ns", "p", "r", "s", 2) == "s3://bk/artifacts/ns/p/r/s/2"
    assert store.fs.dircache.use_listings_cache is False


# --------------------------------------------------------------------------- per namespace


def test_a_namespace_bucket_setting_gives_each_namespace_its_bucket() -> None:
    from kubeline.resources.layout import namespace_bucket

    assert namespace_bucket("kl-{namespace}", "team-a") == "kl-team-a"
    assert namespace_bucket("shared", "team-a") == "shared"
    with pytest.raises(ValueError, match="3-63 characters"):
        namespace_bucket("kubeline-{namespace}", "n" * 60)
    with pytest.raises(ValueError, match="needs a namespace"):
        namespace_bucket("kl-{namespace}", "")


class Ns:
    """Stands in for Kube where only the namespace is read."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace


def test_env_settings_resolve_the_bucket_of_the_clients_namespace(monkeypatch) -> None:
    monkeypatch.setenv("KUBELINE_S3_BUCKET", "kl-{namespace}")
    monkeypatch.setenv("KUBELINE_S3_ENDPOINT", "http://127.0.0.1:9")
    raw = S3Settings.from_env()
    assert raw is not None and raw.per_namespace
    assert S3Settings.resolve(Ns("team-a")).bucket == "kl-team-a"
    assert not S3Settings.resolve(Ns("team-a")).per_namespace


def test_secret_settings_resolve_a_namespace_pattern_too(monkeypatch) -> None:
    monkeypatch.delenv("KUBELINE_S3_BUCKET", raising=False)
    s = S3Settings.resolve(SecretOnly({"bucket": "kl-{namespace}", "accessKeyId": "a"}))
    assert s.bucket == "kl-team-a"


def test_default_store_keeps_one_store_per_namespace(monkeypatch) -> None:
    from kubeline.artifact_store import default_store, set_default_store

    monkeypatch.setenv("KUBELINE_S3_BUCKET", "kl-{namespace}")
    monkeypatch.setenv("KUBELINE_S3_ENDPOINT", "http://127.0.0.1:9")
    set_default_store(None)
    try:
        a, b = default_store(Ns("team-a")), default_store(Ns("team-b"))
        assert (a.root, b.root) == ("s3://kl-team-a", "s3://kl-team-b")
        assert default_store(Ns("team-a")) is a
        assert a.code_uri("ab") == "s3://kl-team-a/code/ab.tar.gz"
        explicit = ArtifactStore.from_settings(S3Settings(bucket="x", endpoint="http://h:1"))
        set_default_store(explicit)
        assert default_store(Ns("team-a")) is explicit
    finally:
        set_default_store(None)
