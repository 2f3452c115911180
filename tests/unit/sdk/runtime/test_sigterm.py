"""SIGTERM in a real step process (``python -m kubeline.runtime`` against moto S3): the
step stops within seconds, says why in its termination message and saved log, and a step
that already ended exits with its own code instead of waiting for its threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import stopping_steps as steps
from kubeline.runtime.termination import EXIT_TERMINATED, STOP_SECONDS
from moto_s3 import BUCKET, moto_store

pytestmark = pytest.mark.unit
ROOT = Path(steps.__file__).parent


@pytest.fixture(scope="module")
def store():
    with moto_store() as st:
        yield st


def start_step(pipe, store, tmp_path: Path, run: str) -> tuple[subprocess.Popen[str], dict]:
    spec = pipe.compile(source_root=ROOT).spec
    step = spec.steps[0].to_k8s()
    inv = {
        "namespace": "default", "pipeline": spec.pipeline, "pipelineName": spec.pipeline_name,
        "run": run, "runUid": "uid-1", "snapshot": "snap", "attempt": 1, "step": step,
        "parameters": step["parameters"], "inputs": {},
        "outputsUri": store.attempt_uri("default", spec.pipeline, run, step["name"], 1),
    }
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONPATH": os.pathsep.join(sys.path),
        "PYTHONUNBUFFERED": "1", "KUBELINE_INVOCATION": json.dumps(inv),
        "KUBELINE_TERMINATION_LOG": str(tmp_path / "termination-log"),
        "KUBELINE_S3_BUCKET": BUCKET, "KUBELINE_S3_ENDPOINT": store.settings.endpoint,
        "AWS_ACCESS_KEY_ID": "unit", "AWS_SECRET_ACCESS_KEY": "unit",
    }
    proc = subprocess.Popen([sys.executable, "-m", "kubeline.runtime"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, inv


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60.0) -> list[str]:
    """The process's output lines up to the first containing ``text``."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    proc.kill()
    raise AssertionError(f"{text!r} never printed; output:\n{''.join(seen)}")


def terminate(proc: subprocess.Popen[str]) -> tuple[int, float, str]:
    """SIGTERM the process: (exit code, seconds until it exited, the rest of its output)."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rest, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the step process did not exit within 30 s of SIGTERM") from None
    return proc.returncode, time.monotonic() - sent, rest


def test_a_running_step_stops_at_once_and_says_it_was_terminated(store, tmp_path: Path) -> None:
    proc, inv = start_step(steps.waiting, store, tmp_path, "run-term")
    wait_for_line(proc, steps.ENTERED)
    code, took, rest = terminate(proc)
    assert code == EXIT_TERMINATED, rest
    assert took < 3.0, f"took {took:.1f}s"
    msg = json.loads((tmp_path / "termination-log").read_text())
    assert msg["ok"] is False and msg["type"] == "StepTerminated"
    assert "stopped by SIGTERM" in msg["message"]
    assert "stopping_steps.py" in msg["traceback"], msg["traceback"]  # where it stopped
    saved = store.read_bytes(inv["outputsUri"] + "/step.log").decode()
    assert steps.ENTERED in saved and "SIGTERM" in saved and "StepTerminated" in saved
    assert not store.exists(inv["outputsUri"] + "/manifest.json")
    assert "on_failure" not in rest


def test_a_step_that_swallows_the_interruption_is_ended_after_the_stop_deadline(
        store, tmp_path: Path) -> None:
    proc, inv = start_step(steps.stubborn, store, tmp_path, "run-stubborn")
    wait_for_line(proc, steps.ENTERED)
    code, took, rest = terminate(proc)
    assert code == EXIT_TERMINATED, rest
    assert STOP_SECONDS - 0.5 < took < STOP_SECONDS + 3.0, f"took {took:.1f}s"
    assert "caught StepTerminated" in rest
    msg = json.loads((tmp_path / "termination-log").read_text())
    assert msg["ok"] is False and msg["type"] == "StepTerminated"
    assert f"did not stop within {STOP_SECONDS:g}s of SIGTERM" in msg["message"]
    assert not store.exists(inv["outputsUri"] + "/manifest.json")


def test_a_completed_step_waiting_for_its_thread_exits_with_its_own_code(
        store, tmp_path: Path) -> None:
    proc, inv = start_step(steps.threaded, store, tmp_path, "run-thread")
    wait_for_line(proc, "completed; manifest")
    time.sleep(0.5)  # the log is saved; the process now waits for the user's thread
    assert proc.poll() is None, "the step process should wait for its non-daemon thread"
    code, took, rest = terminate(proc)
    assert code == 0, rest
    assert took < 3.0, f"took {took:.1f}s"
    msg = json.loads((tmp_path / "termination-log").read_text())
    assert msg == {"ok": True, "manifest": inv["outputsUri"] + "/manifest.json"}
    assert store.exists(inv["outputsUri"] + "/manifest.json")
