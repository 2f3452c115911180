"""Progress of a run while waiting: plain lines (logs, CI) or a live rich table (terminal).

The text is computed by pure functions of the run's status so it can be tested without a
terminal or a cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from kubeline.client._base import parse_time
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES
from kubeline.resources.read import StepStatusView

if TYPE_CHECKING:
    from kubeline.client.runs import RunView

STEP_STYLE = {
    "pending": "dim", "running": "cyan", "retrying": "yellow", "completed": "green",
    "cached": "blue", "failed": "red", "cancelled": "magenta", "skipped": "dim",
}
RUN_STYLE = {"initialized": "dim", "running": "cyan", "completed": "green", "cached": "blue",
             "failed": "red", "cancelled": "magenta"}


def fmt_duration(seconds: float | None) -> str:
    """``"850ms"``, ``"12.3s"``, ``"2m05s"``, ``"1h02m"`` or ``"-"``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def step_line(step: Mapping[str, Any] | StepStatusView) -> str:
    """One step's state as a short phrase: ``"cached (from run-a/loader)"``."""
    st = step if isinstance(step, StepStatusView) else StepStatusView(step)
    text = st.phase
    if st.phase == "cached" and st.cached_from:
        text += f" (from {st.cached_from.run}/{st.cached_from.step})"
    elif st.phase in ("running", "retrying") and st.attempts > 1:
        text += f" (attempt {st.attempts})"
    elif st.phase == "failed" and st.message:
        text += f": {st.message.splitlines()[0][:200]}"
    return text


def step_changes(before: dict[str, str], steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines for steps whose phase changed since ``before`` (updated in place)."""
    lines = []
    for raw in steps:
        step = StepStatusView(raw)
        if before.get(step.name) != step.phase:
            before[step.name] = step.phase
            if step.phase != "pending":
                lines.append(f"  step {step.name}: {step_line(step)}")
    return lines


def outcome_line(run: RunView) -> str:
    """The final summary of a run."""
    counts = run.k8s_status.get("counts") or {}
    steps = run.step_statuses
    total = counts.get("total") or len(steps)
    cached = counts.get("cached", sum(1 for s in steps if s.get("phase") == "cached"))
    line = f"Run {run.name} {run.status}"
    if run.duration is not None:
        line += f" in {fmt_duration(run.duration)}"
    line += f" ({total} steps, {cached} cached)"
    if run.status in UNSUCCESSFUL_RUN_PHASES:
        where = f" at step {run.failed_step}" if run.failed_step else ""
        line += f"{where}: {run.message or run.status_reason or 'no message'}"
    return line


class PlainReporter:
    """Prints a line per change: fit for logs and non-terminals."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._seen: dict[str, str] = {}
        self._phase: str | None = None

    def update(self, run: RunView) -> None:
        lines = []
        if run.status != self._phase:
            self._phase = run.status
            progress = f" [{run.progress}]" if run.progress else ""
            lines.append(f"Run {run.name}: {run.status}{progress}")
        lines += step_changes(self._seen, run.step_statuses)
        for line in lines:
            print(line, file=self.stream, flush=True)

    def finish(self, run: RunView) -> None:
        self.update(run)
        print(outcome_line(run), file=self.stream, flush=True)

    def close(self) -> None:
        return None


def step_duration(step: Mapping[str, Any]) -> float | None:
    """Seconds a step took, from its status entry (0 for a cache hit; None while running)."""
    start, end = parse_time(step.get("startTime")), parse_time(step.get("endTime"))
    if start and end:
        return (end - start).total_seconds()
    return 0.0 if step.get("phase") == "cached" else None


def styled(text: str, style: str | None) -> str:
    return f"[{style}]{text}[/]" if style else text


def run_table(run: RunView) -> Any:
    """A table of the run's steps: status, duration, attempts, cache and outputs (no request)."""
    from rich.table import Table

    status = styled(run.status, RUN_STYLE.get(run.status))
    progress = f"  {run.progress}" if run.progress else ""
    table = Table(title=f"Run {run.name}: {status}{progress}", title_justify="left")
    for col in ("step", "status", "duration", "attempts", "outputs"):
        table.add_column(col)
    for step in run.step_statuses:
        phase = step.get("phase") or "pending"
        table.add_row(
            step["name"], styled(step_line(step), STEP_STYLE.get(phase)),
            fmt_duration(step_duration(step)), str(step.get("attempts") or 0),
            ", ".join(step.get("outputs") or {}),
        )
    return table



class LiveReporter:
    """A live rich table of the steps, redrawn on every change."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.live = Live(console=self.console, refresh_per_second=8, transient=False)
        self.live.start()

    def update(self, run: RunView) -> None:
        self.live.update(run_table(run))

    def finish(self, run: RunView) -> None:
        self.update(run)
        self.live.stop()
        style = RUN_STYLE.get(run.status, "")
        self.console.print(f"[{style}]{outcome_line(run)}[/]" if style else outcome_line(run))

    def close(self) -> None:
        self.live.stop()


class NullReporter:
    def update(self, run: RunView) -> None:
        return None

    def finish(self, run: RunView) -> None:
        return None

    def close(self) -> None:
        return None


def make_reporter(show_progress: bool, stream: TextIO | None = None) -> Any:
    """Live table on a terminal, plain lines otherwise, nothing when progress is off."""
    if not show_progress:
        return NullReporter()
    stream = stream or sys.stderr
    if stream.isatty():
        return LiveReporter(stream)
    return PlainReporter(stream)
