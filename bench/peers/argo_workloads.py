"""Pure parts of the Argo Workflows side-by-side bench (``bench/peers/argo.py``): the
workload shapes, the same shape as an Argo DAG Workflow and as a Kubeline Snapshot, and the
Kubeline/Argo ratio table. No I/O here, so the unit tests can check all of it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

# Argo Workflows' API.
ARGO_GROUP, ARGO_VERSION, ARGO_PLURAL = "argoproj.io", "v1alpha1", "workflows"
ARGO_LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
ARGO_ANNOTATION_NODE = "workflows.argoproj.io/node-name"
ARGO_DONE = ("Succeeded", "Failed", "Error")
KUBELINE_DONE = ("completed", "failed", "cached", "cancelled")

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


def _fmt(value: float, lower_bound: bool = False) -> str:
    if math.isnan(value):
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"> {text}" if lower_bound else text


def table(results: dict[str, dict[str, dict[str, float]]], configs: list[tuple[str, str]],
          capped: dict[str, set[str]] | None = None) -> str:
    """A Markdown table: per row, Kubeline and Argo under each configuration and Kubeline's
    advantage (x better; ``> 1`` means Kubeline ahead). ``results[config][system][row]``;
    ``configs`` are (config key, column title); ``capped[config]`` names Argo's rows that hit
    the time cap (their value is a lower bound, so the advantage is too)."""
    capped = capped or {}
    head = "| figure | unit |"
    rule = "|---|---|"
    for _, title in configs:
        head += f" Kubeline ({title}) | Argo ({title}) | Kubeline ahead x |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for row in ROWS:
        cells = f"| {row.label} | {row.unit} |"
        for key, _ in configs:
            k = results.get(key, {}).get("kubeline", {}).get(row.key, math.nan)
            a = results.get(key, {}).get("argo", {}).get(row.key, math.nan)
            cap = row.key in capped.get(key, set())
            adv = advantage(row, k, a)
            adv_text = "—" if math.isnan(adv) else (("≥ " if cap else "") + f"{adv:.2f}")
            cells += f" {_fmt(k)} | {_fmt(a, cap)} | {adv_text} |"
        lines.append(cells)
    return "\n".join(lines)


def behind(results: dict[str, dict[str, dict[str, float]]], config: str,
           capped: set[str] | None = None) -> list[str]:
    """The rows where Kubeline is not ahead under ``config`` (a row in ``capped`` has only
    a lower bound of the advantage, which says nothing when it is <= 1)."""
    out = []
    for row in ROWS:
        adv = advantage(row, results.get(config, {}).get("kubeline", {}).get(row.key, math.nan),
                        results.get(config, {}).get("argo", {}).get(row.key, math.nan))
        if row.key in (capped or set()):
            continue
        if not math.isnan(adv) and adv <= 1.0:
            out.append(row.key)
    return out
