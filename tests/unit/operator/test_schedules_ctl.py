"""The Schedule controller's pure pieces: the run it creates and what it reads from runs."""

from __future__ import annotations

import pytest
from kubeline.resources.models import ScheduleSpec
from kubeline.resources.names import (
    ANNOTATION_SCHEDULED_TIME,
    LABEL_OPERATOR_CLASS,
    LABEL_PIPELINE,
    LABEL_SCHEDULE,
)
from kubeline_operator.schedule_planner import RunToCreate
from kubeline_operator.schedules_ctl import observed_run, run_body
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.timeutil import parse_time

pytestmark = pytest.mark.unit

SCHEDULE = {"metadata": {"name": "nightly", "namespace": "ml", "uid": "u1",
                         "labels": {LABEL_OPERATOR_CLASS: "blue"}}}


def test_run_body_carries_labels_back_to_the_schedule_and_pipeline() -> None:
    spec = ScheduleSpec.model_validate({
        "pipeline": "Train Model", "cron": ["0 3 * * *"],
        "config": {"steps": {"trainer": {"parameters": {"lr": 0.1}}}, "enableCache": False}})
    t = parse_time("2026-01-01T03:00:00Z")
    assert t is not None
    body = run_body(SCHEDULE, spec, RunToCreate("nightly-20260101-030000", t))
    meta = body["metadata"]
    assert meta["name"] == "nightly-20260101-030000" and meta["namespace"] == "ml"
    assert meta["labels"][LABEL_SCHEDULE] == "nightly"
    assert meta["labels"][LABEL_OPERATOR_CLASS] == "blue"  # the same operator runs it
    assert meta["labels"][LABEL_PIPELINE] == "train-model-" + meta["labels"][LABEL_PIPELINE][-8:]
    assert meta["annotations"][ANNOTATION_SCHEDULED_TIME] == "2026-01-01T03:00:00Z"
    assert body["spec"] == {"pipeline": "Train Model", "config": {
        "enableCache": False, "steps": {"trainer": {"parameters": {"lr": 0.1}}}}}
    assert "ownerReferences" not in meta  # deleting a Schedule keeps its runs (lineage)


def test_run_body_of_a_snapshot_schedule() -> None:
    spec = ScheduleSpec.model_validate({"snapshot": "train-abc", "cron": ["@daily"]})
    body = run_body({"metadata": {"name": "s", "namespace": "ml"}}, spec, RunToCreate("s-x", 0))
    assert body["spec"]["snapshot"] == "train-abc" and "pipeline" not in body["spec"]
    assert LABEL_OPERATOR_CLASS not in body["metadata"]["labels"]


def test_observed_run_reads_the_due_time_phase_and_cancel() -> None:
    body = {"metadata": {"name": "nightly-20260101-030000", "namespace": "ml",
                         "labels": {LABEL_SCHEDULE: "nightly"},
                         "annotations": {ANNOTATION_SCHEDULED_TIME: "2026-01-01T03:00:00Z"}},
            "spec": {"cancel": True}, "status": {"phase": "running"}}
    found = observed_run(body)
    assert found is not None
    key, run = found
    assert key == ("ml", "nightly")
    assert run.scheduled == parse_time("2026-01-01T03:00:00Z")
    assert run.phase == "running" and run.cancel_requested and run.active


def test_runs_without_a_schedule_label_or_time_are_ignored() -> None:
    assert observed_run({"metadata": {"name": "r", "labels": {}}}) is None
    assert observed_run({"metadata": {"name": "r", "labels": {LABEL_SCHEDULE: "s"}}}) is None


def test_test_intervals_flag_is_explicit() -> None:
    assert OperatorSettings.from_env({}).schedule_test_intervals is False
    assert OperatorSettings.from_env(
        {"KUBELINE_SCHEDULE_TEST_INTERVALS": "true"}).schedule_test_intervals is True
    with pytest.raises(ValueError, match="KUBELINE_SCHEDULE_TEST_INTERVALS"):
        OperatorSettings.from_env({"KUBELINE_SCHEDULE_TEST_INTERVALS": "maybe"})


def test_skip_reasons_in_the_crd_are_the_contracts() -> None:
    from typing import get_args

    from kubeline.resources.models import SkipReason
    from kubeline.resources.reasons import ScheduleReason

    assert set(get_args(SkipReason)) <= {r.value for r in ScheduleReason}
    assert {r.value for r in ScheduleReason} - set(get_args(SkipReason)) == {
        "Scheduled", "Finished", "InvalidSchedule"}  # Ready reasons, never a skip


def test_peering_gate_follows_kopfs_rule() -> None:
    from datetime import UTC, datetime

    from kubeline_operator.peering_gate import paused_by_peers

    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    fresh, stale = "2026-01-01T11:59:50+00:00", "2026-01-01T11:50:00+00:00"

    def peer(priority: int, seen: str) -> dict[str, object]:
        return {"priority": priority, "lifetime": 60, "lastseen": seen}

    me = "pod-a@1"
    assert not paused_by_peers({}, me, 0, now)  # alone (or no peering object)
    assert not paused_by_peers({me: peer(0, fresh)}, me, 0, now)  # only itself
    assert not paused_by_peers({"pod-b@1": peer(5, fresh)}, me, 10, now)  # lower peer
    assert paused_by_peers({"pod-b@1": peer(20, fresh)}, me, 10, now)  # higher peer alive
    assert paused_by_peers({"pod-b@1": peer(10, fresh)}, me, 10, now)  # kopf pauses both
    assert not paused_by_peers({"pod-b@1": peer(20, stale)}, me, 10, now)  # dead peer
    assert not paused_by_peers({"pod-b@1": {"lastseen": "garbage"}}, me, 0, now)
