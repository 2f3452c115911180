"""Plan one Schedule (pure): (schedule, now, observed runs) -> runs to create, to cancel, to
delete, and the new status. No I/O, no clock: ``now`` is an input, so every rule is
table-tested with a fake clock.

Exactly once per due time: each due time's run has a deterministic name
(``schedule_run_name``), the operator creates it before the status says so, and a due time
whose run already exists is never created again. ``status.lastEvaluatedTime`` is the cursor:
every due time up to it was decided (run, skipped or missed), so a restart resumes from it
and downtime is caught up according to ``catchUp`` and ``startingDeadlineSeconds``. Every
time that gets no run is counted in status with its reason; none is dropped silently.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, cast

from kubeline.resources.cron import CronError, cron_times, interval_times, validate_cron, zone
from kubeline.resources.models import (
    MAX_SCHEDULE_HISTORY,
    Condition,
    ScheduledRun,
    ScheduleRunPhase,
    ScheduleSpec,
    ScheduleStatus,
    SkippedTime,
    SkipReason,
)
from kubeline.resources.names import ENV_SCHEDULE_TEST_INTERVALS, schedule_run_name
from kubeline.resources.reasons import POLICY_SKIPS
from kubeline.resources.reasons import ScheduleEventReason as E
from kubeline.resources.reasons import ScheduleReason as R

from kubeline_operator.timeutil import parse_time, to_rfc3339

TERMINAL = frozenset({"completed", "failed", "cached", "cancelled"})
SUCCESSFUL = frozenset({"completed", "cached"})
#: catchUp none without a startingDeadlineSeconds: how late a due time may be acted on.
ON_TIME_SECONDS = 60.0
DEFAULT_CATCH_UP_LIMIT = 10
MIN_INTERVAL_SECONDS = 60
#: How far ahead the next due time is looked for (a cron like '0 0 29 2 1' is rare).
NEXT_HORIZON_SECONDS = 30 * 366 * 86400.0


@dataclass(frozen=True)
class ObservedRun:
    """A PipelineRun labelled with this schedule, as the operator last saw it."""

    name: str
    scheduled: float  # the due time it runs for (epoch seconds)
    phase: str = "initialized"
    cancel_requested: bool = False

    @property
    def active(self) -> bool:
        return self.phase not in TERMINAL


@dataclass(frozen=True)
class ScheduleState:
    """Everything the planner looks at."""

    name: str
    spec: ScheduleSpec
    status: ScheduleStatus
    now: float
    created: float  # the Schedule's creationTimestamp
    generation: int = 1
    runs: tuple[ObservedRun, ...] = ()
    allow_short_intervals: bool = False  # operator test flag: intervalSeconds below 60


@dataclass(frozen=True)
class RunToCreate:
    name: str
    scheduled: float


@dataclass
class SchedulePlan:
    create: list[RunToCreate] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    status: ScheduleStatus = field(default_factory=ScheduleStatus)
    skipped: list[tuple[float, R]] = field(default_factory=list)
    wake_at: float | None = None  # plan again at this time (the next due time)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


# ----------------------------------------------------------------------------- due times


def check_spec(spec: ScheduleSpec, allow_short_intervals: bool = False) -> str | None:
    """What makes ``spec`` unusable (beyond what CEL checks at apply time), or None."""
    try:
        zone(spec.time_zone)
        for expr in spec.cron or []:
            validate_cron(expr)
    except CronError as exc:
        return str(exc)
    if spec.interval_seconds is not None and spec.interval_seconds < MIN_INTERVAL_SECONDS \
            and not allow_short_intervals:
        return (f"spec.intervalSeconds is {spec.interval_seconds}: the shortest interval is "
                f"{MIN_INTERVAL_SECONDS} s (shorter ones only on an operator started with "
                f"{ENV_SCHEDULE_TEST_INTERVALS}=true, for tests)")
    for key in ("start_time", "end_time", "run_at"):
        value = getattr(spec, key)
        if value is not None and parse_time(value) is None:
            return f"spec.{key} {value!r} is not an RFC 3339 time"
    if not spec.cron and spec.interval_seconds is None and spec.run_at is None:
        return "set one of spec.cron, spec.intervalSeconds and spec.runAt"
    return None


def due_times(spec: ScheduleSpec, after: float, until: float) -> Iterator[float]:
    """Every due time of ``spec`` in ``(after, until]``, ascending, each once (several
    cron expressions matching the same instant give one due time), within start/end."""
    start = parse_time(spec.start_time)
    end = parse_time(spec.end_time)
    lo = max(after, start - 1e-6) if start is not None else after
    hi = min(until, end) if end is not None else until
    if hi <= lo:
        return
    sources: list[Iterable[float]]
    if spec.run_at is not None:
        at = parse_time(spec.run_at)
        sources = [[at]] if at is not None and lo < at <= hi else []
    elif spec.interval_seconds is not None:
        anchor = start if start is not None else 0.0
        sources = [interval_times(anchor, float(spec.interval_seconds), lo, hi)]
    else:
        sources = [cron_times(expr, spec.time_zone, lo, hi) for expr in spec.cron or []]
    last = None
    for t in heapq.merge(*sources):
        if t != last:
            yield t
            last = t


def next_due(spec: ScheduleSpec, after: float) -> float | None:
    for t in due_times(spec, after, after + NEXT_HORIZON_SECONDS):
        return t
    return None


class _Window:
    """The due times in a window, keeping only the newest ``keep`` (a long outage of a
    minutely schedule is counted, never held in memory)."""

    def __init__(self, times: Iterable[float], keep: int) -> None:
        self.count = 0
        self.oldest: list[float] = []  # kept only to report a few skipped times
        newest: deque[float] = deque(maxlen=keep)
        for t in times:
            self.count += 1
            if len(self.oldest) < MAX_SCHEDULE_HISTORY:
                self.oldest.append(t)
            newest.append(t)
        self.newest = list(newest)

    @property
    def dropped(self) -> int:
        """Times not among ``newest``."""
        return self.count - len(self.newest)


# ----------------------------------------------------------------------------- planning


def _condition(type_: str, status: Literal["True", "False"], reason: str, message: str,
               now: float,
               old: list[Condition]) -> Condition:
    prev = next((c for c in old if c.type == type_), None)
    changed = prev is None or prev.status != status or prev.reason != reason
    return Condition(type=type_, status=status, reason=reason, message=message[:2048],
                     last_transition_time=to_rfc3339(now) if changed or prev is None
                     else prev.last_transition_time)


def _skip_message(reason: R, spec: ScheduleSpec, active: list[str]) -> str:
    if reason == R.CONCURRENCY_FORBIDDEN:
        return (f"run {', '.join(active[:3])} of this schedule was still active and "
                "concurrencyPolicy is Forbid")
    if reason == R.SUPERSEDED:
        return (f"several times were due at once and concurrencyPolicy {spec.concurrency_policy}"
                " runs only the newest")
    if reason == R.STARTING_DEADLINE_EXCEEDED:
        return (f"noticed more than startingDeadlineSeconds ({spec.starting_deadline_seconds} s)"
                " after the due time (the operator was not running or was behind)")
    if reason == R.CATCH_UP_NONE:
        deadline = spec.starting_deadline_seconds
        limit = f"{deadline} s" if deadline is not None else f"{ON_TIME_SECONDS:.0f} s"
        return f"missed by more than {limit} and catchUp is none"
    if reason == R.CATCH_UP_LATEST:
        return "several times were missed and catchUp latest runs only the newest"
    if reason == R.CATCH_UP_LIMIT:
        bound = spec.catch_up_limit or DEFAULT_CATCH_UP_LIMIT
        return f"more missed times than catchUpLimit ({bound}); the newest {bound} run"
    if reason == R.SUSPENDED:
        return "the schedule was suspended"
    return "due between the last decision and a spec change (a changed schedule never runs " \
           "retroactively)"


def plan_schedule(state: ScheduleState) -> SchedulePlan:
    """Decide the runs and the status of one Schedule at ``state.now``."""
    spec, old, now = state.spec, state.status, state.now
    status = old.model_copy(deep=True)
    status.observed_generation = state.generation
    out = SchedulePlan(status=status)
    problem = check_spec(spec, state.allow_short_intervals)
    if problem is not None:
        status.conditions = [
            _condition("Ready", "False", R.INVALID_SCHEDULE, problem, now, old.conditions),
            *[c for c in old.conditions if c.type != "Ready"]]
        status.next_schedule_time = None
        _fill_runs(status, state.runs, [])
        if not any(c.type == "Ready" and c.reason == R.INVALID_SCHEDULE for c in old.conditions):
            out.events.append(("Warning", E.INVALID_SCHEDULE, problem))
        return out

    # The cursor: every due time up to it is decided.
    first_plan = old.observed_generation is None
    cursor = parse_time(old.last_evaluated_time)
    if cursor is None:
        cursor = state.created
    skipped: list[tuple[float, R]] = []
    dropped_counts: dict[R, int] = {}
    # Pending times whose run exists already (created by a pass that wrote no status, or
    # by another replica): decided, counted once, never part of any catch-up or skip.
    adopted = sorted({r.scheduled for r in state.runs if cursor < r.scheduled <= now})
    done = set(adopted)
    if not first_plan and old.observed_generation != state.generation:
        # The spec changed: its new due times count from now, never retroactively (a
        # CronJob whose schedule is edited may start runs for past times).
        window = _Window((t for t in due_times(spec, cursor, now) if t not in done), 0)
        skipped += [(t, R.SPEC_CHANGED) for t in window.oldest]
        if window.count > len(window.oldest):
            dropped_counts[R.SPEC_CHANGED] = window.count - len(window.oldest)
        cursor = max(cursor, now)

    by_name = {r.name: r for r in state.runs}
    limit = (spec.catch_up_limit or DEFAULT_CATCH_UP_LIMIT) if spec.catch_up == "all" else 1
    window = _Window((t for t in due_times(spec, cursor, now) if t not in done), limit)
    if window.count:
        cursor = max(cursor, window.newest[-1])
    if adopted:
        cursor = max(cursor, adopted[-1])
    # Times before the kept ones: never run (catch-up none/latest/limit, or suspended).
    early_reason: R = (
        R.SUSPENDED if spec.suspend else
        R.CATCH_UP_LIMIT if spec.catch_up == "all" else
        R.CATCH_UP_LATEST if spec.catch_up == "latest" else R.CATCH_UP_NONE)
    reported = [t for t in window.oldest if t not in window.newest][:MAX_SCHEDULE_HISTORY]
    skipped += [(t, early_reason) for t in reported]
    if window.dropped > len(reported):
        dropped_counts[early_reason] = dropped_counts.get(early_reason, 0) + (
            window.dropped - len(reported))

    active = [r for r in state.runs if r.active]
    candidates: list[float] = []
    for t in window.newest:
        if schedule_run_name(state.name, t) in by_name:  # (its time is in `adopted`)
            continue
        late = now - t
        deadline = spec.starting_deadline_seconds
        if spec.suspend:
            skipped.append((t, R.SUSPENDED))
        elif deadline is not None and late > deadline:
            skipped.append((t, R.STARTING_DEADLINE_EXCEEDED))
        elif spec.catch_up == "none" and deadline is None and late > ON_TIME_SECONDS:
            skipped.append((t, R.CATCH_UP_NONE))
        else:
            candidates.append(t)

    if candidates:
        policy = spec.concurrency_policy
        if policy == "Forbid" and active:
            skipped += [(t, R.CONCURRENCY_FORBIDDEN) for t in candidates]
            candidates = []
        elif policy in ("Forbid", "Replace") and len(candidates) > 1:
            skipped += [(t, R.SUPERSEDED) for t in candidates[:-1]]
            candidates = candidates[-1:]
        if policy == "Replace" and candidates:
            out.cancel = [r.name for r in active if not r.cancel_requested]
    out.create = [RunToCreate(schedule_run_name(state.name, t), t) for t in candidates]

    # Finished runs beyond the history limits (oldest first); never a run still active.
    out.delete = _over_history(state.runs, spec)

    # Status.
    status.last_evaluated_time = to_rfc3339(cursor) if (first_plan or cursor != parse_time(
        old.last_evaluated_time)) else old.last_evaluated_time
    fired = [c.scheduled for c in out.create] + adopted
    prev = parse_time(old.last_schedule_time)
    if fired and (prev is None or max(fired) > prev):
        status.last_schedule_time = to_rfc3339(max(fired))
    elif state.runs and prev is None:
        status.last_schedule_time = to_rfc3339(max(r.scheduled for r in state.runs))
    status.run_count = old.run_count + len(fired)
    nxt = None if spec.suspend else next_due(spec, max(now, cursor))
    status.next_schedule_time = to_rfc3339(nxt) if nxt is not None else None
    out.wake_at = next_due(spec, max(now, cursor)) if spec.suspend else nxt
    _fill_runs(status, state.runs, out.create, set(out.delete))
    _record_skips(status, skipped, dropped_counts, spec, [r.name for r in active], now, old,
                  out)
    out.skipped = skipped
    ready_reason, ready_msg = (R.SUSPENDED, "suspended: no new runs") if spec.suspend else (
        (R.SCHEDULED, f"next run due at {status.next_schedule_time}") if nxt is not None else
        (R.FINISHED, "no due time is left (past endTime, or runAt done)"))
    status.conditions = [
        _condition("Ready", "True", ready_reason, ready_msg, now, old.conditions),
        *[c for c in status.conditions if c.type != "Ready"]]
    for c in out.create:
        out.events.append(("Normal", E.RUN_CREATED,
                           f"created run {c.name} for {to_rfc3339(c.scheduled)}"))
    for name in out.cancel:
        out.events.append(("Normal", E.RUN_REPLACED,
                           f"cancelling run {name} (concurrencyPolicy Replace)"))
    return out


def _over_history(runs: Iterable[ObservedRun], spec: ScheduleSpec) -> list[str]:
    out: list[str] = []
    finished = sorted((r for r in runs if not r.active), key=lambda r: r.scheduled,
                      reverse=True)
    for limit, phases in ((spec.successful_runs_history_limit, SUCCESSFUL),
                          (spec.failed_runs_history_limit, TERMINAL - SUCCESSFUL)):
        if limit is None:
            continue
        kept = [r for r in finished if r.phase in phases]
        out += [r.name for r in kept[limit:]]
    return out


def _fill_runs(status: ScheduleStatus, runs: Iterable[ObservedRun],
               created: list[RunToCreate], deleted: set[str] | None = None) -> None:
    deleted = deleted or set()
    seen: dict[str, ScheduledRun] = {}
    for r in runs:
        if r.name not in deleted:
            phase = r.phase if r.phase in (*TERMINAL, "initialized", "running") else "unknown"
            seen[r.name] = ScheduledRun(name=r.name, scheduled_time=to_rfc3339(r.scheduled),
                                        phase=cast(ScheduleRunPhase, phase))
    for c in created:
        seen.setdefault(c.name, ScheduledRun(name=c.name, scheduled_time=to_rfc3339(c.scheduled)))
    ordered = sorted(seen.values(), key=lambda s: (s.scheduled_time, s.name), reverse=True)
    status.recent_runs = ordered[:MAX_SCHEDULE_HISTORY]
    active = sorted((s.name for s in seen.values() if s.phase not in TERMINAL), reverse=True)
    status.active = active[:100]
    status.active_count = len(active)


def _record_skips(status: ScheduleStatus, skipped: list[tuple[float, R]],
                  dropped: dict[R, int], spec: ScheduleSpec, active: list[str],
                  now: float, old: ScheduleStatus, out: SchedulePlan) -> None:
    if not skipped and not dropped:
        return
    counts: dict[R, int] = dict(dropped)
    for _, reason in skipped:
        counts[reason] = counts.get(reason, 0) + 1
    policy = sum(n for r, n in counts.items() if r in POLICY_SKIPS)
    missed = sum(counts.values()) - policy
    status.skipped_count = old.skipped_count + policy
    status.missed_count = old.missed_count + missed
    entries = [SkippedTime(time=to_rfc3339(t), reason=cast(SkipReason, str(r)))
               for t, r in skipped]
    merged = sorted([*entries, *old.recent_skips], key=lambda s: s.time, reverse=True)
    status.recent_skips = merged[:MAX_SCHEDULE_HISTORY]
    newest_t, newest_reason = max(skipped) if skipped else (now, next(iter(dropped)))
    parts = [f"{n} x {r}" for r, n in sorted(counts.items())]
    message = (f"{sum(counts.values())} due time(s) got no run ({', '.join(parts)}); newest "
               f"{to_rfc3339(newest_t)}: {_skip_message(newest_reason, spec, active)}. In "
               f"total {status.skipped_count} skipped by policy and {status.missed_count} "
               "missed.")
    status.conditions = [
        *[c for c in status.conditions if c.type != "Skipped"],
        _condition("Skipped", "True", newest_reason, message, now, [])]
    kind = "Normal" if newest_reason in (R.SUSPENDED, R.SPEC_CHANGED) else "Warning"
    out.events.append((kind, E.TIME_SKIPPED if newest_reason in POLICY_SKIPS else E.TIME_MISSED,
                       message))
