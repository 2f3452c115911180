"""A pickled artifact of namespace A is not unpickled by a Client acting for namespace B
unless B names A (``trust_pickles_from`` / ``KUBELINE_TRUST_PICKLES_FROM``); A's own steps
and Clients load it as usual."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from leftover_namespaces import create_scratch_namespace

pytestmark = pytest.mark.e2e

PIPELINES = '''
from typing import Annotated

from kubeline import pipeline, step


class Weights:
    """Not JSON, not numpy, not pandas: saved with cloudpickle."""

    def __init__(self, values):
        self.values = list(values)


@step
def train() -> Annotated[Weights, "trust_weights"]:
    return Weights([1, 2, 3])


@step
def score(weights: Weights) -> int:
    return sum(weights.values)


@pipeline(enable_cache=False)
def trust_pipeline():
    score(train())
'''


def test_a_pickle_of_another_namespace_needs_the_opt_in(
        step_namespace: str, operator: Any, cluster: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    team_a = step_namespace
    team_b = create_scratch_namespace(cluster, f"trust-b-{uuid.uuid4().hex[:6]}",
                                      wait_for_account=False)
    try:
        monkeypatch.setenv("KUBELINE_NAMESPACE", team_a)
        monkeypatch.delenv("KUBELINE_TRUST_PICKLES_FROM", raising=False)
        (tmp_path / "trust_pipes.py").write_text(PIPELINES)
        monkeypatch.syspath_prepend(str(tmp_path))
        sys.modules.pop("trust_pipes", None)
        import trust_pipes
        from kubeline.client import Client
        from kubeline.client.client import forget_connections
        from kubeline.errors import ConfigurationError, UntrustedArtifactError

        run = trust_pipes.trust_pipeline()
        assert run.status == "completed", (run.status, run.message)
        # A's own step unpickled its input; A's own Client does too.
        assert run.steps["score"].output.load() == 6
        weights = run.steps["train"].output
        assert weights.materializer.endswith("CloudpickleMaterializer")
        assert weights.load().values == [1, 2, 3]

        # The same version read by a Client acting for B.
        monkeypatch.setenv("KUBELINE_NAMESPACE", team_b)
        forget_connections()
        from_b = Client(namespace=team_a).get_artifact_version("trust_weights")
        assert from_b.id == weights.id
        with pytest.raises(UntrustedArtifactError) as refused:
            from_b.load()
        message = str(refused.value)
        assert f"namespace {team_a}" in message and f"namespace {team_b}" in message
        assert "trust_pickles_from" in message and "KUBELINE_TRUST_PICKLES_FROM" in message
        with pytest.raises(UntrustedArtifactError):
            from_b.load(trust_pickles_from=[team_b])  # naming oneself is not naming A
        with pytest.raises(ConfigurationError, match="no wildcard"):
            from_b.load(trust_pickles_from="*")

        assert from_b.load(trust_pickles_from=[team_a]).values == [1, 2, 3]
        monkeypatch.setenv("KUBELINE_TRUST_PICKLES_FROM", team_a)
        assert from_b.load().values == [1, 2, 3]
        # A version that runs no code on load needs no opt-in.
        monkeypatch.delenv("KUBELINE_TRUST_PICKLES_FROM")
        assert Client(namespace=team_a).get_artifact_version(
            run.steps["score"].output.id).load() == 6
    finally:
        cluster.kubectl("delete", "namespace", team_b, "--wait=false", check=False)
