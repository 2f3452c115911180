"""The real-Pod bench's phase arithmetic (bench/pod_phases.py), on made-up timestamps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from pod_phases import (
    StepMarks,
    kubeline_overhead,
    link_steps,
    median_table,
    step_phases,
)


def marks(step: str, t0: float) -> StepMarks:
    return StepMarks(step=step, pod_created=t0, process_started=t0 + 1.0,
                     runtime_entered=t0 + 1.1, code_ready=t0 + 1.3, step_imported=t0 + 2.3,
                     function_entered=t0 + 2.4, function_returned=t0 + 2.9,
                     outputs_written=t0 + 3.0, pod_succeeded=t0 + 4.0,
                     operator_observed=t0 + 4.25)


def test_phases_of_a_chain_link_each_step_to_the_next_pod_and_the_last_to_the_return() -> None:
    steps = link_steps([marks("a", 100.0), marks("b", 104.5)], returned=109.0)
    assert steps[0].next == 104.5 and steps[1].next == 109.0
    phases = step_phases(steps[0])
    assert phases["Pod created -> container started"] == pytest.approx(1.0)
    assert phases["container started -> runtime entered"] == pytest.approx(0.1)
    assert phases["runtime entered -> user function entered"] == pytest.approx(1.3)
    assert phases["user function entered -> outputs written"] == pytest.approx(0.6)
    assert phases["outputs written -> Pod Succeeded"] == pytest.approx(1.0)
    assert phases["Pod Succeeded -> operator observed"] == pytest.approx(0.25)
    assert phases["operator observed -> next Pod created"] == pytest.approx(0.25)
    assert phases["  of which the user's imports"] == pytest.approx(1.0)
    assert phases["  of which the user's function"] == pytest.approx(0.5)
    # 4.5 s from Pod to next Pod, less 1.0 container start, 1.0 imports, 0.5 function
    assert kubeline_overhead(steps[0]) == pytest.approx(2.0)
    assert kubeline_overhead(steps[1]) == pytest.approx(4.5 - 2.5)


def test_missing_marks_leave_their_phases_out_and_no_overhead() -> None:
    partial = StepMarks(step="x", pod_created=1.0, pod_succeeded=3.0, operator_observed=3.5)
    phases = step_phases(partial)
    assert phases == {"Pod Succeeded -> operator observed": pytest.approx(0.5)}
    assert kubeline_overhead(partial) is None


def test_median_table_takes_the_median_over_every_step_of_every_run() -> None:
    fast = link_steps([marks("a", 0.0)], returned=4.5)
    slow = link_steps([marks("a", 0.0)], returned=6.5)
    slower = link_steps([marks("a", 0.0)], returned=8.5)
    table = median_table([fast, slow, slower])
    assert table["operator observed -> next Pod created"] == pytest.approx(2.25)
    assert table["Kubeline overhead per step"] == pytest.approx(4.0)
    assert table["Pod created -> container started"] == pytest.approx(1.0)
