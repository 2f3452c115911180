"""``Schedule`` at ZenML's import path, the Schedule resource it becomes, the Client's schedule
methods and ``kubeline schedule ...`` (pure: an in-memory API)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sample_steps as s
import yaml
from click.testing import CliRunner
from fake_kube import FakeKube, P, load_objects
from kubeline.cli.main import cli
from kubeline.client import Client
from kubeline.config.schedule import Schedule
from kubeline.errors import ConfigurationError, NotFoundError
from kubeline.resources import names as n
from kubeline.resources.models import ScheduleSpec
from kubeline.submit import schedule_object

pytestmark = pytest.mark.unit
ROOT = Path(s.__file__).parent


# ----------------------------------------------------------------------------- Schedule


def test_zenml_fields_and_defaults() -> None:
    import kubeline

    sched = Schedule(cron_expression="0 3 * * *")
    assert kubeline.Schedule is Schedule
    assert (sched.name, sched.start_time, sched.end_time, sched.interval_second,
            sched.catchup, sched.run_once_start_time) == (None, None, None, None, False, None)
    assert sched.to_spec(snapshot="snap")["catchUp"] == "latest"  # ZenML: only the latest
    assert Schedule(cron_expression="0 3 * * *", catchup=True).to_spec(
        snapshot="x")["catchUp"] == "all"


def test_nothing_to_schedule_is_zenmls_error() -> None:
    with pytest.raises(ValueError, match="Either a cron expression, a start time and interval "
                                         "seconds or a run once start time"):
        Schedule()
    with pytest.raises(ValueError, match="Either a cron expression"):
        Schedule(interval_second=timedelta(minutes=5))  # no start_time: not periodic


@pytest.mark.parametrize("kwargs", [
    {"cron_expression": "0 3 * * *", "start_time": datetime(2026, 1, 1, tzinfo=UTC),
     "interval_second": timedelta(hours=1)},
    {"cron_expression": "0 3 * * *", "run_once_start_time": datetime(2026, 1, 1, tzinfo=UTC)},
])
def test_what_zenml_would_ignore_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"give exactly one.*never ignores"):
        Schedule(**kwargs)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"cron_expression": "61 * * * *"}, "Bad minute"),
    ({"cron_expression": "0 3 * *"}, "has 4 fields"),
    ({"cron_expression": "TZ=Europe/Berlin 0 3 * * *"}, "put the time zone in timeZone"),
    ({"cron_expression": "0 3 * * *", "time_zone": "Mars/Olympus"}, "unknown time zone"),
    ({"cron_expression": "0 3 * * *", "catch_up_limit": 3}, "catch_up_limit bounds"),
    ({"cron_expression": "0 3 * * *", "catchup": True, "catch_up": "none"}, "catchup=True"),
    ({"cron_expression": "0 3 * * *", "start_time": datetime(2026, 2, 1, tzinfo=UTC),
      "end_time": datetime(2026, 1, 1, tzinfo=UTC)}, "end_time must be after"),
    ({"cron_expression": "0 3 * * *", "concurrency_policy": "Sometimes"}, "concurrency_policy"),
])
def test_bad_schedules_are_refused_before_anything_is_created(kwargs: dict[str, object],
                                                               needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        Schedule(**kwargs)


def test_short_intervals_only_with_the_test_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.delenv("KUBELINE_SCHEDULE_TEST_INTERVALS", raising=False)
    with pytest.raises(ValueError, match="shortest interval is 60 s"):
        Schedule(start_time=start, interval_second=timedelta(seconds=5))
    monkeypatch.setenv("KUBELINE_SCHEDULE_TEST_INTERVALS", "true")
    spec = Schedule(start_time=start, interval_second=5).to_spec(snapshot="x")
    assert spec["intervalSeconds"] == 5 and spec["startTime"] == "2026-01-01T00:00:00Z"


def test_naive_times_are_read_in_the_time_zone() -> None:
    sched = Schedule(cron_expression="0 9 * * *", time_zone="Europe/Berlin",
                     start_time=datetime(2026, 7, 1, 9, 0), end_time=datetime(2026, 12, 24))
    spec = sched.to_spec(snapshot="snap")
    assert spec["startTime"] == "2026-07-01T07:00:00Z"  # CEST
    assert spec["endTime"] == "2026-12-23T23:00:00Z"  # CET
    assert sched.utc_start_time == "2026-07-01T07:00:00+00:00"
    aware = Schedule(cron_expression="0 9 * * *",
                     start_time=datetime(2026, 7, 1, 9, tzinfo=timezone(timedelta(hours=-5))))
    assert aware.to_spec(snapshot="x")["startTime"] == "2026-07-01T14:00:00Z"


def test_to_spec_is_a_valid_schedule_resource() -> None:
    once = Schedule(run_once_start_time=datetime(2026, 3, 1, 12, tzinfo=UTC), active=False)
    many = Schedule(cron_expression="0 3 * * *", cron_expressions=["30 15 * * 1-5"],
                    time_zone="America/New_York", concurrency_policy="Forbid",
                    starting_deadline_seconds=600, catch_up="all", catch_up_limit=4,
                    successful_runs_history_limit=5, failed_runs_history_limit=2)
    for sched in (once, many):
        spec = sched.to_spec(snapshot="train-abc", config={"enableCache": False})
        ScheduleSpec.model_validate(spec)
    assert once.to_spec(snapshot="x")["runAt"] == "2026-03-01T12:00:00Z"
    assert once.to_spec(snapshot="x")["suspend"] is True
    spec = many.to_spec(pipeline="train")
    assert spec["cron"] == ["0 3 * * *", "30 15 * * 1-5"] and spec["pipeline"] == "train"
    assert (spec["concurrencyPolicy"], spec["catchUp"], spec["catchUpLimit"],
            spec["startingDeadlineSeconds"]) == ("Forbid", "all", 4, 600)


def test_with_options_keeps_the_schedule() -> None:
    p = s.two_step.with_options(schedule=Schedule(cron_expression="@daily"))
    assert p.options.schedule.cron_expression == "@daily"
    assert s.two_step.with_options(schedule={"cron_expression": "0 1 * * *"}).options \
        .schedule.cron_expression == "0 1 * * *"
    with pytest.raises(ConfigurationError, match="invalid schedule"):
        s.two_step.with_options(schedule={"cron_expression": "bad"})
    with pytest.raises(ConfigurationError, match="must be a Schedule"):
        s.two_step.with_options(schedule="0 3 * * *")


def test_schedule_object_pins_the_snapshot_and_the_run_configuration() -> None:
    p = s.two_step.with_options(steps={"train": {"parameters": {"gamma": 0.7}}})
    compiled = p.compile(source_root=ROOT)
    body = schedule_object(compiled, Schedule(name="Nightly Training",
                                              cron_expression="0 3 * * *"))
    meta = body["metadata"]
    assert meta["name"] == n.dns_name("Nightly Training")
    assert meta["annotations"][n.ANNOTATION_NAME] == "Nightly Training"
    assert meta["labels"][n.LABEL_PIPELINE] == compiled.pipeline_object_name
    assert body["spec"]["snapshot"] == compiled.snapshot_name
    assert body["spec"]["config"]["steps"]["train"]["parameters"]["gamma"] == 0.7
    ScheduleSpec.model_validate(body["spec"])
    unnamed = schedule_object(compiled, Schedule(cron_expression="0 3 * * *"),
                              now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    stamp = f"{compiled.pipeline_object_name}-20260102-030405"
    assert unnamed["metadata"]["name"].startswith(stamp)


# ----------------------------------------------------------------------------- Client


def _schedule(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": n.API_VERSION, "kind": "Schedule",
            "metadata": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                         "resourceVersion": "7",
                         "creationTimestamp": "2026-01-01T00:00:00Z",
                         "labels": {n.LABEL_PIPELINE: P}},
            "spec": {"snapshot": "snap-1", "cron": ["0 3 * * *"], "timeZone": "UTC", **spec},
            "status": {"lastScheduleTime": "2026-01-02T03:00:00Z",
                       "nextScheduleTime": "2026-01-03T03:00:00Z", "runCount": 2,
                       "skippedCount": 1, "missedCount": 3, "active": [],
                       "recentRuns": [{"name": f"{name}-20260102-030000",
                                       "scheduledTime": "2026-01-02T03:00:00Z",
                                       "phase": "completed"}],
                       "recentSkips": [{"time": "2026-01-01T03:00:00Z",
                                        "reason": "ConcurrencyForbidden"}],
                       "conditions": [{"type": "Ready", "status": "True",
                                       "reason": "Scheduled", "message": "next run due"}]}}


def _scheduled_run(schedule: str, when: str) -> dict[str, object]:
    stamp = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    return {"apiVersion": n.API_VERSION, "kind": "PipelineRun",
            "metadata": {"name": n.schedule_run_name(schedule, stamp), "uid": f"r-{stamp}",
                         "creationTimestamp": when,
                         "labels": {n.LABEL_SCHEDULE: schedule},
                         "annotations": {n.ANNOTATION_SCHEDULED_TIME: when}},
            "spec": {"snapshot": "snap-1"}, "status": {"phase": "completed"}}


@pytest.fixture
def kube() -> FakeKube:
    namespace, objects = load_objects()
    objects = [*objects, _schedule("nightly"), _schedule("hourly", cron=["0 * * * *"],
                                                          suspend=True),
               _scheduled_run("nightly", "2026-01-01T03:00:00Z"),
               _scheduled_run("nightly", "2026-01-02T03:00:00Z")]
    return FakeKube(objects, namespace)


def test_client_lists_and_gets_schedules(kube: FakeKube) -> None:
    client = Client(kube=kube)  # type: ignore[arg-type]
    assert {v.name for v in client.list_schedules()} == {"nightly", "hourly"}
    assert [v.name for v in client.list_schedules(active=False)] == ["hourly"]
    assert [v.name for v in client.list_schedules(cron_expression="0 * * * *")] == ["hourly"]
    assert [v.name for v in client.list_schedules(name="contains:night")] == ["nightly"]
    assert client.list_schedules(catchup=True).total == 0
    assert client.list_schedules(pipeline="training_pipeline").total == 2  # by label
    assert client.list_schedules(pipeline_id="training_pipeline").total == 2
    with pytest.raises(ConfigurationError, match="orchestrator_id"):
        client.list_schedules(orchestrator_id="x")
    view = client.get_schedule("nightly")
    assert view.cron_expression == "0 3 * * *" and view.active and not view.catchup
    assert view.next_schedule_time == datetime(2026, 1, 3, 3, tzinfo=UTC)
    assert (view.run_count, view.skipped_count, view.missed_count) == (2, 1, 3)
    assert view.conditions["Ready"]["reason"] == "Scheduled"
    assert [r.scheduled_time for r in view.runs] == [datetime(2026, 1, 2, 3, tzinfo=UTC),
                                                     datetime(2026, 1, 1, 3, tzinfo=UTC)]
    assert client.get_schedule(str(uuid.uuid5(uuid.NAMESPACE_DNS, "hourly"))).name == "hourly"
    assert client.get_schedule("nigh").name == "nightly"  # unique prefix
    with pytest.raises(NotFoundError, match="no schedule 'weekly'"):
        client.get_schedule("weekly")


def test_run_knows_its_schedule(kube: FakeKube) -> None:
    client = Client(kube=kube)  # type: ignore[arg-type]
    run = client.get_pipeline_run(n.schedule_run_name("nightly", datetime(
        2026, 1, 2, 3, tzinfo=UTC).timestamp()))
    assert run.schedule_name == "nightly"
    assert run.schedule is not None and run.schedule.name == "nightly"
    assert run.scheduled_time == datetime(2026, 1, 2, 3, tzinfo=UTC)


def test_update_activate_deactivate_delete(kube: FakeKube) -> None:
    client = Client(kube=kube)  # type: ignore[arg-type]
    view = client.update_schedule("nightly", cron_expression="30 4 * * *",
                                  time_zone="Europe/Berlin", concurrency_policy="Forbid")
    assert view.cron_expressions == ["30 4 * * *"] and view.time_zone == "Europe/Berlin"
    assert kube.store[n.SCHEDULES]["nightly"]["spec"]["concurrencyPolicy"] == "Forbid"
    assert not client.deactivate_schedule("nightly").active
    assert client.activate_schedule("nightly").active
    with pytest.raises(ConfigurationError, match="Bad minute"):
        client.update_schedule("nightly", cron_expression="99 * * * *")
    with pytest.raises(ConfigurationError, match="unknown field"):
        client.update_schedule("nightly", interval=5)
    client.delete_schedule("nightly")
    assert "nightly" not in kube.store[n.SCHEDULES]
    assert len(kube.store[n.PIPELINE_RUNS]) >= 2  # its runs stay


# ----------------------------------------------------------------------------- CLI


def _cli(kube: FakeKube, *args: str) -> str:
    client = Client(kube=kube)  # type: ignore[arg-type]
    result = CliRunner().invoke(cli, list(args), obj={"client": client},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("prefix", [("schedule",), ("pipeline", "schedule")])
def test_cli_list_and_describe(kube: FakeKube, prefix: tuple[str, ...]) -> None:
    table = _cli(kube, *prefix, "list")
    assert "nightly" in table and "0 3 * * *" in table and "2026-01-03T03:00:00Z" in table
    listed = json.loads(_cli(kube, *prefix, "list", "-o", "json"))
    assert {i["metadata"]["name"] for i in listed["items"]} == {"nightly", "hourly"}
    described = _cli(kube, *prefix, "describe", "nightly")
    assert "ConcurrencyForbidden" in described and "nightly-20260102-030000" in described
    assert yaml.safe_load(_cli(kube, *prefix, "describe", "nightly", "-o", "yaml"))[
        "metadata"]["name"] == "nightly"


def test_cli_suspend_resume_update_delete(kube: FakeKube) -> None:
    assert "suspended" in _cli(kube, "schedule", "suspend", "nightly")
    assert kube.store[n.SCHEDULES]["nightly"]["spec"]["suspend"] is True
    data = json.loads(_cli(kube, "pipeline", "schedule", "resume", "nightly", "-o", "json"))
    assert data["spec"]["suspend"] is False
    _cli(kube, "schedule", "deactivate", "nightly")
    _cli(kube, "schedule", "activate", "nightly")
    _cli(kube, "schedule", "update", "nightly", "--cron-expression", "15 2 * * *")
    assert kube.store[n.SCHEDULES]["nightly"]["spec"]["cron"] == ["15 2 * * *"]
    deleted = json.loads(_cli(kube, "schedule", "delete", "nightly", "-y", "-o", "json"))
    assert deleted["deleted"] == "nightly" and "nightly" not in kube.store[n.SCHEDULES]


def test_the_gitops_example_is_a_valid_schedule() -> None:
    example = yaml.safe_load((ROOT.parents[2] / "examples" / "gitops" / "schedule.yaml")
                             .read_text())
    spec = ScheduleSpec.model_validate(example["spec"])
    assert (spec.cron, spec.time_zone, spec.concurrency_policy) == (
        ["0 3 * * *"], "Europe/Berlin", "Forbid")
