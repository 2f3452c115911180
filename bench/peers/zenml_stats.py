"""The ZenML peer bench's pure parts: the turn order, the checks on a worker's answer, and
the table of medians, ranges and Kubeline/ZenML ratios (no processes, no cluster)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SDKS = ("zenml", "kubeline")


@dataclass(frozen=True)
class Row:
    """One figure of the table: its label, the samples' key and the unit they are in."""

    label: str
    key: str
    unit: str  # "s" (shown in ms) or "MiB"


ROWS = (
    Row("import (python -c 'import <sdk>')", "import_s", "s"),
    Row("import peak RSS", "import_rss", "MiB"),
    Row("fully cached iris rerun, call -> result", "cached", "s"),
    Row("last_run.steps[s].outputs[o]", "lineage", "s"),
    Row("runs[1]", "runs1", "s"),
    Row("SDK peak RSS (worker: run, reruns, lookups)", "peak_rss", "MiB"),
)


def turns(rounds: int) -> list[str]:
    """The systems' turns, strictly alternating: Z K Z K ... (``rounds`` each)."""
    if rounds < 1:
        raise ValueError(f"rounds must be 1 or more, got {rounds}")
    return [sdk for _ in range(rounds) for sdk in SDKS]


def check_worker(result: Mapping[str, Any], repeat: int) -> list[str]:
    """What is wrong with one worker's answer (empty when it measured what it claims):
    every rerun fully cached, ``runs[1]`` the run before the newest, the lineage lookup
    the trainer's ``trained_model`` output, ``repeat`` samples of each timed figure."""
    problems = []
    for key in ("cached", "lineage", "runs1"):
        samples = result.get(key)
        if not isinstance(samples, list) or len(samples) != repeat:
            problems.append(f"{key}: expected {repeat} samples, got {samples!r}")
    statuses = result.get("cached_step_statuses")
    if statuses != ["cached"]:
        problems.append(f"the reruns' steps were not all cached: {statuses!r}")
    run_ids = result.get("run_ids")
    runs1 = result.get("runs1_ids")
    if not isinstance(run_ids, list) or len(run_ids) < 2:
        problems.append(f"fewer than two runs recorded: {run_ids!r}")
    elif not runs1 or any(found != run_ids[-2] for found in runs1):
        problems.append(f"runs[1] was {runs1!r}, not the run before the newest "
                        f"({run_ids[-2]!r})")
    peak = result.get("peak_rss")
    if not isinstance(peak, int | float) or peak <= 0:
        problems.append(f"no peak RSS: {peak!r}")
    names = result.get("lineage_names")
    if not names or any(name != "trained_model" for name in names):
        problems.append(f"the lineage lookup found {names!r}, not 'trained_model'")
    return problems


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float
    n: int


def stat(samples: Sequence[float]) -> Stat:
    if not samples:
        raise ValueError("no samples")
    return Stat(statistics.median(samples), min(samples), max(samples), len(samples))


def pooled(results: Iterable[Mapping[str, Any]], key: str) -> list[float]:
    """Every sample of ``key`` over a system's turns (a list per turn, or one value)."""
    out: list[float] = []
    for result in results:
        value = result[key]
        out.extend(value if isinstance(value, list) else [value])
    return [float(v) for v in out]


def table(results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[Row, Stat, Stat]]:
    """(row, Kubeline's, ZenML's) for every row, over all samples of all turns."""
    return [(row, stat(pooled(results["kubeline"], row.key)),
             stat(pooled(results["zenml"], row.key))) for row in ROWS]


def _shown(value: float, unit: str) -> str:
    return f"{value * 1000:.0f}" if unit == "s" else f"{value:.0f}"


def format_table(rows: Sequence[tuple[Row, Stat, Stat]]) -> list[str]:
    """Markdown lines: figure | Kubeline median (min-max, n) | ZenML ... | Kubeline/ZenML."""
    lines = ["| figure | Kubeline: median (min-max, n) | ZenML 0.98: median (min-max, n) "
             "| Kubeline/ZenML |", "|---|---|---|---|"]
    for row, k, z in rows:
        unit = "ms" if row.unit == "s" else row.unit

        def cell(s: Stat, unit: str = unit, raw: str = row.unit) -> str:
            return (f"{_shown(s.median, raw)} {unit} ({_shown(s.low, raw)}-"
                    f"{_shown(s.high, raw)}, n={s.n})")

        ratio = f"{k.median / z.median:.2f}x" if z.median else "-"
        lines.append(f"| {row.label} | {cell(k)} | {cell(z)} | {ratio} |")
    return lines


def load_summary(loads: Sequence[float]) -> str:
    """The 1-minute load average over the turns, as median (min-max)."""
    s = stat(loads)
    return f"load average (1 min) at each turn's start: {s.median:.2f} ({s.low:.2f}-{s.high:.2f})"
