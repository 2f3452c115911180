"""Table tests of the pure schedule planner with a fake clock (no cluster, no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from kubeline.resources.models import ScheduleSpec, ScheduleStatus
from kubeline.resources.names import schedule_run_name
from kubeline_operator.schedule_planner import (
    ObservedRun,
    SchedulePlan,
    ScheduleState,
    plan_schedule,
)
from kubeline_operator.timeutil import parse_time, to_rfc3339

pytestmark = pytest.mark.unit
NAME = "nightly"


def at(text: str, tz: str = "UTC", fold: int = 0) -> float:
    """Epoch seconds of a wall time 'YYYY-mm-dd HH:MM[:SS]' in ``tz``."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(tz), fold=fold).timestamp()


def spec(**kw: object) -> ScheduleSpec:
    kw.setdefault("pipeline", "train")
    if not any(k in kw for k in ("cron", "interval_seconds", "run_at")):
        kw["cron"] = ["0 3 * * *"]
    return ScheduleSpec.model_validate(kw)


def plan(sp: ScheduleSpec, now: float, status: ScheduleStatus | None = None,
         runs: tuple[ObservedRun, ...] = (), created: float | None = None,
         generation: int = 1, allow_short: bool = False) -> SchedulePlan:
    return plan_schedule(ScheduleState(
        name=NAME, spec=sp, status=status or ScheduleStatus(), now=now,
        created=created if created is not None else at("2026-01-01 00:00"),
        generation=generation, runs=runs, allow_short_intervals=allow_short))


def times(p: SchedulePlan) -> list[str]:
    return [to_rfc3339(c.scheduled) for c in p.create]


def step(sp: ScheduleSpec, p: SchedulePlan, now: float, phase: str = "running",
         runs: tuple[ObservedRun, ...] = (), generation: int = 1) -> SchedulePlan:
    """The next plan after executing ``p``: its runs exist now (in ``phase``)."""
    made = tuple(ObservedRun(c.name, c.scheduled, phase) for c in p.create)
    return plan(sp, now, p.status, runs + made, generation=generation)


def condition(p: SchedulePlan, type_: str) -> tuple[str, str, str]:
    c = next(c for c in p.status.conditions if c.type == type_)
    return c.status, c.reason, c.message


# ----------------------------------------------------------------------------- basics


def test_nothing_due_before_the_first_time() -> None:
    p = plan(spec(), at("2026-01-01 02:00"))
    assert p.create == [] and p.skipped == []
    assert p.status.next_schedule_time == "2026-01-01T03:00:00Z"
    assert p.wake_at == at("2026-01-01 03:00")
    assert condition(p, "Ready")[:2] == ("True", "Scheduled")


def test_due_time_creates_one_run_with_a_deterministic_name() -> None:
    p = plan(spec(), at("2026-01-01 03:00:01"))
    assert p.create[0].name == "nightly-20260101-030000"
    assert p.create[0].name == schedule_run_name(NAME, at("2026-01-01 03:00"))
    assert p.status.last_schedule_time == "2026-01-01T03:00:00Z"
    assert p.status.last_evaluated_time == "2026-01-01T03:00:00Z"
    assert p.status.active == ["nightly-20260101-030000"] and p.status.active_count == 1
    assert p.status.next_schedule_time == "2026-01-02T03:00:00Z"
    assert p.status.run_count == 1


def test_replanning_never_creates_a_second_run_for_the_same_time() -> None:
    sp = spec()
    p1 = plan(sp, at("2026-01-01 03:00:01"))
    p2 = step(sp, p1, at("2026-01-01 03:00:05"))
    assert p2.create == [] and p2.status.run_count == 1


def test_run_created_but_status_lost_is_adopted_not_duplicated() -> None:
    # The operator created the run, then died before writing status: the stored status
    # still has the old cursor; the run exists (seen through its schedule label).
    sp = spec(starting_deadline_seconds=60)
    existing = (ObservedRun("nightly-20260101-030000", at("2026-01-01 03:00")),)
    p = plan(sp, at("2026-01-01 03:20"), runs=existing)
    assert p.create == [] and p.skipped == []  # not missed either: its run exists
    assert p.status.last_schedule_time == "2026-01-01T03:00:00Z"
    assert p.status.run_count == 1  # counted once, by the pass that records it


def test_two_cron_expressions_matching_the_same_instant_give_one_run() -> None:
    p = plan(spec(cron=["0 3 * * *", "0 */3 * * *"]), at("2026-01-01 03:00:01"))
    assert times(p) == ["2026-01-01T03:00:00Z"]


def test_several_expressions_each_fire() -> None:
    sp = spec(cron=["0 3 * * *", "30 15 * * 1-5"])
    p = plan(sp, at("2026-01-01 02:00"))
    assert p.status.next_schedule_time == "2026-01-01T03:00:00Z"
    p = plan(sp, at("2026-01-01 15:30:02"), p.status)  # 2026-01-01 is a Thursday
    assert times(p) == ["2026-01-01T15:30:00Z"]  # 03:00 missed: catchUp latest
    assert [r for _, r in p.skipped] == ["CatchUpLatest"]


def test_created_after_a_due_time_is_not_retroactive() -> None:
    p = plan(spec(), at("2026-01-01 03:30"), created=at("2026-01-01 03:10"))
    assert p.create == [] and p.skipped == []
    assert p.status.next_schedule_time == "2026-01-02T03:00:00Z"


# ----------------------------------------------------------------------------- DST, leap days


def test_dst_gap_runs_once_right_after_the_gap() -> None:
    # Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    tz = "Europe/Berlin"
    sp = spec(cron=["30 2 * * *"], time_zone=tz)
    p = plan(sp, at("2026-03-29 01:00", tz), created=at("2026-03-28 12:00", tz))
    assert p.status.next_schedule_time == "2026-03-29T01:00:00Z"  # 03:00 CEST
    p = plan(sp, at("2026-03-29 03:00:01", tz), p.status)
    assert times(p) == ["2026-03-29T01:00:00Z"]
    p = step(sp, p, at("2026-03-29 03:40", tz))
    assert p.create == []
    assert p.status.next_schedule_time == "2026-03-30T00:30:00Z"  # 02:30 CEST next day


def test_dst_repeat_runs_a_fixed_time_once() -> None:
    # Europe/Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    tz = "Europe/Berlin"
    sp = spec(cron=["30 2 * * *"], time_zone=tz)
    p = plan(sp, at("2026-10-25 02:31", tz, fold=0), created=at("2026-10-24 12:00", tz))
    assert times(p) == ["2026-10-25T00:30:00Z"]  # the first 02:30 (CEST)
    p = step(sp, p, at("2026-10-25 02:31", tz, fold=1))  # the second 02:30 (CET) passed
    assert p.create == [] and p.skipped == []
    assert p.status.next_schedule_time == "2026-10-26T01:30:00Z"


def test_dst_repeat_wildcard_hour_fires_at_every_real_instant() -> None:
    tz = "Europe/Berlin"
    sp = spec(cron=["*/30 * * * *"], time_zone=tz, catch_up="all")
    p = plan(sp, at("2026-10-25 03:00:01", tz), created=at("2026-10-25 01:50", tz))
    # 02:00 and 02:30 CEST, 02:00 and 02:30 CET, 03:00 CET: 30 real minutes apart each.
    assert times(p) == ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
                        "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z",
                        "2026-10-25T02:00:00Z"]
    assert len({c.name for c in p.create}) == 5


def test_dst_gap_new_york() -> None:
    tz = "America/New_York"  # 2026-03-08: 02:00 EST jumps to 03:00 EDT
    sp = spec(cron=["15 2 * * *"], time_zone=tz)
    p = plan(sp, at("2026-03-08 01:00", tz), created=at("2026-03-07 12:00", tz))
    assert p.status.next_schedule_time == "2026-03-08T07:00:00Z"  # 03:00 EDT


def test_time_zone_shifts_the_utc_time() -> None:
    sp = spec(cron=["0 9 * * *"], time_zone="Asia/Tokyo")
    p = plan(sp, at("2026-01-01 00:00:30"), created=at("2025-12-31 00:00"))
    assert times(p) == ["2026-01-01T00:00:00Z"]  # 09:00 JST


def test_leap_day_schedule_waits_for_the_next_leap_year() -> None:
    sp = spec(cron=["0 12 29 2 *"])
    p = plan(sp, at("2026-03-01 00:00"), created=at("2026-02-01 00:00"))
    assert p.status.next_schedule_time == "2028-02-29T12:00:00Z"
    p = plan(sp, at("2028-02-29 12:00:02"), p.status)
    assert times(p) == ["2028-02-29T12:00:00Z"]


def test_month_end_on_a_leap_year() -> None:
    sp = spec(cron=["0 0 L * *"])  # the last day of each month
    p = plan(sp, at("2028-02-10 00:00"), created=at("2028-02-01 00:00"))
    assert p.status.next_schedule_time == "2028-02-29T00:00:00Z"


# ----------------------------------------------------------------------------- downtime


OUTAGE_START = "2026-01-01 10:30"
OUTAGE_END = "2026-01-04 10:30"  # 72 hourly due times passed meanwhile


def _after_outage(**kw: object) -> SchedulePlan:
    sp = spec(cron=["0 * * * *"], **kw)
    before = plan(sp, at(OUTAGE_START), created=at("2026-01-01 10:00"))
    return plan(sp, at(OUTAGE_END) + 5, before.status)


def test_three_day_outage_catch_up_latest_runs_the_newest_and_counts_the_rest() -> None:
    p = _after_outage()
    assert times(p) == ["2026-01-04T10:00:00Z"]
    assert p.status.missed_count == 71 and p.status.skipped_count == 0
    status, reason, message = condition(p, "Skipped")
    assert (status, reason) == ("True", "CatchUpLatest")
    assert "71 due time(s) got no run" in message and "71 missed" in message
    assert len(p.status.recent_skips) == 20  # bounded history, newest first
    assert p.status.recent_skips[0].time > p.status.recent_skips[-1].time


def test_three_day_outage_catch_up_all_runs_up_to_the_limit_oldest_first() -> None:
    p = _after_outage(catch_up="all", catch_up_limit=5)
    assert times(p) == [f"2026-01-04T{h:02d}:00:00Z" for h in range(6, 11)]
    assert p.status.missed_count == 67
    assert condition(p, "Skipped")[1] == "CatchUpLimit"


def test_three_day_outage_catch_up_none_runs_nothing() -> None:
    p = _after_outage(catch_up="none")
    assert p.create == []
    assert p.status.missed_count == 72
    assert condition(p, "Skipped")[1] == "CatchUpNone"


def test_three_day_outage_catch_up_all_within_the_starting_deadline() -> None:
    p = _after_outage(catch_up="all", starting_deadline_seconds=2 * 3600)
    # 10:30:05 now: 09:00 and 10:00 are within 2 h, 08:00 is 2 h 30 m late.
    assert times(p) == ["2026-01-04T09:00:00Z", "2026-01-04T10:00:00Z"]
    assert p.status.missed_count == 70
    reasons = {r for _, r in p.skipped}
    assert reasons == {"CatchUpLimit", "StartingDeadlineExceeded"}


def test_a_minutely_schedule_down_three_days_is_counted_not_held() -> None:
    sp = spec(cron=["* * * * *"])
    before = plan(sp, at(OUTAGE_START) + 1, created=at(OUTAGE_START) - 30)
    assert times(before) == ["2026-01-01T10:30:00Z"] and before.status.missed_count == 0
    p = plan(sp, at(OUTAGE_END) + 1, before.status)
    assert times(p) == ["2026-01-04T10:30:00Z"]
    assert p.status.missed_count == 3 * 24 * 60 - 1


def test_late_beyond_the_starting_deadline_is_missed_not_run() -> None:
    sp = spec(starting_deadline_seconds=300)
    p = plan(sp, at("2026-01-01 03:10"))
    assert p.create == []
    assert [r for _, r in p.skipped] == ["StartingDeadlineExceeded"]
    assert "startingDeadlineSeconds (300 s)" in condition(p, "Skipped")[2]
    assert p.status.last_evaluated_time == "2026-01-01T03:00:00Z"  # decided, not pending


def test_catch_up_none_still_runs_a_time_noticed_on_time() -> None:
    p = plan(spec(catch_up="none"), at("2026-01-01 03:00:30"))
    assert times(p) == ["2026-01-01T03:00:00Z"]


# ----------------------------------------------------------------------------- concurrency


def _running(t: str) -> tuple[ObservedRun, ...]:
    return (ObservedRun(schedule_run_name(NAME, at(t)), at(t), "running"),)


def test_forbid_skips_a_time_while_a_run_is_active_and_says_so() -> None:
    sp = spec(cron=["0 * * * *"], concurrency_policy="Forbid")
    base = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(sp, at("2026-01-01 10:00:01"), base.status, runs=_running("2026-01-01 09:00"))
    assert p.create == []
    assert p.status.skipped_count == 1 and p.status.missed_count == 0
    status, reason, message = condition(p, "Skipped")
    assert (status, reason) == ("True", "ConcurrencyForbidden")
    assert "nightly-20260101-090000" in message and "Forbid" in message
    assert p.status.last_evaluated_time == "2026-01-01T10:00:00Z"  # skipped, not deferred


def test_forbid_runs_again_once_the_active_run_finished() -> None:
    sp = spec(cron=["0 * * * *"], concurrency_policy="Forbid")
    done = (ObservedRun(schedule_run_name(NAME, at("2026-01-01 09:00")),
                        at("2026-01-01 09:00"), "completed"),)
    base = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(sp, at("2026-01-01 10:00:01"), base.status, runs=done)
    assert times(p) == ["2026-01-01T10:00:00Z"]


def test_replace_cancels_the_active_run_and_starts_the_new_one() -> None:
    sp = spec(cron=["0 * * * *"], concurrency_policy="Replace")
    base = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(sp, at("2026-01-01 10:00:01"), base.status, runs=_running("2026-01-01 09:00"))
    assert p.cancel == ["nightly-20260101-090000"]
    assert times(p) == ["2026-01-01T10:00:00Z"]
    assert any(e[1] == "RunReplaced" for e in p.events)


def test_replace_does_not_cancel_twice() -> None:
    sp = spec(cron=["0 * * * *"], concurrency_policy="Replace")
    cancelling = (ObservedRun("nightly-20260101-090000", at("2026-01-01 09:00"), "running",
                              cancel_requested=True),)
    base = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(sp, at("2026-01-01 10:00:01"), base.status, runs=cancelling)
    assert p.cancel == [] and times(p) == ["2026-01-01T10:00:00Z"]


def test_allow_overlaps() -> None:
    sp = spec(cron=["0 * * * *"])
    base = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(sp, at("2026-01-01 10:00:01"), base.status, runs=_running("2026-01-01 09:00"))
    assert times(p) == ["2026-01-01T10:00:00Z"] and p.status.active_count == 2


def test_forbid_with_catch_up_all_runs_only_the_newest() -> None:
    p = _after_outage(catch_up="all", catch_up_limit=3, concurrency_policy="Forbid")
    assert times(p) == ["2026-01-04T10:00:00Z"]
    assert {r for _, r in p.skipped} == {"Superseded", "CatchUpLimit"}
    assert p.status.skipped_count == 2 and p.status.missed_count == 69


# ----------------------------------------------------------------------------- window


def test_end_time_stops_the_schedule() -> None:
    sp = spec(cron=["0 * * * *"], end_time="2026-01-01T10:30:00Z")
    p = plan(sp, at("2026-01-01 10:00:01"))
    assert times(p) == ["2026-01-01T10:00:00Z"]
    assert p.status.next_schedule_time is None and p.wake_at is None
    p = step(sp, p, at("2026-01-01 12:00"))
    assert p.create == [] and p.skipped == []
    assert condition(p, "Ready")[1] == "Finished"


def test_start_time_delays_the_first_run() -> None:
    sp = spec(cron=["0 * * * *"], start_time="2026-01-02T00:00:00Z")
    p = plan(sp, at("2026-01-01 10:00:01"))
    assert p.create == [] and p.status.next_schedule_time == "2026-01-02T00:00:00Z"


def test_interval_from_start_time() -> None:
    sp = spec(interval_seconds=1800, start_time="2026-01-01T10:10:00Z")
    p = plan(sp, at("2026-01-01 10:00"))
    assert p.status.next_schedule_time == "2026-01-01T10:10:00Z"
    p = plan(sp, at("2026-01-01 10:40:01"), p.status)
    assert times(p) == ["2026-01-01T10:40:00Z"]  # 10:10 missed (catchUp latest)
    assert p.status.next_schedule_time == "2026-01-01T11:10:00Z"


def test_short_intervals_need_the_operator_test_flag() -> None:
    sp = spec(interval_seconds=5, start_time="2026-01-01T10:00:00Z")
    refused = plan(sp, at("2026-01-01 10:00:06"))
    assert refused.create == []
    status, reason, message = condition(refused, "Ready")
    assert (status, reason) == ("False", "InvalidSchedule")
    assert "KUBELINE_SCHEDULE_TEST_INTERVALS" in message
    allowed = plan(sp, at("2026-01-01 10:00:06"), allow_short=True)
    assert times(allowed) == ["2026-01-01T10:00:05Z"]


def test_run_at_runs_once() -> None:
    sp = spec(run_at="2026-01-01T12:00:00Z")
    p = plan(sp, at("2026-01-01 12:00:01"))
    assert times(p) == ["2026-01-01T12:00:00Z"]
    p = step(sp, p, at("2026-01-02 00:00"), phase="completed")
    assert p.create == [] and condition(p, "Ready")[1] == "Finished"


# ----------------------------------------------------------------------------- suspend, edits


def test_suspend_skips_due_times_and_counts_them() -> None:
    sp = spec(cron=["0 * * * *"], suspend=True)
    p = plan(sp, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    assert p.create == [] and [r for _, r in p.skipped] == ["Suspended"]
    assert p.status.next_schedule_time is None
    assert p.wake_at == at("2026-01-01 10:00")  # still wakes to count what it skips
    assert condition(p, "Ready")[1] == "Suspended"
    assert p.status.skipped_count == 1


def test_resume_does_not_run_the_suspended_times() -> None:
    suspended = spec(cron=["0 * * * *"], suspend=True)
    p = plan(suspended, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    p = plan(suspended, at("2026-01-01 10:00:01"), p.status)
    assert p.status.skipped_count == 2
    resumed = spec(cron=["0 * * * *"])
    p = plan(resumed, at("2026-01-01 10:20"), p.status, generation=2)
    assert p.create == [] and p.status.next_schedule_time == "2026-01-01T11:00:00Z"
    p = plan(resumed, at("2026-01-01 11:00:01"), p.status, generation=2)
    assert times(p) == ["2026-01-01T11:00:00Z"]


def test_resume_after_downtime_counts_the_gap_as_spec_changed() -> None:
    suspended = spec(cron=["0 * * * *"], suspend=True)
    p = plan(suspended, at("2026-01-01 09:00:01"), created=at("2026-01-01 08:59"))
    # The operator was down from 09:00 to 12:30; the schedule was resumed meanwhile.
    p = plan(spec(cron=["0 * * * *"]), at("2026-01-01 12:30"), p.status, generation=2)
    assert p.create == []
    assert [r for _, r in p.skipped] == ["SpecChanged"] * 3
    assert p.status.skipped_count == 4


def test_editing_the_cron_never_starts_a_run_for_a_past_time() -> None:
    old = spec(cron=["0 3 * * *"])
    p = plan(old, at("2026-01-01 03:00:01"))
    p = step(old, p, at("2026-01-01 10:00"), phase="completed")
    new = spec(cron=["0 9 * * *"])  # 09:00 today has passed under the new expression
    p = plan(new, at("2026-01-01 10:00:01"), p.status, runs=(
        ObservedRun("nightly-20260101-030000", at("2026-01-01 03:00"), "completed"),),
        generation=2)
    assert p.create == []
    assert p.status.next_schedule_time == "2026-01-02T09:00:00Z"


# ----------------------------------------------------------------------------- validity, history


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("cron", ["61 * * * *"], "Bad minute"),
    ("cron", ["0 0 31 2 *"], "day-of-month"),
    ("time_zone", "Mars/Olympus", "unknown time zone"),
])
def test_unusable_spec_is_reported_not_run(field: str, value: object, needle: str) -> None:
    p = plan(spec(**{field: value}), at("2026-01-02 04:00"))
    status, reason, message = condition(p, "Ready")
    assert (status, reason) == ("False", "InvalidSchedule") and needle in message
    assert p.create == [] and p.wake_at is None
    assert p.events and p.events[0][1] == "InvalidSchedule"


def test_history_limits_delete_the_oldest_finished_runs_only() -> None:
    sp = spec(cron=["0 * * * *"], successful_runs_history_limit=2, failed_runs_history_limit=1)
    runs = tuple(ObservedRun(schedule_run_name(NAME, at(f"2026-01-01 0{h}:00")),
                             at(f"2026-01-01 0{h}:00"), phase)
                 for h, phase in [(1, "completed"), (2, "failed"), (3, "cached"),
                                  (4, "completed"), (5, "failed"), (6, "running")])
    p = plan(sp, at("2026-01-01 06:30"), runs=runs, created=at("2026-01-01 00:30"))
    assert sorted(p.delete) == ["nightly-20260101-010000", "nightly-20260101-020000"]
    assert "nightly-20260101-060000" in p.status.active
    assert all(r.name not in p.delete for r in p.status.recent_runs)


def test_run_names_stay_valid_for_long_schedule_names() -> None:
    long = "x" * 80 + ".retrain"
    name = schedule_run_name(long, at("2026-01-01 03:00"))
    assert len(name) <= 63 and name.endswith("-20260101-030000")
    assert name == schedule_run_name(long, at("2026-01-01 03:00"))
    assert name != schedule_run_name("x" * 80 + ".other", at("2026-01-01 03:00"))


def test_cursor_round_trips_through_rfc3339() -> None:
    p = plan(spec(), at("2026-01-01 03:00:01"))
    assert parse_time(p.status.last_evaluated_time) == at("2026-01-01 03:00")
    assert datetime.fromtimestamp(p.create[0].scheduled, UTC).hour == 3


# ----------------------------------------------------------------------------- simulation


@pytest.mark.parametrize("seed", range(16))
def test_simulated_week_every_due_time_is_decided_exactly_once(seed: int) -> None:
    """A week of an operator that ticks at due times, crashes (status lost after creating
    runs), is down for hours, and sees runs finish at random: every due time ends up with
    exactly one run or one skip, and the counts add up."""
    import random

    from kubeline_operator.schedule_planner import due_times

    rng = random.Random(seed)
    policy = rng.choice(["Allow", "Forbid", "Replace"])
    catch_up = rng.choice(["none", "latest", "all"])
    extra: dict[str, object] = {"catch_up_limit": rng.randint(1, 5)} if catch_up == "all" \
        else {}
    deadline = rng.choice([None, 600, 5400])
    sp = spec(cron=rng.choice([["0 * * * *"], ["*/20 * * * *", "0 */3 * * *"]]),
              time_zone=rng.choice(["UTC", "Europe/Berlin"]), concurrency_policy=policy,
              catch_up=catch_up, starting_deadline_seconds=deadline, **extra)
    created = at("2026-03-26 00:00")  # the week spans Berlin's DST change
    end = created + 7 * 86400
    status, now = ScheduleStatus(), created + 1
    runs: dict[str, ObservedRun] = {}
    finish_at: dict[str, float] = {}
    created_names: list[str] = []
    while now < end:
        for name, when in list(finish_at.items()):  # runs end after a random duration
            if when <= now and runs[name].active:
                runs[name] = ObservedRun(name, runs[name].scheduled, rng.choice(
                    ["completed", "failed"]))
        p = plan_schedule(ScheduleState(name=NAME, spec=sp, status=status, now=now,
                                        created=created, runs=tuple(runs.values())))
        if policy == "Forbid" and p.create:  # never a run next to an active one
            assert not any(r.active for r in runs.values()), to_rfc3339(now)
            assert len(p.create) == 1
        for c in p.create:
            assert c.name not in runs, f"due time {to_rfc3339(c.scheduled)} created twice"
            runs[c.name] = ObservedRun(c.name, c.scheduled, "running")
            finish_at[c.name] = now + rng.choice([60, 1800, 5000, 12000])
            created_names.append(c.name)
        for name in p.cancel:
            runs[name] = ObservedRun(name, runs[name].scheduled, "cancelled")
        if rng.random() < 0.1:
            pass  # crash after creating: the status write is lost, the runs stay
        else:
            status = p.status
        step_to = p.wake_at if p.wake_at is not None else end
        if rng.random() < 0.08:
            step_to += rng.choice([900, 3 * 3600, 26 * 3600])  # the operator is down
        now = min(max(step_to, now + 1), end)
    p = plan_schedule(ScheduleState(name=NAME, spec=sp, status=status, now=end,
                                    created=created, runs=tuple(runs.values())))
    for c in p.create:
        runs[c.name] = ObservedRun(c.name, c.scheduled, "running")
        created_names.append(c.name)
    status = p.status
    due = list(due_times(sp, created, end))
    assert len(created_names) == len(set(created_names))
    run_times = {r.scheduled for r in runs.values()}
    assert run_times <= set(due)
    assert status.run_count == len(runs)
    assert status.run_count + status.skipped_count + status.missed_count == len(due), (
        policy, catch_up, deadline)
    assert status.recent_skips == sorted(status.recent_skips, key=lambda x: x.time,
                                         reverse=True)
