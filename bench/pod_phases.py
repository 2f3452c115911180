"""Per-step phases of a real-Pod run from the timestamps its components record (pure).

Each step attempt yields a :class:`StepMarks`: when the Pod was created and seen
Succeeded (the bench's Pod watch), the runtime's marks (the outputs manifest's
``timings``: process start, runtime entered, user module imported, function entered and
returned, outputs written), when its outputs-committed Event was seen, when the
container's process exited (containerd's task exit
event) and when the Pod was first seen with its container terminated, when the operator
observed the end (the step's precise ``status.steps[].endTime``) and when the next step's
Pod was created (or, for the last step, when the pipeline call returned). All are epoch
seconds of one clock: the node's.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

#: (label, start mark, end mark), in the order a step goes through them.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("Pod created -> container started", "pod_created", "process_started"),
    ("container started -> runtime entered", "process_started", "runtime_entered"),
    ("runtime entered -> user function entered", "runtime_entered", "function_entered"),
    ("user function entered -> outputs written", "function_entered", "outputs_written"),
    ("outputs written -> Pod Succeeded", "outputs_written", "pod_succeeded"),
    ("  outputs written -> container exited", "outputs_written", "container_exited"),
    ("  container exited -> exit seen in the API", "container_exited", "terminated_seen"),
    ("  exit seen in the API -> Pod Succeeded", "terminated_seen", "pod_succeeded"),
    ("outputs written -> commit Event seen", "outputs_written", "commit_seen"),
    ("commit Event seen -> next Pod created", "commit_seen", "next"),
    ("outputs written -> next Pod created", "outputs_written", "next"),
    ("Pod Succeeded -> operator observed", "pod_succeeded", "operator_observed"),
    ("operator observed -> next Pod created", "operator_observed", "next"),
    ("Pod Succeeded -> next Pod created (both)", "pod_succeeded", "next"),
    ("exit seen in the API -> next Pod created", "terminated_seen", "next"),
)
#: Parts inside the phases above that are the user's, not Kubeline's.
USER_PARTS: tuple[tuple[str, str, str], ...] = (
    ("  of which the user's imports", "code_ready", "step_imported"),
    ("  of which the user's function", "function_entered", "function_returned"),
)


@dataclass
class StepMarks:
    """One step attempt's timestamps (epoch seconds; None when not recorded)."""

    step: str
    pod_created: float | None = None
    process_started: float | None = None
    runtime_entered: float | None = None
    code_ready: float | None = None
    step_imported: float | None = None
    function_entered: float | None = None
    function_returned: float | None = None
    outputs_written: float | None = None
    container_exited: float | None = None  # containerd's task exit event
    terminated_seen: float | None = None  # the Pod first seen with its container terminated
    pod_succeeded: float | None = None
    commit_seen: float | None = None  # the step's outputs-committed Event first seen
    operator_observed: float | None = None
    next: float | None = None  # next Pod created; for the last step: the call returned

    def span(self, start: str, end: str) -> float | None:
        a, b = getattr(self, start), getattr(self, end)
        return None if a is None or b is None else b - a


def step_phases(marks: StepMarks) -> dict[str, float]:
    """Duration of each phase (and user part) of one step; phases missing a mark are left out."""
    out: dict[str, float] = {}
    for label, start, end in PHASES + USER_PARTS:
        value = marks.span(start, end)
        if value is not None:
            out[label] = value
    return out


def kubeline_overhead(marks: StepMarks) -> float | None:
    """Pod created -> next Pod created, less container start, the user's imports and the
    user's function: what Kubeline itself adds to a step (interpreter start counted)."""
    total = marks.span("pod_created", "next")
    parts = [marks.span("pod_created", "process_started"),
             marks.span("code_ready", "step_imported"),
             marks.span("function_entered", "function_returned")]
    if total is None or any(p is None for p in parts):
        return None
    return total - sum(p for p in parts if p is not None)


def link_steps(steps: list[StepMarks], returned: float | None) -> list[StepMarks]:
    """Fill each step's ``next`` for a chain in order: the following step's Pod creation, and
    the call's return for the last one."""
    for here, following in itertools.pairwise(steps):
        here.next = following.pod_created
    if steps:
        steps[-1].next = returned
    return steps


def median_table(runs: list[list[StepMarks]]) -> dict[str, float]:
    """Median over all steps of all runs of each phase, plus ``Kubeline overhead``."""
    values: dict[str, list[float]] = {}
    for run in runs:
        for marks in run:
            for label, value in step_phases(marks).items():
                values.setdefault(label, []).append(value)
            over = kubeline_overhead(marks)
            if over is not None:
                values.setdefault("Kubeline overhead per step", []).append(over)
    return {label: statistics.median(v) for label, v in values.items()}
