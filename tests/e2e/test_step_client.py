"""The Client inside steps, least privilege (issue 13): the chart's default step RBAC lets a
step read Kubeline objects of its namespace and nothing else, through a projected,
short-lived, audience-bound token; seed 000's "fetching information during run execution"
runs; a step without API access is told exactly that and which chart value grants it.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from step_rbac import can_i, chart_step_rbac

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "zenml_docs"


@pytest.fixture
def example(step_namespace: str, operator: Any,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("previous_run", None)
    yield importlib.import_module("previous_run")
    sys.modules.pop("previous_run", None)


def test_step_service_account_reads_kubeline_objects_only(cluster: Any,
                                                          step_namespace: str) -> None:
    chart_step_rbac(cluster, step_namespace)
    for verb, resource in (("list", "pipelineruns.kubeline.dev"), ("get", "pipelines.kubeline.dev"),
                           ("watch", "artifactversions.kubeline.dev"),
                           ("get", "modelversions.kubeline.dev")):
        assert can_i(cluster, step_namespace, verb, resource), (verb, resource)
    for verb, resource in (("get", "secrets"), ("list", "secrets"), ("create", "pods"),
                           ("get", "pods"), ("create", "pipelineruns.kubeline.dev"),
                           ("patch", "pipelineruns.kubeline.dev"),
                           ("update", "pipelineruns.kubeline.dev/status"),
                           ("list", "events"), ("patch", "events")):
        assert not can_i(cluster, step_namespace, verb, resource), (verb, resource)
    # Events: create only, for the outputs-committed Event (an admission policy confines it
    # to that reason on the step's own Pod: tests/e2e/test_outputs_committed.py).
    assert can_i(cluster, step_namespace, "create", "events")
    assert not can_i(cluster, "default", "list", "pipelineruns.kubeline.dev")  # own namespace only
    chart_step_rbac(cluster, step_namespace, "steps.allowTriggeringRuns=true")
    assert can_i(cluster, step_namespace, "create", "pipelineruns.kubeline.dev")
    assert not can_i(cluster, step_namespace, "get", "secrets")


def test_a_step_reads_the_previous_run_of_its_pipeline(cluster: Any, step_namespace: str,
                                                       example: ModuleType) -> None:
    chart_step_rbac(cluster, step_namespace)
    from kubeline.errors import RunFailedError

    # The very first run has no previous run: the seed's `runs[1]` fails, as in ZenML.
    with pytest.raises(RunFailedError, match="IndexError") as failed:
        example.continuous_pipeline()
    first = failed.value.run
    assert first.steps["previous_run_name"].status == "skipped"
    second = example.continuous_pipeline()
    assert second.status == "completed", second.message
    assert second.steps["my_step"].status == "completed"  # the seed's step, as written
    assert second.steps["previous_run_name"].output.load() == first.name
    # The step Pod's token: projected, short-lived, bound to the API server's audience.
    pod = json.loads(cluster.kubectl("get", "pod", second.steps["my_step"].pod, "-n",
                                     step_namespace, "-o", "json").stdout)
    assert pod["spec"]["automountServiceAccountToken"] is False
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "kube-api-access"]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 600
    claims = second.steps["api_token_claims"].output.load()
    assert claims["lifetime"] <= 600, claims  # not the admission-injected 1 h (or 1 y) token
    issuer = json.loads(cluster.kubectl("get", "--raw",
                                        "/.well-known/openid-configuration").stdout)["issuer"]
    assert claims["aud"] == [issuer], claims  # good for this API server only
    assert claims["sub"] == f"system:serviceaccount:{step_namespace}:kubeline-step"
