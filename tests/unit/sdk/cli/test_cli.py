"""The ``kubeline`` CLI with click's CliRunner against recorded API objects (no cluster)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from fake_kube import R1, R2, R3, SNAP, FakeKube, load_objects
from kubeline.cli.main import cli
from kubeline.client import Client
from kubeline.errors import ClusterUnreachableError, PermissionDeniedError
from kubeline.resources import names as n


@pytest.fixture
def kube() -> FakeKube:
    namespace, objects = load_objects()
    return FakeKube(objects, namespace)


def invoke(kube: FakeKube, *args: str) -> Result:
    client = Client(kube=kube)  # type: ignore[arg-type]
    return CliRunner().invoke(cli, list(args), obj={"client": client}, catch_exceptions=False)


def test_help_is_fast_and_imports_no_heavy_module() -> None:
    code = ("import sys; from kubeline.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('kubernetes', 'rich', 'pydantic', 'yaml', 'pandas') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pipeline" in out and "artifact" in out and "dev" in out
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_pipeline_list_table_and_json(kube: FakeKube) -> None:
    result = invoke(kube, "pipeline", "list")
    assert result.exit_code == 0, result.output
    assert "training_pipeline" in result.output and R1[-10:] not in result.output
    data = json.loads(invoke(kube, "pipeline", "list", "-o", "json").output)
    assert data["kind"] == "List"
    assert data["items"][0]["spec"]["name"] == "training_pipeline"


def test_pipeline_runs_list_filters(kube: FakeKube) -> None:
    result = invoke(kube, "pipeline", "runs", "list", "--pipeline", "training_pipeline")
    assert result.exit_code == 0, result.output
    for run in (R1, R2, R3):
        assert run in result.output
    data = yaml.safe_load(invoke(kube, "pipeline", "runs", "list", "--status", "cached",
                                 "-o", "yaml").output)
    assert [i["metadata"]["name"] for i in data["items"]] == [R2]
    assert R1 in invoke(kube, "run", "list").output


def test_run_describe_shows_lineage(kube: FakeKube) -> None:
    result = invoke(kube, "run", "describe", R2)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "cached (from" in out and "svc_trainer" in out
    assert "X_train <- training_data_loader.X_train" in out
    assert "trained_model -> trained_model:1" in out
    assert "3 steps, 3 cached" in out
    data = json.loads(invoke(kube, "run", "describe", R3, "-o", "json").output)
    assert data["status"] == "failed" and data["failedStep"] == "svc_trainer"
    assert data["triggeredBy"] == {"run": R1, "step": "evaluator"}


def test_run_describe_by_prefix_and_missing_run(kube: FakeKube) -> None:
    assert invoke(kube, "run", "describe", R3[:-2]).exit_code == 0
    result = invoke(kube, "run", "describe", "no-such-run")
    assert result.exit_code == 1
    assert "Error: no pipeline run 'no-such-run'" in result.output


def test_run_watch_exit_status_follows_the_outcome(kube: FakeKube) -> None:
    ok = invoke(kube, "run", "watch", R1)
    assert ok.exit_code == 0
    assert ok.output.strip().splitlines()[-1].startswith(f"Run {R1} completed")
    failed = invoke(kube, "run", "watch", R3)
    assert failed.exit_code == 1
    assert "at step svc_trainer" in failed.output


def test_run_logs(kube: FakeKube) -> None:
    pod = kube.store[n.PIPELINE_RUNS][R1]["status"]["steps"][1]["pod"]
    kube.logs[pod] = "Train accuracy: 0.97\n"
    result = invoke(kube, "run", "logs", R1, "svc_trainer")
    assert (result.exit_code, result.output) == (0, "Train accuracy: 0.97\n")
    result = invoke(kube, "run", "logs", R1, "nope")
    assert result.exit_code == 1 and "no step 'nope'" in result.output


def test_run_cancel_and_delete(kube: FakeKube) -> None:
    kube.store[n.PIPELINE_RUNS][R3]["status"]["phase"] = "running"
    assert invoke(kube, "run", "cancel", R3).exit_code == 0
    assert kube.store[n.PIPELINE_RUNS][R3]["spec"]["cancel"] is True
    finished = invoke(kube, "run", "cancel", R1)
    assert finished.exit_code == 1 and "already ended (completed)" in finished.output
    assert invoke(kube, "run", "delete", R1, "--yes").exit_code == 0
    assert R1 not in kube.store[n.PIPELINE_RUNS]


def test_artifact_list_and_versions(kube: FakeKube) -> None:
    result = invoke(kube, "artifact", "list")
    assert result.exit_code == 0
    assert "iris_dataset" in result.output and "trained_model" in result.output
    versions = invoke(kube, "artifact", "versions", "iris_dataset")
    assert "2022" in versions.output and "2023" in versions.output and "1234" in versions.output
    data = json.loads(invoke(kube, "artifact", "versions", "iris_dataset", "-o", "json").output)
    assert [i["spec"]["version"] for i in data["items"]] == ["2023", "2022"]
    missing = invoke(kube, "artifact", "versions", "nope")
    assert missing.exit_code == 1 and "no artifact 'nope'" in missing.output


def test_snapshot_list_and_run(kube: FakeKube, tmp_path: Path) -> None:
    assert "nightly" in invoke(kube, "snapshot", "list").output
    assert "nightly" in invoke(kube, "pipeline", "snapshot", "list").output
    config = tmp_path / "run.yaml"
    config.write_text("steps:\n  svc_trainer:\n    parameters:\n      gamma: 0.5\n")
    result = invoke(kube, "pipeline", "snapshot", "run", "nightly", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "kubeline run watch" in result.output
    assert kube.created[-1]["spec"] == {
        "snapshot": SNAP, "config": {"steps": {"svc_trainer": {"parameters": {"gamma": 0.5}}}}}
    config.write_text("steps:\n  svc_trainer:\n    parameters:\n      C: 1\n")
    bad = invoke(kube, "pipeline", "snapshot", "run", "nightly", "--config", str(config))
    assert bad.exit_code == 1 and "has no parameter 'C'" in bad.output


def test_snapshot_create_imports_the_pipeline_from_cwd(
        kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mypipes.py").write_text(textwrap.dedent("""
        class FakePipeline:
            made = []
            def create_snapshot(self, name=None):
                FakePipeline.made.append(name)
                return {"metadata": {"name": "p-0123456789ab"}, "spec": {"displayName": name}}
        my_pipeline = FakePipeline()
        not_a_pipeline = 3
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = invoke(kube, "pipeline", "snapshot", "create", "mypipes.my_pipeline", "--name", "v1")
    assert result.exit_code == 0, result.output
    assert "Snapshot 'v1' created (p-0123456789ab)" in result.output
    bad = invoke(kube, "pipeline", "snapshot", "create", "mypipes.not_a_pipeline", "--name", "x")
    assert bad.exit_code == 2 and "is not a @pipeline" in bad.output
    missing = invoke(kube, "pipeline", "snapshot", "create", "nomodule.p", "--name", "x")
    assert missing.exit_code == 2 and "cannot import 'nomodule'" in missing.output


@pytest.mark.parametrize("error", [
    ClusterUnreachableError("cannot reach the Kubernetes API server at https://127.0.0.1:1"),
    PermissionDeniedError("permission denied on pipelineruns: forbidden"),
])
def test_cluster_and_permission_errors_exit_non_zero(kube: FakeKube, error: Exception,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(kube, "list", fail)
    result = invoke(kube, "pipeline", "runs", "list")
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {error}"


def test_no_kubeconfig_gives_a_clear_error(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path), "PATH": "/usr/bin"}
    proc = subprocess.run([sys.executable, "-m", "kubeline.cli.main", "pipeline", "list"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "no Kubernetes cluster configured" in proc.stderr
