"""The main job on the local cluster: seed 000's iris pipeline with the operator in-cluster.

The operator is installed with the Helm chart (running the locally built image),
the pipeline is the seed's code with only its imports changed, and every run
goes through real Pods and the real S3 server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "examples" / "iris"


def _pods(cluster, namespace: str) -> set[str]:
    out = cluster.kubectl("get", "pods", "-n", namespace, "-l", "kubeline.dev/component=step",
                          "-o", "name").stdout
    return set(out.split())


@pytest.fixture
def iris(step_namespace, operator, monkeypatch):
    """The iris example module, importable, with the Client pointed at a fresh namespace."""
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    spec = importlib.util.spec_from_file_location("iris_run", IRIS / "run.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(IRIS))
    spec.loader.exec_module(module)
    return module


def test_seed_script_runs_end_to_end(cluster, step_namespace, operator):
    """The seed's script itself, as a user runs it: `python run.py`."""
    env = {**os.environ, "KUBELINE_NAMESPACE": step_namespace}
    result = subprocess.run([sys.executable, str(IRIS / "run.py")], cwd=IRIS, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = [line for line in result.stdout.splitlines() if line.strip()][-3:]
    assert len(set(ids)) == 1, f"the three ways to get the last run disagree: {ids}"
    predicted = subprocess.run([sys.executable, str(IRIS / "predict.py")], cwd=IRIS, env=env,
                               capture_output=True, text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert "SVC predicted 30 test rows" in predicted.stdout, predicted.stdout


def test_iris_completes_then_fully_cached_then_partly(cluster, step_namespace, iris):
    from kubeline.client import Client

    run = iris.training_pipeline()
    assert run.status == "completed", run.status
    trainer = run.steps["svc_trainer"]
    model = trainer.outputs["trained_model"].load()
    assert type(model).__name__ == "SVC" and hasattr(model, "support_vectors_")
    assert trainer.config.parameters["gamma"] == 0.002
    X_train = run.steps["training_data_loader"].outputs["X_train"]
    assert X_train.run_metadata["storage_size"].value > 0
    assert Client().get_pipeline("training_pipeline").last_run.id == run.id
    pods_after_first = _pods(cluster, step_namespace)
    assert len(pods_after_first) == 2

    again = iris.training_pipeline()
    assert again.status == "cached", again.status
    assert {s.status for s in again.steps.values()} == {"cached"}
    assert _pods(cluster, step_namespace) == pods_after_first, "a fully cached run created Pods"
    cached_model = again.steps["svc_trainer"].outputs["trained_model"]
    assert cached_model.id == trainer.outputs["trained_model"].id

    changed = iris.training_pipeline(gamma=0.01)
    assert changed.status == "completed", changed.status
    assert changed.steps["training_data_loader"].status == "cached"
    assert changed.steps["svc_trainer"].status == "completed"
    assert changed.steps["svc_trainer"].config.parameters["gamma"] == 0.01
    assert len(_pods(cluster, step_namespace)) == 3


def test_failing_step_fails_run_with_its_message(cluster, step_namespace, operator, tmp_path,
                                                  monkeypatch):
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    (tmp_path / "boom.py").write_text(
        "from kubeline import pipeline, step\n\n"
        "@step\n"
        "def explode(n: int = 3) -> int:\n"
        "    raise ValueError(f'bad input: {n} is not allowed')\n\n"
        "@pipeline(enable_cache=False)\n"
        "def boom():\n"
        "    explode()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import boom
    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError) as failed:  # a failed synchronous run raises, as ZenML's
        boom.boom()
    assert "explode" in str(failed.value) and "bad input: 3 is not allowed" in str(failed.value)
    run = failed.value.run
    assert run.status == "failed"
    step = run.steps["explode"]
    assert step.status == "failed"
    status = json.loads(cluster.kubectl("get", "pipelinerun", run.name, "-n", step_namespace,
                                        "-o", "json").stdout)["status"]
    assert status["failedStep"] == "explode"
    assert "ValueError" in status["message"] and "bad input: 3 is not allowed" in status["message"]
