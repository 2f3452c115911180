"""Why a step was or was not served from the cache (pure).

The operator records, per step, the digest of every part of its cache key
(``StepStatus.cache.parts``: code, image, parameters, inputs, outputs, env,
cacheVersion). Against the closest earlier run of the same step, the parts whose
digests differ say what changed; parameter values and input artifact versions,
which the run statuses also hold, turn that into "parameter gamma 0.001 → 0.01".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_PART_TEXT = {
    "code": "the step's source code changed",
    "image": "the step's image changed",
    "outputs": "the step's outputs or their materializers changed",
    "env": "the step's declared environment changed",
    "cacheVersion": "the step's cache_version changed",
}


@dataclass
class StepRecord:
    """What one run recorded for one step: its status, parameters and inputs' versions."""

    run: str
    status: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    #: input argument name -> ArtifactVersion object name it was fed
    inputs: dict[str, str | None] = field(default_factory=dict)

    @property
    def parts(self) -> dict[str, str]:
        return dict((self.status.get("cache") or {}).get("parts") or {})

    @property
    def key(self) -> str | None:
        return (self.status.get("cache") or {}).get("key")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(
        value, str) else repr(value)


def parameter_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``parameter gamma 0.001 → 0.01`` lines, plus added and removed parameters."""
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            lines.append(f"parameter {name} added: {_show(after[name])}")
        elif name not in after:
            lines.append(f"parameter {name} removed (was {_show(before[name])})")
        elif before[name] != after[name]:
            lines.append(f"parameter {name} {_show(before[name])} → {_show(after[name])}")
    return lines


def input_changes(before: dict[str, str | None], after: dict[str, str | None]) -> list[str]:
    """``input X_train: x-train-… → x-train-…`` for inputs fed a different artifact version."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            lines.append(f"input {name}: {old or 'none'} → {new or 'none'}")
    return lines


def changes_between(earlier: StepRecord, this: StepRecord) -> list[dict[str, str]]:
    """What differs between two records of a step, part by part (``{"part", "detail"}``)."""
    out: list[dict[str, str]] = []
    a, b = earlier.parts, this.parts
    for part in sorted(set(a) | set(b)):
        if a.get(part) == b.get(part):
            continue
        if part == "parameters":
            lines = parameter_changes(earlier.parameters, this.parameters)
            out.extend({"part": part, "detail": line} for line in lines)
            if not lines:
                out.append({"part": part, "detail": "the parameters changed"})
        elif part == "inputs":
            lines = input_changes(earlier.inputs, this.inputs)
            out.extend({"part": part, "detail": line} for line in lines)
            if not lines:
                out.append({"part": part, "detail": "an input's content changed"})
        else:
            out.append({"part": part, "detail": _PART_TEXT.get(part, f"{part} changed")})
    return out


def closest(this: StepRecord, earlier: list[StepRecord]) -> StepRecord | None:
    """The earlier record differing from ``this`` in the fewest key parts (newest on ties).

    ``earlier`` is newest first; records without a cache key are ignored.
    """
    best: StepRecord | None = None
    best_diff = 1 << 30
    mine = this.parts
    for rec in earlier:
        theirs = rec.parts
        if not theirs:
            continue
        diff = sum(1 for p in set(mine) | set(theirs) if mine.get(p) != theirs.get(p))
        if diff < best_diff:
            best, best_diff = rec, diff
    return best


def explain(this: StepRecord, earlier: list[StepRecord], cache_enabled: bool,
            disabled_by: str | None = None) -> dict[str, Any]:
    """The step panel's cache section: the verdict, the reason and what changed.

    ``earlier`` holds the same step's records in earlier runs, newest first.
    ``disabled_by`` says where caching was turned off (step or run) when it was.
    """
    phase = this.status.get("phase") or "pending"
    cached_from = this.status.get("cachedFrom")
    result: dict[str, Any] = {"cached": phase == "cached", "key": this.key,
                              "parts": this.parts, "changes": [], "comparedWith": None}
    if phase == "cached" and cached_from:
        result["summary"] = (f"Served from the cache: same key as step {cached_from['step']} "
                             f"of run {cached_from['run']}.")
        result["comparedWith"] = dict(cached_from)
        return result
    if not this.parts:
        result["summary"] = ("Not evaluated yet: the cache key is computed when the step's "
                             "inputs are ready." if phase in ("pending", "retrying")
                             else "No cache key was recorded for this step.")
        return result
    other = closest(this, earlier)
    if other is not None:
        result["comparedWith"] = {"run": other.run, "step": this.status.get("name", "")}
        result["changes"] = changes_between(other, this)
    if not cache_enabled:
        where = disabled_by or "this step"
        result["summary"] = f"Not cached: caching is disabled for {where}."
    elif other is None:
        result["summary"] = "Not cached: no earlier run of this step was found to reuse."
    elif not result["changes"]:
        result["summary"] = (f"Not cached: run {other.run} has the same key, but its result "
                             "could not be reused (not finished then, expired, or its outputs "
                             "are gone).")
    else:
        first = result["changes"][0]["detail"]
        more = len(result["changes"]) - 1
        result["summary"] = (f"Not cached: against run {other.run}, {first}"
                             + (f" (and {more} more change{'s' if more > 1 else ''})."
                                if more else "."))
    return result


def input_versions(step_spec: dict[str, Any] | None, step_ids_by_name: dict[str, str],
                   statuses: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Input argument -> ArtifactVersion object name, from the upstream steps' recorded outputs."""
    out: dict[str, str | None] = {}
    for inp in (step_spec or {}).get("inputs") or []:
        if inp.get("step"):
            upstream = step_ids_by_name.get(inp["step"], inp["step"])
            out[inp["name"]] = ((statuses.get(upstream) or {}).get("outputs") or {}).get(
                inp.get("output") or "")
        elif inp.get("artifact"):
            ref = inp["artifact"]
            version = ref.get("version") or "latest"
            out[inp["name"]] = ref.get("id") or f"{ref.get('name')}@{version}"
    return out


def step_record(run: Any, spec: dict[str, Any] | None, sid: str) -> StepRecord | None:
    """What ``run`` (a RunView) recorded for step ``sid``, its snapshot spec joined in."""
    statuses = {s["name"]: s for s in run.step_statuses}
    status = statuses.get(sid)
    if status is None:
        return None
    steps = list((spec or {}).get("steps") or [])
    step_spec = next((s for s in steps if s["id"] == sid), None)
    by_name = {s["name"]: s["id"] for s in steps}
    params = (run.k8s_status.get("parameters") or {}).get(sid)
    if params is None:
        params = run.config.steps[sid].parameters if sid in run.config.steps else {}
    return StepRecord(run=run.name, status=status, parameters=dict(params or {}),
                      inputs=input_versions(step_spec, by_name, statuses))
