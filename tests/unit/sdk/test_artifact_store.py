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
