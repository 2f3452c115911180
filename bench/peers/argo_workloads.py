"""Pure parts of the Argo Workflows side-by-side bench (``bench/peers/argo.py``): the
workload shapes, the same shape as an Argo DAG Workflow and as a Kubeline Snapshot, the turn
order, the medians over turns, the per-turn and Kubeline/Argo ratio tables, and the parsing of
the API server's metrics. No I/O here, so the unit tests can check all of it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

# Argo Workflows' API.
ARGO_GROUP, ARGO_VERSION, ARGO_PLURAL = "argoproj.io", "v1alpha1", "workflows"
ARGO_LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
ARGO_ANNOTATION_NODE = "workflows.argoproj.io/node-name"
ARGO_DONE = ("Succeeded", "Failed", "Error")
KUBELINE_DONE = ("completed", "failed", "cached", "cancelled")
SYSTEMS = ("kubeline", "argo")

Shape = list[tuple[str, list[str]]]  # (step name, the steps it runs after), in order


def chain(n: int) -> Shape:
    """s0 -> s1 -> ... -> s{n-1}."""
    return [(f"s{i}", [f"s{i - 1}"] if i else []) for i in range(n)]


def fan(width: int) -> Shape:
    """s0 -> (s1 .. s{width}) -> s{width+1}: one step, ``width`` in parallel, one joining."""
    middle = [f"s{i}" for i in range(1, width + 1)]
    return [("s0", []), *[(m, ["s0"]) for m in middle], (f"s{width + 1}", middle)]


WORKLOADS: dict[str, Shape] = {
    "chain3": chain(3),     # (a) a 3-step no-op chain
    "fan20": fan(20),       # (b) fan-out 1 -> 20 -> 1
    "chain200": chain(200),  # (c) one 200-step run
}


def argo_workflow(name: str, namespace: str, shape: Shape, node: str, image: str,
                  node_label: str, taint_key: str) -> dict[str, Any]:
    """One Argo DAG Workflow of no-op container steps, pinned to the kwok node (its
    nodeSelector and toleration), as ``argo submit`` would create it."""
    tasks = []
    for step, after in shape:
        task: dict[str, Any] = {"name": step, "template": "noop"}
        if after:
            task["dependencies"] = list(after)
        tasks.append(task)
    return {
        "apiVersion": f"{ARGO_GROUP}/{ARGO_VERSION}", "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "entrypoint": "main",
            "nodeSelector": {node_label: node},
            "tolerations": [{"key": taint_key, "operator": "Exists", "effect": "NoSchedule"}],
            "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {"name": "noop", "container": {"image": image, "command": ["true"],
                                               "imagePullPolicy": "Never"}},
            ],
        },
    }


def kubeline_snapshot(name: str, shape: Shape, image: str) -> dict[str, Any]:
    """The same shape as a Kubeline Snapshot of output-free steps (caching off)."""
    from kubeline.resources.models import SnapshotSpec

    spec = SnapshotSpec.model_validate({
        "pipeline": name, "pipelineName": name.replace("-", "_"), "image": image,
        "steps": [{"name": s, "id": s, "function": s, "entrypoint": f"bench:{s}",
                   "codeHash": "0" * 64, "after": list(after)} for s, after in shape],
        "enableCache": False,
    }).to_k8s()
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": name}, "spec": spec}


def argo_step(pod: dict[str, Any]) -> tuple[str, str]:
    """(workflow, step) of an Argo Pod: its workflow label and the DAG task its node name
    ends with (``<workflow>.<task>``)."""
    meta = pod.get("metadata") or {}
    run = (meta.get("labels") or {}).get(ARGO_LABEL_WORKFLOW, "")
    node = (meta.get("annotations") or {}).get(ARGO_ANNOTATION_NODE, "")
    return run, node.rsplit(".", 1)[-1]


def kubeline_step(pod: dict[str, Any]) -> tuple[str, str]:
    """(run, step) of a Kubeline step Pod, from its labels."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get("kubeline.dev/run", ""), labels.get("kubeline.dev/step", "")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank; NaN without values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(math.ceil(q / 100 * len(ordered)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def run_bytes(keys: dict[str, int], run: str) -> int:
    """Bytes of the etcd values that belong to ``run``: objects named after it (the run, its
    Pods ``<run>-...``, its Events ``<run>.<id>`` and ``<run>-...<id>``)."""
    total = 0
    for key, size in keys.items():
        last = key.rsplit("/", 1)[-1]
        if last == run or last.startswith((f"{run}-", f"{run}.")):
            total += size
    return total


@dataclass(frozen=True)
class Row:
    """One figure of the table: its name, unit, and whether more is better."""

    key: str
    label: str
    unit: str
    higher_is_better: bool = False


ROWS: list[Row] = [
    Row("throughput", "throughput, 3-step runs, 50 in flight", "steps/min", True),
    Row("trans1_p50", "step transition p50, 1 run", "ms"),
    Row("trans1_p99", "step transition p99, 1 run", "ms"),
    Row("trans10_p50", "step transition p50, 10 runs", "ms"),
    Row("trans10_p99", "step transition p99, 10 runs", "ms"),
    Row("trans100_p50", "step transition p50, 100 runs", "ms"),
    Row("trans100_p99", "step transition p99, 100 runs", "ms"),
    Row("admit_p50", "admission (create -> first Pod) p50", "ms"),
    Row("admit_p99", "admission (create -> first Pod) p99", "ms"),
    Row("fan20_s", "fan-out 1 -> 20 -> 1, create -> finished", "s"),
    Row("chain200_s", "200-step run, create -> finished", "s"),
    Row("api_per_step", "API requests per step (controller's)", "req"),
    Row("cpu_ctl", "controller CPU per step", "ms"),
    Row("cpu_apiserver", "kube-apiserver CPU per step", "ms"),
    Row("cpu_etcd", "etcd CPU per step", "ms"),
    Row("etcd_chain3", "etcd bytes per 3-step run", "KiB"),
    Row("etcd_fan20", "etcd bytes per fan-out run", "KiB"),
    Row("etcd_chain200", "etcd bytes per 200-step run", "KiB"),
    Row("etcd_step200", "etcd bytes per finished step of the 200-step run", "KiB"),
]


def advantage(row: Row, kubeline: float, argo: float) -> float:
    """How many times better Kubeline is on ``row`` (> 1: Kubeline ahead): Kubeline/Argo
    where more is better, Argo/Kubeline where less is. NaN when either is missing."""
    if any(math.isnan(v) for v in (kubeline, argo)):
        return math.nan
    if row.higher_is_better:
        return kubeline / argo if argo else math.inf
    return argo / kubeline if kubeline else math.inf


def _fmt(value: float, bound: str = "") -> str:
    if math.isnan(value):
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{bound} {text}" if bound else text


Results = dict[str, dict[str, dict[str, float]]]  # config -> system -> row key -> value
Capped = dict[str, dict[str, set[str]]]  # config -> system -> rows that are lower bounds


def advantage_text(row: Row, kubeline: float, argo: float, k_capped: bool = False,
                   a_capped: bool = False) -> str:
    """Kubeline's advantage on ``row`` as text: ``≥`` when only Argo's value is a lower bound
    (the advantage is one too), ``≤`` when only Kubeline's is; none when both are."""
    adv = advantage(row, kubeline, argo)
    if math.isnan(adv) or (k_capped and a_capped):
        return "—"
    mark = ""
    if a_capped or k_capped:  # a lower bound of a time makes the ratio a bound one way
        mark = "≥ " if a_capped != row.higher_is_better else "≤ "
    return f"{mark}{adv:.2f}"


def table(results: Results, configs: list[tuple[str, str]], capped: Capped | None = None,
          counts: dict[str, dict[str, int]] | None = None) -> str:
    """A Markdown table: per row, Kubeline and Argo under each configuration and Kubeline's
    advantage (x better; ``> 1`` means Kubeline ahead). ``results[config][system][row]``;
    ``configs`` are (config key, column title); ``capped[config][system]`` names the rows that
    hit the time cap (their value is a lower bound, so the advantage is a bound too);
    ``counts[config][system]``, the turns each column is the median of, go into its title."""
    capped = capped or {}
    counts = counts or {}

    def title(key: str, system: str, text: str) -> str:
        n = counts.get(key, {}).get(system)
        name = system.capitalize() if system == "argo" else "Kubeline"
        return f"{name} ({text}" + (f"; {n} turn{'s' if n != 1 else ''})" if n else ")")

    head = "| figure | unit |"
    rule = "|---|---|"
    for key, text in configs:
        head += (f" {title(key, 'kubeline', text)} | {title(key, 'argo', text)} |"
                 " Kubeline ahead x |")
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for row in ROWS:
        cells = f"| {row.label} | {row.unit} |"
        for key, _ in configs:
            k = results.get(key, {}).get("kubeline", {}).get(row.key, math.nan)
            a = results.get(key, {}).get("argo", {}).get(row.key, math.nan)
            k_cap = row.key in capped.get(key, {}).get("kubeline", set())
            a_cap = row.key in capped.get(key, {}).get("argo", set())
            cells += (f" {_fmt(k, '>' if k_cap else '')} | {_fmt(a, '>' if a_cap else '')} |"
                      f" {advantage_text(row, k, a, k_cap, a_cap)} |")
        lines.append(cells)
    return "\n".join(lines)


def behind(results: Results, config: str, capped: dict[str, set[str]] | None = None
           ) -> list[str]:
    """The rows where Kubeline is not ahead under ``config``; ``capped[system]`` are rows
    known only as a lower bound, which say nothing about which system is ahead (left out)."""
    out = []
    bounded = set().union(*(capped or {}).values()) if capped else set()
    for row in ROWS:
        adv = advantage(row, results.get(config, {}).get("kubeline", {}).get(row.key, math.nan),
                        results.get(config, {}).get("argo", {}).get(row.key, math.nan))
        if row.key in bounded:
            continue
        if not math.isnan(adv) and adv <= 1.0:
            out.append(row.key)
    return out


# ----------------------------------------------------------------------------- turns


@dataclass
class Turn:
    """One system's turn under one configuration, in a namespace of its own: its figures,
    the rows that are lower bounds, and the machine's load while it ran."""

    system: str
    config: str
    figures: dict[str, float] = field(default_factory=dict)
    capped: set[str] = field(default_factory=set)
    load: dict[str, float] = field(default_factory=dict)  # see LOAD_KEYS
    minutes: float = math.nan
    failed: bool = False

    def label(self, index: int) -> str:
        return f"{index + 1}: {self.system} {self.config}" + (" (cut short)" if self.failed else "")

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "config": self.config, "figures": self.figures,
                "capped": sorted(self.capped), "load": self.load, "minutes": self.minutes,
                "failed": self.failed}


# The load figures a turn records: the 1-minute load average at its start and end, its mean
# and maximum sampled over the turn, and the cores the whole machine kept busy (/proc/stat).
LOAD_KEYS = ("load_start", "load_mean", "load_max", "load_end", "busy_cores")


def parse_order(text: str, configs: list[str]) -> list[tuple[str, str]]:
    """``kubeline:matched,argo:matched,...`` -> [(system, config), ...]; a clear error on an
    unknown system or configuration."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        system, sep, config = item.partition(":")
        if not sep or system not in SYSTEMS or config not in configs:
            raise ValueError(f"turn {item!r}: expected SYSTEM:CONFIG with SYSTEM one of "
                             f"{', '.join(SYSTEMS)} and CONFIG one of {', '.join(configs)}")
        out.append((system, config))
    if not out:
        raise ValueError("no turns")
    return out


PHASES = ("admission", "transitions", "fanout", "chain200", "throughput")


def parse_phases(text: str) -> frozenset[str]:
    """``chain200,throughput`` -> the phases a turn measures (the warm-up always runs); a
    clear error on an unknown one."""
    got = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in got if p not in PHASES]
    if unknown or not got:
        raise ValueError(f"unknown phase(s) {', '.join(unknown) or '(none given)'}: expected "
                         f"some of {', '.join(PHASES)}")
    return frozenset(got)


def default_order(configs: list[str], kubeline_same: dict[str, str]) -> list[tuple[str, str]]:
    """Kubeline and Argo alternating: before each Argo turn a Kubeline turn under settings
    equal to that configuration's (``kubeline_same[config]``: the configuration whose Kubeline
    settings are the same), so noise falls on both systems alike."""
    return [pair for c in configs for pair in (("kubeline", kubeline_same[c]), ("argo", c))]


def serves(turn: Turn, config: str, kubeline_same: dict[str, str]) -> bool:
    """Whether ``turn``'s figures count for ``config``'s column: Argo's only for its own
    configuration; Kubeline's for every configuration with the same Kubeline settings."""
    if turn.system == "kubeline":
        return kubeline_same.get(turn.config, turn.config) == kubeline_same.get(config, config)
    return turn.config == config


def combine(turns: list[Turn], configs: list[str], kubeline_same: dict[str, str]
            ) -> tuple[Results, Capped, dict[str, dict[str, int]]]:
    """Per configuration and system, the median of each figure over the turns that serve it
    (a failed turn counts with what it measured), the rows any of those turns had only as a
    lower bound (the median of lower bounds is a lower bound of the median), and how many
    turns each column has."""
    results: Results = {}
    capped: Capped = {}
    counts: dict[str, dict[str, int]] = {}
    for config in configs:
        for system in SYSTEMS:
            mine = [t for t in turns if t.system == system and serves(t, config, kubeline_same)]
            if not mine:
                continue
            keys = sorted({k for t in mine for k in t.figures})
            results.setdefault(config, {})[system] = {
                k: median([t.figures[k] for t in mine
                           if k in t.figures and not math.isnan(t.figures[k])])
                for k in keys}
            capped.setdefault(config, {})[system] = set().union(*(t.capped for t in mine))
            counts.setdefault(config, {})[system] = len(mine)
    return results, capped, counts


# Figures a turn logs beyond the ratio table: what bounds a row (none is a Kubeline/Argo goal).
DIAGNOSTICS: list[Row] = [
    Row("admit_create_p50", "admission: create request round trip p50", "ms"),
    Row("admit_server_ms", "admission: API server time per run create (mean)", "ms"),
    Row("admit_etcd_ms", "admission: etcd create time per run (mean)", "ms"),
    Row("admit_vap_ms", "admission: ValidatingAdmissionPolicy plugin per CREATE (mean, all "
        "resources)", "ms"),
    Row("admit_cel_ms", "admission: CRD validation rules, per evaluation (mean)", "ms"),
    Row("admit_after_create_p50", "admission: create returned -> first Pod p50", "ms"),
    Row("reconcile_ms", "operator reconcile pass, admission phase (mean)", "ms"),
    Row("api_rate", "controller requests/s in the throughput window", "req/s"),
    Row("ctl_cores", "controller cores busy in the throughput window", "cores"),
    Row("api_per_step_own", "operator's own request count per step", "req"),
]


def turn_table(turns: list[Turn]) -> str:
    """A Markdown table of every turn's figures (the ratio table's rows, then the
    diagnostics, then the machine's load), one column per turn in the order they ran."""
    head = "| figure | unit |" + "".join(f" {t.label(i)} |" for i, t in enumerate(turns))
    rule = "|---|---|" + "---:|" * len(turns)
    lines = [head, rule]
    load_rows = [Row(k, {"load_start": "load average 1 min at the start",
                         "load_mean": "load average 1 min, mean over the turn",
                         "load_max": "load average 1 min, max over the turn",
                         "load_end": "load average 1 min at the end",
                         "busy_cores": "machine's busy cores, mean over the turn"}[k], "")
                 for k in LOAD_KEYS]
    for row in [*ROWS, *DIAGNOSTICS, *load_rows, Row("minutes", "turn length", "min")]:
        cells = []
        for t in turns:
            if row.key == "minutes":
                value = t.minutes
            else:
                value = t.load.get(row.key, math.nan) if row in load_rows else t.figures.get(
                    row.key, math.nan)
            cells.append(_fmt(value, ">" if row.key in t.capped else ""))
        if all(c == "—" for c in cells):
            continue
        lines.append(f"| {row.label} | {row.unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- API server metrics


def split_labels(text: str) -> dict[str, str]:
    """``a="x",b="y,z"`` -> {"a": "x", "b": "y,z"} (Prometheus text format labels)."""
    out: dict[str, str] = {}
    key, cur, quoted, escaped = "", "", False, False
    for ch in text:
        if quoted:
            if escaped:
                cur += ch
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            else:
                cur += ch
        elif ch == '"':
            quoted = True
        elif ch == "=":
            key, cur = cur.strip(), ""
        elif ch == ",":
            if key:
                out[key] = cur
            key, cur = "", ""
        else:
            cur += ch
    if key:
        out[key] = cur
    return out


def series(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` (exactly that name) in Prometheus text: (labels, value)."""
    out = []
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        rest = line[len(name):]
        if rest.startswith("{"):
            labels_text, _, value = rest[1:].rpartition("} ")
            labels = split_labels(labels_text)
        elif rest.startswith(" "):
            labels, value = {}, rest
        else:
            continue  # another metric whose name starts alike
        out.append((labels, float(value.split()[0])))
    return out


def histogram_mean_ms(before: str, after: str, name: str,
                      match: dict[str, str | None]) -> tuple[float, float]:
    """(observations, mean in ms) of histogram ``name`` between two scrapes, over the series
    whose labels match: a value equal, or, where the value is None, the label absent or
    empty; a key ending in ``~`` matches a label containing the value."""
    def selected(labels: dict[str, str]) -> bool:
        for key, want in match.items():
            if key.endswith("~"):
                if (want or "") not in labels.get(key[:-1], ""):
                    return False
            elif want is None:
                if labels.get(key):
                    return False
            elif labels.get(key) != want:
                return False
        return True

    def total(text: str, suffix: str) -> float:
        return sum(v for labels, v in series(text, name + suffix) if selected(labels))

    n = total(after, "_count") - total(before, "_count")
    secs = total(after, "_sum") - total(before, "_sum")
    return n, (secs / n * 1000 if n > 0 else math.nan)


def request_counts(text: str) -> dict[tuple[str, str, str], int]:
    """kube-apiserver's ``apiserver_request_total`` summed by (verb, resource, subresource);
    the scheduler's Events (group ``events.k8s.io``) as resource ``events.k8s.io/events``."""
    counts: dict[tuple[str, str, str], int] = {}
    for labels, value in series(text, "apiserver_request_total"):
        resource = labels.get("resource", "")
        if labels.get("group") == "events.k8s.io":  # the scheduler's; controllers post core v1
            resource = "events.k8s.io/events"
        key = (labels.get("verb", ""), resource, labels.get("subresource", ""))
        counts[key] = counts.get(key, 0) + int(value)
    return counts
