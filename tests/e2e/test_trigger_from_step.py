"""Seed 004 "Advanced Usage": runs started from inside a step, by pipeline name and by snapshot.

The two examples in ``examples/snapshots/`` are the seed's code with only the imports changed.
With the chart's opt-in RBAC for the step ServiceAccount (rendered from the chart itself and
applied to a fresh namespace) the triggered run records the run and step that started it, and
the Client follows that link both ways; without it the step fails with a message that says
how to allow it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "snapshots"


def _chart_step_access(cluster: Any, namespace: str, allow_triggering: bool) -> None:
    """The step ServiceAccount and RBAC exactly as the chart installs them for ``namespace``
    (no mounted token: the operator gives step Pods a projected one), rendered from the chart
    with steps.allowTriggeringRuns as given."""
    cluster.kubectl("delete", "serviceaccount", "kubeline-step", "-n", namespace,
                    "--ignore-not-found")  # the fixture's plain one: the chart's replaces it
    rendered = cluster.helm(
        "template", "kubeline", str(ROOT / "charts" / "kubeline"), "--kube-version", "1.34.0",
        "--set", f"steps.allowTriggeringRuns={str(allow_triggering).lower()}",
        "--set-json", f'stepNamespaces=["{namespace}"]',
        "--show-only", "templates/steps.yaml").stdout
    assert "automountServiceAccountToken: false" in rendered, rendered
    assert ("pipelineruns" in rendered) is allow_triggering, rendered
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=rendered)


@pytest.fixture
def examples(step_namespace: str, operator: Any,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """Both example modules, imported as a user would (from their folder)."""
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    names = ("trigger_by_pipeline", "trigger_by_snapshot")
    for name in names:
        sys.modules.pop(name, None)
    yield {name: importlib.import_module(name) for name in names}
    for name in names:
        sys.modules.pop(name, None)


def _triggered(run: Any, step: str) -> Any:
    """The one run started by ``step`` of ``run``, after it ended."""
    triggered = run.triggered_runs
    assert len(triggered) == 1, [r.name for r in triggered]
    child = triggered[0]
    child.wait(timeout=300, show_progress=False)
    child.refresh()
    assert child.triggered_by is not None
    assert child.triggered_by.run.id == run.id
    assert child.triggered_by.step.name == step
    assert child.triggered_by.step.status == "completed"
    return child


def _describe(run_name: str) -> str:
    """``kubeline run describe`` as a user would run it."""
    from click.testing import CliRunner
    from kubeline.cli.main import cli

    result = CliRunner().invoke(cli, ["run", "describe", run_name])
    assert result.exit_code == 0, result.output
    return result.output


def _assert_provenance(cluster: Any, namespace: str, run: Any, child: Any, step: str) -> None:
    """The genuine trigger is verified; a run that only claims it (created by someone else,
    copying its spec) is shown unverified; a forged Pod annotation is refused at admission,
    by the cluster admin and by the step ServiceAccount alike (neither holds that Pod's token).
    """
    import json

    from kubeline.client import Client
    from polling import wait_for

    parent = json.loads(cluster.kubectl("get", "pipelinerun", run.name, "-n", namespace,
                                        "-o", "json").stdout)
    (pod,) = [s["pod"] for s in parent["status"]["steps"] if s["name"] == step]
    genuine = Client().get_pipeline_run(child.name).triggered_by
    assert genuine.verified is True, genuine.provenance
    assert f"token of Pod {pod}" in genuine.provenance
    obj = json.loads(cluster.kubectl("get", "pipelinerun", child.name, "-n", namespace,
                                     "-o", "json").stdout)
    assert obj["metadata"]["annotations"]["kubeline.dev/triggered-from-pod"] == pod
    assert f"step {step} (verified)" in _describe(child.name)

    def forged(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "namespace": namespace}
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": obj["apiVersion"], "kind": "PipelineRun", "metadata": meta,
                "spec": obj["spec"]}

    claim = f"{child.name[:50]}-claim"
    cluster.kubectl("create", "-f", "-", input=json.dumps(forged(claim)))
    checked = wait_for("the forged run's triggeredBy check", lambda: json.loads(cluster.kubectl(
        "get", "pipelinerun", claim, "-n", namespace, "-o", "json").stdout).get(
            "status", {}).get("triggeredBy"), timeout=120)
    assert checked["verified"] is False, checked
    assert "no kubeline.dev/triggered-from-pod annotation" in checked["message"], checked
    view = Client().get_pipeline_run(claim).triggered_by
    assert view.run.name == run.name and view.verified is False
    assert f"unverified: step {step} of run {run.name} is claimed" in _describe(claim)
    step_sa = f"--as=system:serviceaccount:{namespace}:kubeline-step"
    for who in ([], [step_sa]):
        refused = cluster.kubectl("create", *who, "-f", "-", check=False, input=json.dumps(
            forged(f"{child.name[:50]}-pod", {"kubeline.dev/triggered-from-pod": pod})))
        assert refused.returncode != 0, who
        assert "ValidatingAdmissionPolicy 'kubeline-run-provenance'" in refused.stderr, (
            who, refused.stderr)
    cluster.kubectl("delete", "pipelinerun", claim, "-n", namespace, "--wait=false")


def _assert_trained_on(child: Any, run: Any, trigger_step: str) -> None:
    """The triggered training run got the data artifact's id and its trainer loaded it."""
    data = run.steps["load_data"].output
    assert child.status == "completed", (child.status, child.message)
    trainer = child.steps["trainer"]
    assert trainer.status == "completed", trainer.message
    assert trainer.config.parameters["data_artifact_id"] == data.id
    assert child.config.steps["trainer"].parameters["data_artifact_id"] == data.id
    # The data step's output was handed over by id only: the triggering step loaded nothing.
    assert run.steps[trigger_step].inputs["df"].id == data.id


def test_trigger_by_pipeline_name_from_a_step(cluster: Any, step_namespace: str,
                                             examples: dict[str, ModuleType]) -> None:
    _chart_step_access(cluster, step_namespace, allow_triggering=True)
    seed = examples["trigger_by_pipeline"]
    from kubeline.client import Client

    snapshot = seed.training_pipeline.create_snapshot(name="training-snapshot")
    run = seed.loads_data_and_triggers_training()
    assert run.status == "completed", (run.status, run.message)
    child = _triggered(run, "trigger_pipeline")
    _assert_trained_on(child, run, "trigger_pipeline")
    assert child.snapshot_name == snapshot.object_name
    assert child.pipeline.name == "training_pipeline"
    # The link, both ways, from fresh lookups.
    again = Client().get_pipeline_run(child.name)
    assert again.triggered_by.run.name == run.name
    assert [r.name for r in Client().get_pipeline_run(run.id).triggered_runs] == [child.name]
    _assert_provenance(cluster, step_namespace, run, child, "trigger_pipeline")


def test_trigger_specific_snapshot_from_a_step(cluster: Any, step_namespace: str,
                                              examples: dict[str, ModuleType]) -> None:
    _chart_step_access(cluster, step_namespace, allow_triggering=True)
    seed = examples["trigger_by_snapshot"]
    named = seed.training_pipeline.create_snapshot(name=seed.SNAPSHOT_NAME_OR_ID)
    # A newer snapshot of the same pipeline: the step must still run the one it names.
    newer = seed.training_pipeline.with_options(enable_cache=False).create_snapshot(
        name="training-newer")
    assert newer.object_name != named.object_name
    run = seed.loads_data_and_triggers_snapshot()
    assert run.status == "completed", (run.status, run.message)
    child = _triggered(run, "trigger_specific_snapshot")
    _assert_trained_on(child, run, "trigger_specific_snapshot")
    assert child.snapshot_name == named.object_name


def test_trigger_from_a_step_without_rbac_fails_clearly(cluster: Any, step_namespace: str,
                                                       examples: dict[str, ModuleType]) -> None:
    _chart_step_access(cluster, step_namespace, allow_triggering=False)
    seed = examples["trigger_by_pipeline"]
    # As the example's main does: the snapshot exists (the step may read it), so what the
    # step is refused is creating the run.
    seed.training_pipeline.create_snapshot(name="training-snapshot")
    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError, match="may not start pipeline runs") as failed:
        seed.loads_data_and_triggers_training()
    run = failed.value.run
    assert run.status == "failed", run.status
    assert run.failed_step == "trigger_pipeline"
    message = run.steps["trigger_pipeline"].message
    assert "PermissionDeniedError" in message, message
    assert "may not start pipeline runs" in message and "forbidden" in message, message
    assert "steps.allowTriggeringRuns=true" in message, message
    assert run.triggered_runs == []
