"""The CRDs in a real API server: bad objects are refused with a message saying what to fix.

Uses the ``cluster``, ``crds`` and ``namespace`` fixtures of tests/conftest.py.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

API = "kubeline.dev/v1alpha1"


# --------------------------------------------------------------------------- objects


def _step(name: str, inputs: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "id": name.replace("-", "_"),
        "function": name.replace("-", "_"),
        "entrypoint": f"steps:{name.replace('-', '_')}",
        "codeHash": "0" * 64,
        "inputs": inputs or [],
        "outputs": [{"name": "output", "materializer": "kubeline.materializers.Builtin"}],
        **extra,
    }


def _snapshot(name: str, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if steps is None:
        steps = [
            _step("load-data"),
            _step("train", [{"name": "data", "step": "load-data", "output": "output"}],
                  parameters={"gamma": 0.002, "kernel": "rbf", "opts": {"a": [1, None]}}),
            _step("evaluate", [{"name": "model", "step": "train", "output": "output"}]),
        ]
    return {
        "apiVersion": API,
        "kind": "Snapshot",
        "metadata": {"name": name},
        "spec": {
            "pipeline": "training-pipeline",
            "pipelineName": "training_pipeline",
            "image": "localhost/kubeline:test",
            "steps": steps,
        },
    }


def _run(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("snapshot", "snap")
    return {"apiVersion": API, "kind": "PipelineRun", "metadata": {"name": name}, "spec": spec}


def _apply(cluster: Any, ns: str, obj: dict[str, Any], check: bool = True) -> Any:
    return cluster.kubectl("-n", ns, "apply", "-f", "-", input=yaml.safe_dump(obj), check=check)


def _rejected(cluster: Any, ns: str, obj: dict[str, Any], *expected: str) -> str:
    """Apply ``obj``; assert the API server refused it with every ``expected`` text."""
    result = _apply(cluster, ns, obj, check=False)
    assert result.returncode != 0, f"the API server accepted an invalid object:\n{obj}"
    for text in expected:
        assert text in result.stderr, f"expected {text!r} in the error, got:\n{result.stderr}"
    return result.stderr


def _get(cluster: Any, ns: str, kind: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("-n", ns, "get", kind, name, "-o", "json").stdout
    return json.loads(out)


# --------------------------------------------------------------------------- valid objects


def test_valid_objects_are_accepted_and_json_parameters_kept(
    cluster: Any, crds: Any, namespace: str
) -> None:
    _apply(cluster, namespace, _snapshot("snap"))
    # A null is a JSON value too (random_state=None). `kubectl apply` drops nulls from
    # maps on the client side (null means "delete" there), so create the run directly.
    params = {"gamma": 0.01, "layers": [64, 32], "seed": None, "opts": {"deep": {"x": None}}}
    run = _run("run-1", config={"steps": {"train": {"parameters": params}}})
    cluster.kubectl("-n", namespace, "create", "-f", "-", input=yaml.safe_dump(run))
    run = _get(cluster, namespace, "pipelinerun", "run-1")
    assert run["spec"]["config"]["steps"]["train"]["parameters"] == params
    snap = _get(cluster, namespace, "snapshot", "snap")
    assert snap["spec"]["steps"][1]["parameters"]["opts"] == {"a": [1, None]}


def test_a_run_may_be_cancelled(cluster: Any, crds: Any, namespace: str) -> None:
    _apply(cluster, namespace, _run("run-c"))
    _apply(cluster, namespace, _run("run-c", cancel=True))
    assert _get(cluster, namespace, "plr", "run-c")["spec"]["cancel"] is True


def test_an_input_may_be_an_existing_artifact(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train", [{"name": "data", "artifact": {"name": "iris_dataset"}}])]
    _apply(cluster, namespace, _snapshot("snap-art", steps))


def test_an_input_may_be_a_model_artifact(cluster: Any, crds: Any, namespace: str) -> None:
    ref = {"model": "iris_classifier", "version": "production", "artifact": "trained_model",
           "type": "model"}
    steps = [_step("predict", [{"name": "model", "modelArtifact": ref}])]
    _apply(cluster, namespace, _snapshot("snap-model", steps))
    stored = _get(cluster, namespace, "snapshot", "snap-model")["spec"]["steps"][0]["inputs"][0]
    assert stored["modelArtifact"] == ref
    bad = {**ref, "type": "weights"}
    _rejected(cluster, namespace, _snapshot("snap-bad-model", [
        _step("predict", [{"name": "model", "modelArtifact": bad}])]), "Unsupported value")


def test_model_version_stage_and_identity(cluster: Any, crds: Any, namespace: str) -> None:
    mv = {"apiVersion": API, "kind": "ModelVersion", "metadata": {"name": "mv-1"},
          "spec": {"model": "iris", "version": "1"}}
    _apply(cluster, namespace, mv)  # no stage: none (the CRDs carry no defaults)
    assert "stage" not in _get(cluster, namespace, "modelversion", "mv-1")["spec"]
    _rejected(cluster, namespace, {**mv, "spec": {**mv["spec"], "stage": "gold"}},
              "Unsupported value")
    _rejected(cluster, namespace, {**mv, "spec": {**mv["spec"], "version": "2"}},
              "spec.version of a ModelVersion is immutable")


# --------------------------------------------------------------------------- invalid objects


def test_snapshot_spec_cannot_be_edited(cluster: Any, crds: Any, namespace: str) -> None:
    snap = _snapshot("snap")
    _apply(cluster, namespace, snap)
    edited = copy.deepcopy(snap)
    edited["spec"]["image"] = "localhost/kubeline:other"
    _rejected(cluster, namespace, edited,
              "Snapshot spec is immutable: create a new Snapshot instead")


def test_started_run_parameters_cannot_be_edited(
    cluster: Any, crds: Any, namespace: str
) -> None:
    run = _run("run-p", config={"steps": {"train": {"parameters": {"gamma": 0.1}}}})
    _apply(cluster, namespace, run)
    edited = copy.deepcopy(run)
    edited["spec"]["config"]["steps"]["train"]["parameters"]["gamma"] = 0.2
    _rejected(cluster, namespace, edited, "spec.config of a PipelineRun is immutable",
              "create a new PipelineRun instead")


def test_run_snapshot_cannot_be_removed(cluster: Any, crds: Any, namespace: str) -> None:
    _apply(cluster, namespace, _run("run-s", snapshot="snap", pipeline="training-pipeline"))
    _rejected(cluster, namespace, _run("run-s", snapshot="other", pipeline="training-pipeline"),
              "spec.snapshot of a PipelineRun is immutable")


def test_cancel_cannot_flip_back(cluster: Any, crds: Any, namespace: str) -> None:
    _apply(cluster, namespace, _run("run-f", cancel=True))
    _rejected(cluster, namespace, _run("run-f", cancel=False),
              "spec.cancel cannot go back from true to false")


def test_run_needs_a_snapshot_or_pipeline(cluster: Any, crds: Any, namespace: str) -> None:
    run = _run("run-n")
    del run["spec"]["snapshot"]
    run["spec"]["config"] = {"enableCache": False}
    _rejected(cluster, namespace, run, "set spec.snapshot (a Snapshot name) or spec.pipeline")


def test_bad_step_name(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("load-data")]
    steps[0]["name"] = "Load_Data"
    _rejected(cluster, namespace, _snapshot("bad-name", steps),
              "spec.steps[0].name", "should match")


def test_duplicate_step_name(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train"), _step("train")]
    steps[1]["id"] = "train_2"
    _rejected(cluster, namespace, _snapshot("dup-name", steps), "spec.steps[1]", "Duplicate value")


def test_duplicate_step_id(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train"), _step("train-2")]
    steps[1]["id"] = "train"
    _rejected(cluster, namespace, _snapshot("dup-id", steps),
              "step ids (spec.steps[].id) must be unique")


def test_input_from_a_missing_step(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train", [{"name": "data", "step": "no-such-step", "output": "output"}])]
    _rejected(cluster, namespace, _snapshot("missing-step", steps),
              "every step input's step must name a step in spec.steps")


def test_input_from_a_missing_output(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [
        _step("load"),
        _step("train", [{"name": "data", "step": "load", "output": "no_such_output"}]),
    ]
    _rejected(cluster, namespace, _snapshot("missing-output", steps),
              "its output one of that step's spec.steps[].outputs[].name")


def test_input_from_itself(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train", [{"name": "data", "step": "train", "output": "output"}])]
    _rejected(cluster, namespace, _snapshot("self-input", steps),
              "a step cannot take its own output as an input")


def test_input_with_two_sources(cluster: Any, crds: Any, namespace: str) -> None:
    both = {"name": "data", "step": "load", "output": "output", "artifact": {"name": "iris"}}
    steps = [_step("load"), _step("train", [both])]
    _rejected(cluster, namespace, _snapshot("two-sources", steps),
              "a step input sets exactly one of")
    model = {"name": "data", "artifact": {"name": "iris"},
             "modelArtifact": {"model": "iris_classifier", "artifact": "trained_model"}}
    _rejected(cluster, namespace, _snapshot("artifact-and-model", [_step("train", [model])]),
              "modelArtifact (an artifact linked to a model version, resolved when the run "
              "starts)")


def test_input_with_no_source(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [_step("train", [{"name": "data"}])]
    _rejected(cluster, namespace, _snapshot("no-source", steps),
              "a step input sets exactly one of")


def test_unknown_field(cluster: Any, crds: Any, namespace: str) -> None:
    run = _run("run-u")
    run["spec"]["parameters"] = {"gamma": 1}  # belongs in spec.config.steps.<id>.parameters
    _rejected(cluster, namespace, run, 'unknown field "spec.parameters"')


def test_oversized_list(cluster: Any, crds: Any, namespace: str) -> None:
    _rejected(cluster, namespace, _run("run-tags", config={"tags": [f"t{i}" for i in range(33)]}),
              "spec.config.tags", "must have at most 32 items")


def test_too_many_steps(cluster: Any, crds: Any, namespace: str) -> None:
    steps = [
        {"name": f"s{i}", "id": f"s{i}", "function": "f", "entrypoint": "m:f", "codeHash": "0"}
        for i in range(1001)
    ]
    _rejected(cluster, namespace, _snapshot("huge", steps),
              "spec.steps", "must have at most 1000 items")


def test_model_version_stage_is_checked(cluster: Any, crds: Any, namespace: str) -> None:
    mv = {
        "apiVersion": API,
        "kind": "ModelVersion",
        "metadata": {"name": "iris-1"},
        "spec": {"model": "iris", "version": "1", "stage": "prod"},
    }
    _rejected(cluster, namespace, mv, "spec.stage", 'Unsupported value: "prod"')
    mv["spec"]["stage"] = "production"
    _apply(cluster, namespace, mv)
    mv["spec"]["version"] = "2"
    _rejected(cluster, namespace, mv, "spec.version of a ModelVersion is immutable")


# --------------------------------------------------------------------------- kubectl experience


def test_kubectl_explain_prints_descriptions(cluster: Any, crds: Any) -> None:
    out = cluster.kubectl("explain", "pipelinerun.spec").stdout
    assert "Set to true to cancel the run" in out
    assert "Snapshot object name" in out
    out = cluster.kubectl("explain", "snapshot.spec.steps.name").stdout
    assert "DNS-1123 label" in out


def _kubectl_retrying(cluster: Any, *args: str) -> str:
    """kubectl may hold a discovery cache from before the CRDs existed: retry briefly."""
    deadline = time.monotonic() + 30
    while True:
        result = cluster.kubectl(*args, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            assert result.returncode == 0, result.stderr
            return result.stdout
        time.sleep(1)


def test_kubectl_get_kubeline_lists_every_kind(cluster: Any, crds: Any, namespace: str) -> None:
    _apply(cluster, namespace, _snapshot("snap"))
    _apply(cluster, namespace, _run("run-g"))
    out = _kubectl_retrying(cluster, "-n", namespace, "get", "kubeline")
    assert "snapshot.kubeline.dev/snap" in out
    assert "pipelinerun.kubeline.dev/run-g" in out
    kinds = _kubectl_retrying(cluster, "api-resources", "--categories", "kubeline", "-o", "name")
    assert set(kinds.split()) == {
        f"{p}.kubeline.dev"
        for p in ("pipelines", "snapshots", "pipelineruns", "artifactversions", "models",
                  "modelversions", "schedules")
    }


def test_pipelinerun_printer_columns(cluster: Any, crds: Any, namespace: str) -> None:
    _apply(cluster, namespace, _run("run-cols"))
    status = {
        "status": {
            "phase": "running",
            "pipeline": "training-pipeline",
            "snapshot": "snap",
            "progress": "3/5",
            "cachedSteps": 2,
            "duration": "1m12s",
        }
    }
    cluster.kubectl("-n", namespace, "patch", "pipelinerun", "run-cols", "--subresource=status",
                    "--type=merge", "-p", json.dumps(status))
    out = _kubectl_retrying(cluster, "-n", namespace, "get", "plr", "run-cols")
    header, row = out.splitlines()[:2]
    assert header.split() == [
        "NAME", "PIPELINE", "SNAPSHOT", "STATUS", "PROGRESS", "CACHED", "DURATION", "AGE"
    ]
    assert row.split()[:7] == [
        "run-cols", "training-pipeline", "snap", "running", "3/5", "2", "1m12s"
    ]


def test_status_is_a_subresource(cluster: Any, crds: Any, namespace: str) -> None:
    run = _run("run-st")
    _apply(cluster, namespace, run)
    run["status"] = {"phase": "completed"}
    cluster.kubectl("-n", namespace, "replace", "-f", "-", input=yaml.safe_dump(
        {**run, "metadata": _get(cluster, namespace, "plr", "run-st")["metadata"]}))
    assert "status" not in _get(cluster, namespace, "plr", "run-st")
