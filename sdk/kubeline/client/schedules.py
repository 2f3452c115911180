"""``ScheduleView``: a Schedule, its timing, its runs and what it skipped (ZenML's fields too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubeline.client._base import TERMINAL_PHASES, View, parse_time
from kubeline.resources import names

if TYPE_CHECKING:
    from kubeline.client.runs import RunView
    from kubeline.client.snapshots import SnapshotView


class ScheduleView(View):
    """A Schedule object: ``name``, ``cron_expression``, ``active``, ``next_schedule_time``,
    ``runs``, ``skipped_count``... (ZenML's schedule fields plus Kubeline's)."""

    plural = names.SCHEDULES

    # ------------------------------------------------------------ ZenML's fields
    @property
    def name(self) -> str:
        """The name given at creation (kept verbatim), else the object name."""
        return str(self.annotations.get(names.ANNOTATION_NAME) or self.object_name)

    @property
    def cron_expression(self) -> str | None:
        """The (first) cron expression; see ``cron_expressions`` for all."""
        crons = self.cron_expressions
        return crons[0] if crons else None

    @property
    def cron_expressions(self) -> list[str]:
        return list(self.spec.get("cron") or [])

    @property
    def start_time(self) -> datetime | None:
        return parse_time(self.spec.get("startTime"))

    @property
    def end_time(self) -> datetime | None:
        return parse_time(self.spec.get("endTime"))

    @property
    def interval_second(self) -> timedelta | None:
        seconds = self.spec.get("intervalSeconds")
        return None if seconds is None else timedelta(seconds=int(seconds))

    @property
    def run_once_start_time(self) -> datetime | None:
        return parse_time(self.spec.get("runAt"))

    @property
    def catchup(self) -> bool:
        """ZenML's flag: True when every missed time is caught up (``catch_up == 'all'``)."""
        return self.catch_up == "all"

    @property
    def active(self) -> bool:
        """False while suspended (ZenML's activate/deactivate)."""
        return not bool(self.spec.get("suspend"))

    @property
    def pipeline_name(self) -> str | None:
        """The pipeline's name as written in Python (from the snapshot, else spec.pipeline)."""
        if self.spec.get("pipeline"):
            return str(self.spec["pipeline"])
        snap = self._snapshot_or_none()
        return snap.pipeline_name if snap is not None else None

    @property
    def snapshot_name(self) -> str | None:
        return self.spec.get("snapshot")

    @property
    def snapshot(self) -> SnapshotView | None:
        return self._snapshot_or_none()

    def _snapshot_or_none(self) -> SnapshotView | None:
        from kubeline.errors import NotFoundError

        def find() -> SnapshotView | None:
            if not self.snapshot_name:
                return None
            try:
                return self._client.get_snapshot(self.snapshot_name)
            except NotFoundError:
                return None

        return self._cached("snapshot", find)

    # ------------------------------------------------------------ Kubeline's
    @property
    def time_zone(self) -> str:
        return str(self.spec.get("timeZone") or "UTC")

    @property
    def concurrency_policy(self) -> str:
        return str(self.spec.get("concurrencyPolicy") or "Allow")

    @property
    def starting_deadline_seconds(self) -> int | None:
        return self.spec.get("startingDeadlineSeconds")

    @property
    def catch_up(self) -> str:
        return str(self.spec.get("catchUp") or "latest")

    @property
    def catch_up_limit(self) -> int | None:
        return self.spec.get("catchUpLimit")

    @property
    def last_schedule_time(self) -> datetime | None:
        """Due time of the newest run created."""
        return parse_time(self.k8s_status.get("lastScheduleTime"))

    @property
    def next_schedule_time(self) -> datetime | None:
        """The next due time (None when suspended or none is left)."""
        return parse_time(self.k8s_status.get("nextScheduleTime"))

    @property
    def active_run_names(self) -> list[str]:
        return list(self.k8s_status.get("active") or [])

    @property
    def run_count(self) -> int:
        return int(self.k8s_status.get("runCount") or 0)

    @property
    def skipped_count(self) -> int:
        """Due times skipped by policy (Forbid, suspend, spec change)."""
        return int(self.k8s_status.get("skippedCount") or 0)

    @property
    def missed_count(self) -> int:
        """Due times missed (starting deadline, catch-up none/latest/limit)."""
        return int(self.k8s_status.get("missedCount") or 0)

    @property
    def recent_skips(self) -> list[dict[str, Any]]:
        """``[{"time": ..., "reason": ...}]``, newest first."""
        return list(self.k8s_status.get("recentSkips") or [])

    @property
    def conditions(self) -> dict[str, dict[str, Any]]:
        """Conditions by type (``Ready``, ``Skipped``)."""
        return {c.get("type", ""): c for c in self.k8s_status.get("conditions") or []}

    @property
    def runs(self) -> list[RunView]:
        """The runs of this schedule, newest due time first (one label-selected list)."""

        def find() -> list[RunView]:
            selector = f"{names.LABEL_SCHEDULE}={names.label_value(self.object_name)}"
            objs = list(self._client.kube.iter(names.PIPELINE_RUNS, label_selector=selector))
            objs.sort(key=lambda o: ((o["metadata"].get("annotations") or {}).get(
                names.ANNOTATION_SCHEDULED_TIME, ""), o["metadata"]["name"]), reverse=True)
            return [self._client._run_view(o) for o in objs]

        return self._cached("runs", find)

    @property
    def active_runs(self) -> list[RunView]:
        return [r for r in self.runs if r.status not in TERMINAL_PHASES]

    def __repr__(self) -> str:
        when = (self.cron_expressions or self.spec.get("intervalSeconds")
                or self.spec.get("runAt"))
        state = "" if self.active else " suspended"
        return f"<Schedule {self.name} {when} {self.time_zone}{state}>"
