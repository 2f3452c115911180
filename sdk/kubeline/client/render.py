"""How runs, steps and artifacts are shown: rich tables/trees for people, dicts for -o json/yaml.

rich is imported inside the functions that need it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from kubeline.client.progress import RUN_STYLE, STEP_STYLE, fmt_duration, step_line, styled
from kubeline.errors import KubelineError
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES

if TYPE_CHECKING:
    from kubeline.client.runs import RunView
    from kubeline.client.steps import StepView


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def step_summary(step: StepView, resolve_outputs: bool = True) -> dict[str, Any]:
    """A step as plain data: state, timing, cache and outputs (artifact name and version)."""
    outputs: dict[str, Any] = {}
    for out, av_name in step.output_names.items():
        entry: dict[str, Any] = {"artifactVersion": av_name}
        if resolve_outputs:
            try:
                av = step.outputs[out]
                entry.update(artifact=av.name, version=av.version, uri=av.uri, id=av.id)
            except KubelineError as exc:
                entry["error"] = str(exc)
        outputs[out] = entry
    data: dict[str, Any] = {
        "name": step.name, "status": step.status, "attempts": step.attempts,
        "startTime": _iso(step.start_time), "endTime": _iso(step.end_time),
        "durationSeconds": step.duration, "pod": step.pod, "cacheKey": step.cache_key,
        "cachedFrom": step.cached_from, "message": step.message, "outputs": outputs,
    }
    return {k: v for k, v in data.items() if v not in (None, {}, "")}


def run_summary(run: RunView, resolve_outputs: bool = True) -> dict[str, Any]:
    """A run and its steps as plain data (what ``kubeline run describe -o json`` prints)."""
    data: dict[str, Any] = {
        "name": run.name, "id": run.id, "pipeline": run.pipeline_object_name,
        "snapshot": run.snapshot_name, "status": run.status, "index": run.index,
        "progress": run.progress, "startTime": _iso(run.start_time), "endTime": _iso(run.end_time),
        "durationSeconds": run.duration, "failedStep": run.failed_step, "message": run.message,
        "reason": run.status_reason, "config": run.spec.get("config") or {},
        "triggeredBy": run.spec.get("triggeredBy"),
        "steps": [step_summary(s, resolve_outputs) for s in run._steps_read.values()],
    }
    return {k: v for k, v in data.items() if v is not None}


def lineage_tree(run: RunView) -> Any:
    """The run's lineage: each step with its inputs (where they came from) and outputs."""
    from rich.markup import escape
    from rich.tree import Tree

    header = (f"[bold]{escape(run.name)}[/] "
              f"{styled(run.status, RUN_STYLE.get(run.status))}")
    if run.duration is not None:
        header += f" in {fmt_duration(run.duration)}"
    pipeline_name = run.pipeline_object_name
    # The name as written in Python, from the snapshot (fetched below anyway).
    with contextlib.suppress(KubelineError):
        pipeline_name = run.snapshot.spec.get("pipelineName") or pipeline_name
    if pipeline_name:
        header += f"  pipeline {escape(pipeline_name)}"
    model = run.k8s_status.get("model") or {}
    if model.get("name"):
        header += f"  model {escape(model['name'])}:{escape(str(model.get('version')))}"
    tree = Tree(header)
    if run.message and run.status in UNSUCCESSFUL_RUN_PHASES:
        tree.add(f"[red]{escape(run.message)}[/]")
    try:
        snapshot_steps = {s["id"]: s for s in run.snapshot.spec.get("steps") or []}
        by_dns = {s["name"]: s["id"] for s in snapshot_steps.values()}
    except KubelineError:
        snapshot_steps, by_dns = {}, {}
    for view in run._steps_read.values():
        label = (f"[bold]{escape(view.name)}[/] "
                 f"{styled(escape(step_line(view._status)), STEP_STYLE.get(view.status))}")
        if view.status not in ("pending", "cached") or view.duration:
            label += f"  {fmt_duration(view.duration)}"
        node = tree.add(label)
        for inp in (snapshot_steps.get(view.name) or {}).get("inputs") or []:
            if inp.get("modelArtifact"):
                ref = inp["modelArtifact"]
                got = next((m for m in run.k8s_status.get("modelArtifacts") or []
                            if m.get("step") == view.name and m.get("input") == inp["name"]),
                           None)
                asked = ref.get("version") or "latest"
                src = (f"model {ref.get('model')}:{asked}"
                       + (f" (version {got.get('version')})" if got else "")
                       + f" artifact {ref.get('artifact')}")
            elif inp.get("artifact"):
                ref = inp["artifact"]
                src = f"artifact {ref.get('name')}:{ref.get('version') or 'latest'}"
            else:
                src = f"{by_dns.get(inp.get('step'), inp.get('step'))}.{inp.get('output')}"
            node.add(f"[dim]in[/]  {escape(inp['name'])} <- {escape(src)}")
        for out in view.output_names:
            try:
                av = view.outputs[out]
                text = f"{av.name}:{av.version}  {av.uri}"
            except KubelineError as exc:
                text = f"({exc})"
            node.add(f"[dim]out[/] {escape(out)} -> {escape(text)}")
        if view.cache_key:
            node.add(f"[dim]cache key {view.cache_key[:16]}[/]")
    return tree
