"""One home for the phase sets: the enum users see, the Client and the UI use the
contract's sets (kubeline.resources.phases), so a new phase cannot be missed in one place."""

from __future__ import annotations

import pytest
from kubeline.client import _base
from kubeline.enums import NEVER_REPORTED, ExecutionStatus
from kubeline.resources import phases
from kubeline.ui import payloads

pytestmark = pytest.mark.unit


def test_execution_status_names_every_phase_and_only_those() -> None:
    stored = {s.value for s in ExecutionStatus if s not in NEVER_REPORTED}
    assert stored == set(phases.RUN_PHASES) | set(phases.STEP_PHASES)


@pytest.mark.parametrize("status", sorted(set(ExecutionStatus) - NEVER_REPORTED))
def test_execution_status_answers_from_the_contract_sets(status: ExecutionStatus) -> None:
    assert status.is_finished is (status.value in phases.TERMINAL_STEP_PHASES)
    assert status.is_successful is (status.value in phases.SUCCESS_PHASES)
    assert status.is_failed is (status.value == "failed")


def test_the_client_and_the_ui_use_the_contract_sets() -> None:
    assert _base.TERMINAL_PHASES is phases.TERMINAL_RUN_PHASES
    assert set(payloads.STEP_PHASES) == set(phases.STEP_PHASES)  # the UI's legend order
    assert {"failed", "cancelled"} == phases.UNSUCCESSFUL_RUN_PHASES
    assert {"failed", "cancelled", "skipped"} == phases.UNSUCCESSFUL_STEP_PHASES
