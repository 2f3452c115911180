"""``Schedule``: run a pipeline on a cron expression, an interval or once (ZenML's import path).

``my_pipeline.with_options(schedule=Schedule(cron_expression="0 3 * * *"))()`` creates the
pipeline's Snapshot and a ``Schedule`` object instead of a run; the operator then starts
exactly one run per due time. Kubeline adds ``time_zone``, ``concurrency_policy``,
``starting_deadline_seconds``, ``catch_up``/``catch_up_limit``, several cron expressions
and history limits; where ZenML would ignore an option (a cron expression *and* an
interval), Kubeline raises instead (see docs/authoring.md, differences).
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kubeline.resources.cron import CronError, as_utc, validate_cron, zone
from kubeline.resources.names import ENV_SCHEDULE_TEST_INTERVALS

#: Set in a test process to allow intervals below a minute (the operator needs it too).
TEST_INTERVALS_ENV = ENV_SCHEDULE_TEST_INTERVALS
MIN_INTERVAL_SECONDS = 60


def _rfc3339(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.astimezone(datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Schedule(BaseModel):
    """When a pipeline runs by itself.

    ZenML's fields: ``name``, ``cron_expression``, ``start_time``, ``end_time``,
    ``interval_second`` (with ``start_time``), ``catchup`` and ``run_once_start_time``.
    Kubeline's: ``cron_expressions`` (several), ``time_zone`` (IANA name; naive datetimes
    are read in it, else in local time as ZenML does), ``concurrency_policy``
    (``Allow``/``Forbid``/``Replace``), ``starting_deadline_seconds``, ``catch_up``
    (``none``/``latest``/``all``; ``catchup=True`` means ``all``), ``catch_up_limit``,
    ``active`` and history limits.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    name: str | None = None
    cron_expression: str | None = None
    start_time: datetime.datetime | None = None
    end_time: datetime.datetime | None = None
    interval_second: datetime.timedelta | None = None
    catchup: bool = False
    run_once_start_time: datetime.datetime | None = None
    # Kubeline's additions.
    cron_expressions: list[str] = Field(default_factory=list)
    time_zone: str | None = None
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    starting_deadline_seconds: int | None = Field(None, ge=0)
    catch_up: Literal["none", "latest", "all"] | None = None
    catch_up_limit: int | None = Field(None, ge=1, le=1000)
    active: bool = True
    successful_runs_history_limit: int | None = Field(None, ge=0, le=1000)
    failed_runs_history_limit: int | None = Field(None, ge=0, le=1000)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except CronError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Schedule:
        crons = self.all_cron_expressions
        periodic = self.start_time is not None and self.interval_second is not None
        if not crons and not periodic and self.run_once_start_time is None:
            raise ValueError(
                "Either a cron expression, a start time and interval seconds or a run once "
                "start time need to be set for a valid schedule.")
        given = [what for what, on in (("a cron expression", bool(crons)),
                                       ("interval_second", self.interval_second is not None),
                                       ("run_once_start_time",
                                        self.run_once_start_time is not None)) if on]
        if len(given) > 1:
            raise ValueError(
                f"Schedule got {' and '.join(given)}: give exactly one. (ZenML warns and "
                "usually ignores all but the cron expression; Kubeline never ignores an "
                "option.)")
        if self.interval_second is not None and self.start_time is None:
            raise ValueError("interval_second needs start_time: runs are at start_time + k x "
                             "interval_second")
        for expr in crons:
            try:
                validate_cron(expr)
            except CronError as exc:
                raise ValueError(str(exc)) from None
        if self.interval_second is not None:
            seconds = self.interval_second.total_seconds()
            if seconds != int(seconds) or seconds < 1:
                raise ValueError(f"interval_second must be whole seconds >= 1, got {seconds}")
            if seconds < MIN_INTERVAL_SECONDS and os.environ.get(TEST_INTERVALS_ENV, "") \
                    .lower() not in ("1", "true", "yes"):
                raise ValueError(
                    f"interval_second is {seconds:.0f} s: the shortest interval is "
                    f"{MIN_INTERVAL_SECONDS} s (shorter ones are for tests: set "
                    f"{TEST_INTERVALS_ENV}=true here and on the operator)")
        if self.catch_up is not None and self.catchup and self.catch_up != "all":
            raise ValueError(f"catchup=True means catch_up='all', but catch_up is "
                             f"{self.catch_up!r}: give one of them")
        if self.catch_up_limit is not None and self.effective_catch_up != "all":
            raise ValueError("catch_up_limit bounds catch_up='all' (or catchup=True)")
        start, end = self._utc(self.start_time), self._utc(self.end_time)
        if start is not None and end is not None and end <= start:
            raise ValueError("end_time must be after start_time")
        return self

    # ------------------------------------------------------------------ views
    @property
    def all_cron_expressions(self) -> list[str]:
        """``cron_expression`` followed by ``cron_expressions``, each once."""
        out = [self.cron_expression] if self.cron_expression else []
        return out + [c for c in self.cron_expressions if c not in out]

    @property
    def effective_catch_up(self) -> str:
        """ZenML's ``catchup`` as Kubeline's ``catch_up``: True -> 'all', False -> 'latest'
        (ZenML: "it only schedules the latest interval if more than one is ready")."""
        return self.catch_up or ("all" if self.catchup else "latest")

    def _utc(self, value: datetime.datetime | None) -> datetime.datetime | None:
        return None if value is None else as_utc(value, self.time_zone)

    @property
    def utc_start_time(self) -> str | None:
        """ISO-formatted UTC start time (as ZenML)."""
        start = self._utc(self.start_time)
        return start.isoformat() if start else None

    @property
    def utc_end_time(self) -> str | None:
        """ISO-formatted UTC end time (as ZenML)."""
        end = self._utc(self.end_time)
        return end.isoformat() if end else None

    def to_spec(self, *, snapshot: str | None = None, pipeline: str | None = None,
                config: dict[str, Any] | None = None) -> dict[str, Any]:
        """The Schedule resource's spec (wire form) running ``snapshot`` (or ``pipeline``)."""
        spec: dict[str, Any] = {}
        if snapshot:
            spec["snapshot"] = snapshot
        else:
            spec["pipeline"] = pipeline
        if config:
            spec["config"] = config
        if self.all_cron_expressions:
            spec["cron"] = self.all_cron_expressions
        elif self.interval_second is not None:
            spec["intervalSeconds"] = int(self.interval_second.total_seconds())
        else:
            spec["runAt"] = _rfc3339(self._utc(self.run_once_start_time))
        spec["timeZone"] = self.time_zone or "UTC"
        for key, value in (("startTime", _rfc3339(self._utc(self.start_time))),
                           ("endTime", _rfc3339(self._utc(self.end_time))),
                           ("startingDeadlineSeconds", self.starting_deadline_seconds),
                           ("catchUpLimit", self.catch_up_limit),
                           ("successfulRunsHistoryLimit", self.successful_runs_history_limit),
                           ("failedRunsHistoryLimit", self.failed_runs_history_limit)):
            if value is not None:
                spec[key] = value
        spec["concurrencyPolicy"] = self.concurrency_policy
        spec["catchUp"] = self.effective_catch_up
        spec["suspend"] = not self.active
        return spec


__all__ = ["Schedule"]
