"""Seeds 001 and 003 (legacy API) as behaviours of the current API: examples/caching/run.py.

Seed 001's three runs (all run; loader cached and trainer rerun; all rerun with caching off)
and seed 003's rerun (all cached) and trainer swap (data cached, trainer and evaluator
rerun, the swapped run reusing the very same data artifacts).
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

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "caching"


@pytest.fixture
def seeds(step_namespace: str, operator: Any,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("run", None)
    yield importlib.import_module("run")
    sys.modules.pop("run", None)


def _phases(run: Any) -> dict[str, str]:
    return {name: step.status for name, step in run.steps.items()}


def test_seed_001_three_runs_and_seed_003_trainer_swap(seeds: ModuleType) -> None:
    first, second, third = seeds.seed_001_runs()
    assert _phases(first) == {"digits_data_loader": "completed", "svc_trainer": "completed"}
    assert _phases(second) == {"digits_data_loader": "cached", "svc_trainer": "completed"}
    assert _phases(third) == {"digits_data_loader": "completed", "svc_trainer": "completed"}
    assert second.status == "completed" and third.status == "completed"
    loader = "digits_data_loader"
    assert second.steps[loader].outputs["X_train"].id == first.steps[loader].outputs["X_train"].id
    assert third.steps[loader].outputs["X_train"].id != first.steps[loader].outputs["X_train"].id
    # What the lineage visualizer colours: each step node by its status, and the artifacts.
    from kubeline.ui.payloads import run_dag

    dag = run_dag(second, second.snapshot.spec)
    assert {s["id"]: s["phase"] for s in dag["steps"]} == _phases(second)
    assert {a["output"] for a in dag["artifacts"]} >= {"X_train", "y_train", "output"}

    svc, again, tree = seeds.seed_003_runs()
    assert set(_phases(svc).values()) == {"completed"}
    assert again.status == "cached" and set(_phases(again).values()) == {"cached"}
    assert _phases(tree) == {"importer": "cached", "tree_trainer": "completed",
                             "evaluator": "completed"}
    assert tree.pipeline.name == svc.pipeline.name == "digits_pipeline"
    for output in ("X_train", "X_test", "y_train", "y_test"):
        assert tree.steps["importer"].outputs[output].id == svc.steps["importer"].outputs[output].id
    accuracy = tree.steps["evaluator"].output.load()
    assert 0.5 < accuracy <= 1.0
