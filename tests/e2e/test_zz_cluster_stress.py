"""The local cluster comes back every time: SIGKILL of everything then ``up``, and ``down``
then ``up``, ten times each, while pipeline runs keep the operator and the node busy.

Marked ``cluster_restart`` (runs after every other test) and ``stress``; bounded in count
(``KUBELINE_STRESS_CYCLES``, 10) and time (the test's timeout). Each ``up``'s duration
and what it waited on go to ``<cluster home>/logs/stress-last.json`` and the test output.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cluster_ops import dev_cluster, kill_everything

pytestmark = [pytest.mark.e2e, pytest.mark.cluster_restart, pytest.mark.stress]

CYCLES = int(os.environ.get("KUBELINE_STRESS_CYCLES", "10"))
UP_LIMIT_S = 120.0

PIPELINES = """
import time

from kubeline import pipeline, step


@step
def work(i: int) -> int:
    time.sleep(1)
    return i


@step
def combine(a: int, b: int) -> int:
    return a + b


@pipeline(enable_cache=False, synchronous=False)
def load_pipe():
    combine(work(1), work(2))


@pipeline(enable_cache=False)
def final_pipe():
    combine(work(3), work(4))
"""


def _load_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = f"stress_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)


class PipelineLoad:
    """Keeps one pipeline run in flight: submits a new one whenever the last has finished
    (or could not be read or created while the cluster was down)."""

    def __init__(self, mod: Any) -> None:
        self.mod = mod
        self.stop = threading.Event()
        self.submitted: list[str] = []
        self.finished: dict[str, str] = {}
        self.errors = 0
        self.thread = threading.Thread(target=self._loop, name="pipeline-load", daemon=True)

    def _loop(self) -> None:
        from kubeline.client import Client

        current: str | None = None
        while not self.stop.is_set():
            try:
                if current is not None:
                    run = Client().get_pipeline_run(current)
                    if run.is_finished:
                        self.finished[current] = run.status
                        current = None
                if current is None:
                    current = self.mod.load_pipe().name
                    self.submitted.append(current)
            except Exception:
                self.errors += 1  # the cluster is down or coming back
            self.stop.wait(1.0)

    def __enter__(self) -> PipelineLoad:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.mark.timeout(900)
def test_up_comes_back_every_time_under_pipeline_load(cluster, step_namespace, operator,
                                                      tmp_path, monkeypatch):
    from kubeline_release import OPERATOR_NAMESPACE, wait_operator_ready

    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    mod = _load_module(tmp_path, monkeypatch)
    dev = dev_cluster()
    ups: list[dict[str, Any]] = []
    t0 = time.monotonic()
    with PipelineLoad(mod) as load:
        for cycle in range(1, CYCLES + 1):
            for mode in ("sigkill", "down"):
                time.sleep(3)  # let the load reach the node (runs submitted, Pods starting)
                if mode == "sigkill":
                    kill_everything(dev)
                else:
                    dev.down()
                start = time.monotonic()
                dev.up(timeout=UP_LIMIT_S)
                took = time.monotonic() - start
                ups.append({"cycle": cycle, "mode": mode, "seconds": round(took, 1),
                            "waits": {k: round(v, 1) for k, v in dev.last_up["waits"].items()},
                            "restarts": dev.last_up["restarts"]})
                print(f"cycle {cycle} {mode}: up {took:.1f}s; restarts "
                      f"{dev.last_up['restarts'] or 'none'}", flush=True)
                assert dev.health_problem() is None
    stress_s = time.monotonic() - t0
    wait_operator_ready(cluster, OPERATOR_NAMESPACE)
    final = mod.final_pipe()
    slowest = max(ups, key=lambda u: u["seconds"])
    report = {
        "cycles": CYCLES, "stress_seconds": round(stress_s, 1), "ups": ups,
        "slowest": slowest, "runs_submitted": len(load.submitted),
        "runs_finished": load.finished, "load_errors": load.errors,
        "final_run": final.status,
    }
    (dev.paths.logs / "stress-last.json").write_text(json.dumps(report, indent=2))
    print(f"stress: {len(ups)} ups in {stress_s:.0f}s; slowest {slowest['seconds']}s "
          f"({slowest['mode']}, cycle {slowest['cycle']}): waited on {slowest['waits']}; "
          f"{len(load.submitted)} runs submitted, {len(load.finished)} finished "
          f"({sorted(set(load.finished.values()))})", flush=True)
    assert final.status == "completed", final.status
    assert len(ups) == 2 * CYCLES
    assert all(u["seconds"] < UP_LIMIT_S for u in ups)
    assert load.submitted, "the load submitted no run"
