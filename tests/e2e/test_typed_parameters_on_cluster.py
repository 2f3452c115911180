"""Typed parameters on the cluster: a run configuration giving ``size: "three"`` for
``size: int`` (or no value for a required parameter) is refused before any Pod, through the
SDK, the CLI (both before creating the run) and kubectl (the operator fails the run with
reason InvalidRunConfiguration and creates no Pod), each naming step, parameter, type and
value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PIPELINE = '''
from kubeline import pipeline, step


@step
def resize(size: int) -> int:
    return size * 2


@pipeline(enable_cache=False)
def typed_pipeline():
    resize()
'''


def test_a_wrong_type_or_a_missing_value_creates_no_pod(cluster: Any, step_namespace: str,
                                                        operator: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    (tmp_path / "typed.py").write_text(PIPELINE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("typed", None)
    import typed
    from kubeline.client import Client
    from kubeline.errors import InvalidRunConfiguration

    snapshot = typed.typed_pipeline.create_snapshot(name="typed")
    client = Client()
    bad = {"steps": {"resize": {"parameters": {"size": "three"}}}}
    message = ("step 'resize': parameter 'size' must be of type int (JSON integer), got str "
               "'three'")
    with pytest.raises(InvalidRunConfiguration) as refused:  # the SDK, before creating a run
        client.trigger_pipeline(snapshot_name_or_id=snapshot.id, run_configuration=bad)
    assert message in str(refused.value)
    with pytest.raises(InvalidRunConfiguration, match="needs parameter 'size'"):
        client.trigger_pipeline(snapshot_name_or_id=snapshot.id)
    # The CLI, the same rule.
    config = tmp_path / "bad.yaml"
    config.write_text("steps:\n  resize:\n    parameters:\n      size: three\n")
    cli = subprocess.run(
        [sys.executable, "-m", "kubeline.cli.main", "pipeline", "snapshot", "run", "typed",
         "--config", str(config)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "KUBELINE_NAMESPACE": step_namespace})
    assert cli.returncode != 0 and message in cli.stdout + cli.stderr, cli.stdout + cli.stderr
    assert client.list_pipeline_runs(snapshot=snapshot.object_name).total == 0

    # kubectl: the operator refuses it before any Pod.
    run = {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
           "metadata": {"name": "typed-three", "namespace": step_namespace},
           "spec": {"snapshot": snapshot.object_name, "config": bad}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(run))
    deadline = time.monotonic() + 120
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = json.loads(cluster.kubectl("get", "pipelinerun", "typed-three", "-n",
                                            step_namespace, "-o", "json").stdout).get(
            "status") or {}
        if status.get("phase") in ("failed", "completed"):
            break
        time.sleep(1)
    assert status.get("phase") == "failed" and status.get("reason") == "InvalidRunConfiguration"
    assert message in status.get("message", ""), status
    pods = cluster.kubectl("get", "pods", "-n", step_namespace, "-l",
                           "kubeline.dev/run=typed-three", "-o", "name").stdout
    assert pods.strip() == ""

    ok = client.trigger_pipeline(snapshot_name_or_id=snapshot.id, synchronous=True,
                                 run_configuration={"steps": {"resize": {"parameters": {
                                     "size": 3}}}})
    assert ok.status == "completed" and ok.steps["resize"].output.load() == 6
    sys.modules.pop("typed", None)
