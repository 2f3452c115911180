"""A script whose file name is no module name (``01_train.py``) runs as ZenML runs it: the
step Pod loads it by its path in the code archive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = '''
from kubeline import pipeline, step


@step
def train(x: int = 21) -> int:
    return x * 2


@pipeline(enable_cache=False)
def numbered_pipeline():
    train()


if __name__ == "__main__":
    run = numbered_pipeline()
    print("answer", run.steps["train"].output.load(), run.steps["train"].spec["entrypoint"])
'''


def test_a_numbered_script_runs(step_namespace: str, operator: Any, tmp_path: Path) -> None:
    (tmp_path / ".kubeline").write_text("")
    script = tmp_path / "01_train.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600,
                            env={**os.environ, "KUBELINE_NAMESPACE": step_namespace})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "answer 42 01_train.py:train" in result.stdout, result.stdout[-2000:]
