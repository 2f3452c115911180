"""Seed 000's inspection snippets (examples/iris/inspect_runs.py) on the local cluster: every
snippet runs against a real run and gives what the seed says it gives."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris"


def test_every_inspection_snippet_of_seed_000(step_namespace: str, operator: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(IRIS))
    for name in ("run", "inspect_snippets"):
        sys.modules.pop(name, None)
    run_module = importlib.import_module("run")
    first = run_module.training_pipeline()  # the seed's "first" pipeline run
    spec = importlib.util.spec_from_file_location("inspect_snippets", IRIS / "inspect_runs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen = module.inspect()
    assert seen["pipeline"] == "training_pipeline"
    assert "training_pipeline" in seen["pipelines"]
    assert seen["runs"][0] == first.name
    assert seen["status"] == "cached"  # the second run of unchanged code and data
    assert seen["refreshed"] == seen["by_name"]
    assert seen["gamma"] == 0.002 and seen["settings"]["image"]
    assert seen["orchestrator_url"].endswith(f"/namespaces/{step_namespace}/pipelineruns/"
                                             f"{seen['run']}")
    assert seen["model"] == "SVC" and seen["loader_rows"] == 120
    assert seen["versions"] == ["2022"] and seen["artifact_id"] == seen["saved_id"]
    assert seen["loaded_rows"] == 120 and seen["storage_size"] > 0
    assert seen["visualized"], "visualize() showed nothing"
    for name in ("run", "inspect_snippets"):
        sys.modules.pop(name, None)
