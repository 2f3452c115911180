"""Seed 004's SDK and CLI examples as runnable files (examples/snapshots/sdk_cli): create a
snapshot, run it with a dict, with its modified config template, and from the CLI with a
configuration file; each run uses the values given. (REST and kubectl: test_triggering.)"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "snapshots" / "sdk_cli"


def test_seed_004_sdk_and_cli(step_namespace: str, operator: Any,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("run", None)
    example = importlib.import_module("run")
    first, second = example.create_and_run()
    for run, rate, path in ((first, 0.01, "s3://new-data/"), (second, 0.5, "s3://old-data/")):
        run.wait(timeout=300, show_progress=False)
        assert run.status == "completed", run.message
        assert run.steps["model_trainer"].output.load() == {"data": path, "learning_rate": rate}
    env = {**os.environ, "KUBELINE_NAMESPACE": step_namespace}
    cli = [sys.executable, "-m", "kubeline.cli.main", "pipeline", "snapshot"]
    created = subprocess.run([*cli, "create", "run.my_pipeline", "--name=cli-snapshot"],
                             cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    ran = subprocess.run([*cli, "run", "cli-snapshot", "--config=run_config.yaml", "--wait",
                          "-o", "json"], cwd=EXAMPLE, env=env, capture_output=True, text=True,
                         timeout=600)
    assert ran.returncode == 0, ran.stderr
    from kubeline.client import Client

    latest = Client().list_pipeline_runs(snapshot=Client().get_snapshot("cli-snapshot")
                                         .object_name)[0]
    assert latest.steps["model_trainer"].output.load()["learning_rate"] == 0.2
    sys.modules.pop("run", None)
