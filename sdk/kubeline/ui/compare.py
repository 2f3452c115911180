"""Two to five runs of a pipeline side by side (pure: reads views already fetched).

Rows are parameters (per step, after overrides), steps (status, duration, cache key and,
against the first run, the key parts that differ, in the words of
:mod:`kubeline.ui.cache_explain`), numeric metadata (what steps logged and the numeric
metadata of their outputs, e.g. a float output's ``value``) and the outputs' metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeline.ui.cache_explain import changes_between, step_record
from kubeline.ui.payloads import run_summary

MIN_RUNS, MAX_RUNS = 2, 5
#: Output metadata that says how the data is stored, not how good it is: not charted.
NOT_A_METRIC = frozenset({"storage_size"})


@dataclass
class ComparedRun:
    """One run with its snapshot spec and its outputs' metadata (ArtifactVersion name ->
    metadata) as read by the caller."""

    run: Any
    spec: dict[str, Any] | None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step_ids(runs: list[ComparedRun]) -> list[str]:
    seen: dict[str, None] = {}
    for c in runs:
        for st in c.run.step_statuses:
            seen.setdefault(st["name"], None)
    return list(seen)


def compare(runs: list[ComparedRun]) -> dict[str, Any]:
    """The comparison page's JSON."""
    ids = _step_ids(runs)
    records = [{sid: step_record(c.run, c.spec, sid) for sid in ids} for c in runs]
    statuses = [{s["name"]: s for s in c.run.step_statuses} for c in runs]

    parameters = []
    for sid in ids:
        params = [rec.parameters if (rec := by_step[sid]) else {} for by_step in records]
        for name in sorted({k for p in params for k in p}):
            values = [p.get(name) for p in params]
            parameters.append({"step": sid, "name": name, "values": values,
                               "differs": any(v != values[0] for v in values)})

    steps = []
    for sid in ids:
        cells = []
        first = records[0][sid]
        for i, c in enumerate(runs):
            rec, st = records[i][sid], statuses[i].get(sid) or {}
            changes = (changes_between(first, rec) if i and first and rec and first.parts
                       and rec.parts else [])
            step = c.run._steps_read.get(sid)
            cells.append({
                "status": st.get("phase"), "duration": step.duration if step else None,
                "cacheKey": rec.key if rec else None, "cachedFrom": st.get("cachedFrom"),
                "changes": changes,
            })
        keys = {cell["cacheKey"] for cell in cells}
        steps.append({"id": sid, "runs": cells, "differs": len(keys) > 1})

    metrics: dict[tuple[str, str], list[Any]] = {}
    outputs = []
    for i in range(len(runs)):
        for sid in ids:
            for key, value in ((statuses[i].get(sid) or {}).get("metadata") or {}).items():
                if _numeric(value):
                    metrics.setdefault((sid, key), [None] * len(runs))[i] = value
    for sid in ids:
        names = sorted({o for st in statuses for o in ((st.get(sid) or {}).get("outputs") or {})})
        for out in names:
            cells = []
            for i, c in enumerate(runs):
                av = ((statuses[i].get(sid) or {}).get("outputs") or {}).get(out)
                meta = c.outputs.get(av or "", {}) if av else {}
                cells.append({"artifactVersion": av, "metadata": meta})
                for key, value in meta.items():
                    if _numeric(value) and key not in NOT_A_METRIC:
                        metrics.setdefault((f"{sid}.{out}", key), [None] * len(runs))[i] = value
            outputs.append({"step": sid, "output": out, "runs": cells})
    return {
        "runs": [run_summary(c.run) for c in runs],
        "parameters": parameters,
        "steps": steps,
        "metrics": [{"source": src, "name": name, "values": values}
                    for (src, name), values in metrics.items()],
        "outputs": outputs,
    }
