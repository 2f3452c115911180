"""`kubeline run describe` says whether a run's triggeredBy is verified."""

from types import SimpleNamespace

from kubeline.cli.run_cmds import trigger_provenance
from kubeline.resources.read import PipelineRunStatusView


def view(status: dict) -> SimpleNamespace:
    return SimpleNamespace(st=PipelineRunStatusView(status))


def test_verified_unverified_and_not_checked_yet() -> None:
    assert trigger_provenance(view({"triggeredBy": {"verified": True, "message": "m"}})) == (
        "verified")
    why = "unverified: step s of run r is claimed, but ..."
    assert trigger_provenance(view({"triggeredBy": {"verified": False, "message": why}})) == why
    assert trigger_provenance(view({"phase": "initialized"})) == "not checked yet"
