"""Pickle-based loads of another namespace's artifacts need the caller's explicit opt-in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kubeline.errors import ConfigurationError, UntrustedArtifactError
from kubeline.materializers import load_artifact_data
from kubeline.materializers.builtin import BuiltInMaterializer
from kubeline.materializers.numpy import NumpyMaterializer
from kubeline.materializers.pandas import PandasMaterializer
from kubeline.materializers.pickle import CloudpickleMaterializer, SklearnMaterializer
from kubeline.materializers.registry import materializer_path_of
from kubeline.materializers.trust import caller_namespace, load_origin, parse_trusted
from kubeline.resources.layout import namespace_of
from kubeline.resources.names import ENV_INVOCATION, ENV_NAMESPACE, ENV_TRUST_PICKLES_FROM
from planted_pickle import Planted

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_env_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_TRUST_PICKLES_FROM, ENV_NAMESPACE, ENV_INVOCATION):
        monkeypatch.delenv(name, raising=False)


def saved(store, cls, value, namespace, name):  # type: ignore[no-untyped-def]
    m = cls(store.uri("artifacts", namespace, "p", "run-1", "step", "a1", name), store)
    m.save(value)
    return m.uri, m.content_hash()


def load(store, cls, uri, digest, caller, trust=None, namespace=None):  # type: ignore[no-untyped-def]
    origin = load_origin(uri, store.root, caller, namespace=namespace, trust=trust)
    return load_artifact_data(uri, materializer_path_of(cls), None, store,
                              content_hash=digest, origin=origin)


def test_another_namespaces_pickle_is_refused_until_trusted(s3, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    uri, digest = saved(s3, CloudpickleMaterializer, Planted(), "team-a", "model")
    Planted.ran.clear()
    with pytest.raises(UntrustedArtifactError) as refused:
        load(s3, CloudpickleMaterializer, uri, digest, caller="team-b")
    message = str(refused.value)
    assert "namespace team-a" in message and "namespace team-b" in message
    assert 'trust_pickles_from=["team-a"]' in message and "KUBELINE_TRUST_PICKLES_FROM" in message
    assert Planted.ran == [], "nothing may be unpickled before the trust check"
    # Trusting someone else, or the caller's own namespace, is not trusting team-a.
    with pytest.raises(UntrustedArtifactError):
        load(s3, CloudpickleMaterializer, uri, digest, caller="team-b", trust=["team-c"])
    assert Planted.ran == []
    # The caller's own namespace loads; so does a named one, by argument or environment.
    load(s3, CloudpickleMaterializer, uri, digest, caller="team-a")
    load(s3, CloudpickleMaterializer, uri, digest, caller="team-b", trust="team-a")
    monkeypatch.setenv(ENV_TRUST_PICKLES_FROM, "team-c, team-a")
    load(s3, CloudpickleMaterializer, uri, digest, caller="team-b")
    assert Planted.ran == ["unpickled"] * 3


def test_the_version_namespace_counts_as_well_as_the_uri(s3) -> None:  # type: ignore[no-untyped-def]
    """A version in team-b whose URI lies in team-a's artifacts comes from team-a too."""
    uri, digest = saved(s3, CloudpickleMaterializer, {"w": 1}, "team-a", "shared")
    with pytest.raises(UntrustedArtifactError, match="namespace team-a"):
        load(s3, CloudpickleMaterializer, uri, digest, caller="team-b", namespace="team-b")
    # ... and a version of team-c pointing at team-b's own files is still team-c's.
    own, own_digest = saved(s3, CloudpickleMaterializer, {"w": 2}, "team-b", "own")
    with pytest.raises(UntrustedArtifactError, match="namespace team-c"):
        load(s3, CloudpickleMaterializer, own, own_digest, caller="team-b", namespace="team-c")
    assert load(s3, CloudpickleMaterializer, own, own_digest, caller="team-b",
                namespace="team-b") == {"w": 2}


def test_every_unpickling_materializer_checks_and_the_others_do_not(s3) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LinearRegression

    pickled = [
        (CloudpickleMaterializer, {"a": 1}),
        (SklearnMaterializer, LinearRegression()),
        (PandasMaterializer, pd.DataFrame({0: [1.5]})),  # non-string columns: the pickle branch
        (NumpyMaterializer, np.array([{"a": 1}], dtype=object)),
    ]
    for i, (cls, value) in enumerate(pickled):
        uri, digest = saved(s3, cls, value, "team-a", f"pickled-{i}")
        with pytest.raises(UntrustedArtifactError, match="team-a"):
            load(s3, cls, uri, digest, caller="team-b")
        load(s3, cls, uri, digest, caller="team-b", trust=["team-a"])
    plain = [(BuiltInMaterializer, {"a": [1, 2]}), (PandasMaterializer, pd.DataFrame({"a": [1]})),
             (NumpyMaterializer, np.arange(3))]
    for i, (cls, value) in enumerate(plain):
        uri, digest = saved(s3, cls, value, "team-a", f"plain-{i}")
        load(s3, cls, uri, digest, caller="team-b")  # no code runs: no opt-in needed


def test_an_unknown_caller_trusts_no_namespace(s3) -> None:  # type: ignore[no-untyped-def]
    uri, digest = saved(s3, CloudpickleMaterializer, 1, "team-a", "anon")
    with pytest.raises(UntrustedArtifactError, match="unknown namespace"):
        load(s3, CloudpickleMaterializer, uri, digest, caller=None)


def test_opt_in_names_namespaces_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_trusted("team-a, team-b,", "x") == {"team-a", "team-b"}
    assert parse_trusted(["team-a"], "x") == {"team-a"}
    for bad in ("*", "Team_A", "a/b"):
        with pytest.raises(ConfigurationError, match="no wildcard"):
            parse_trusted(bad, "trust_pickles_from")
    monkeypatch.setenv(ENV_TRUST_PICKLES_FROM, "*")
    with pytest.raises(ConfigurationError, match=ENV_TRUST_PICKLES_FROM):
        load_origin("s3://b/artifacts/team-a/x", "s3://b", "team-b")


def test_namespace_of_and_caller_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    assert namespace_of("s3://b", "s3://b/artifacts/team-a/p/r/s/a/out") == "team-a"
    assert namespace_of("s3://b", "s3://b/data/team-a/file") is None
    assert namespace_of("s3://b", "s3://other/artifacts/team-a/x") is None
    assert namespace_of("s3://b", "s3://b/artifacts-x/team-a/x") is None
    monkeypatch.setenv(ENV_INVOCATION, '{"namespace": "from-invocation"}')
    assert caller_namespace() == "from-invocation"
    monkeypatch.setenv(ENV_NAMESPACE, "from-env")
    assert caller_namespace() == "from-env"
