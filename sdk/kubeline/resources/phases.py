"""Phases of runs and steps, and the sets every component tests them against.

The CRD enums (``PipelineRunStatus.phase``, ``StepStatus.phase``), the operator's
planner, the Client's views and ``kubeline.enums.ExecutionStatus`` all use these.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

RunPhase = Literal["initialized", "running", "completed", "failed", "cached", "cancelled"]
StepPhase = Literal[
    "pending", "running", "retrying", "completed", "failed", "cached", "cancelled", "skipped"
]

RUN_PHASES: Final[tuple[str, ...]] = get_args(RunPhase)
STEP_PHASES: Final[tuple[str, ...]] = get_args(StepPhase)

#: A run or step that ended well: it ran to completion or was served from the cache.
SUCCESS_PHASES: Final = frozenset({"completed", "cached"})
#: A run that will not change phase any more.
TERMINAL_RUN_PHASES: Final = frozenset({"completed", "failed", "cached", "cancelled"})
#: A step that will not change phase any more (``skipped``: never run because of a failure).
TERMINAL_STEP_PHASES: Final = TERMINAL_RUN_PHASES | {"skipped"}
#: A run that ended without success (a synchronous call raises ``RunFailedError``).
UNSUCCESSFUL_RUN_PHASES: Final = TERMINAL_RUN_PHASES - SUCCESS_PHASES
#: A step that ended without producing its outputs.
UNSUCCESSFUL_STEP_PHASES: Final = TERMINAL_STEP_PHASES - SUCCESS_PHASES


def is_terminal_run(phase: str | None) -> bool:
    """Whether a run in ``phase`` has finished."""
    return phase in TERMINAL_RUN_PHASES


def is_successful(phase: str | None) -> bool:
    """Whether a run or step in ``phase`` ended well (completed or cached)."""
    return phase in SUCCESS_PHASES
