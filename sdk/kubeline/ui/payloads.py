"""The UI's JSON: runs, their DAG and steps, built from the Client's views (pure, no I/O).

Everything here reads objects the Client already fetched; nothing requests more. The
DAG of a run is the snapshot's steps (inputs, outputs, ``after``) joined with the run's
per-step status, so one run page costs a GET of the run and one of its snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubeline.resources.names import ANNOTATION_SCHEDULED_TIME

if TYPE_CHECKING:
    from kubeline.client.artifacts import ArtifactVersionView
    from kubeline.client.pipelines import PipelineView
    from kubeline.client.runs import RunView

#: Phases a step node can show, in legend order (the run phase ``initialized`` shows as
#: ``pending`` on steps).
STEP_PHASES = ("completed", "running", "failed", "cached", "pending", "retrying",
               "cancelled", "skipped")
_STEP_KEYS = ("phase", "attempts", "pod", "startTime", "endTime", "nextRetryTime",
              "cachedFrom", "outputs", "message", "reason")


def run_summary(run: RunView) -> dict[str, Any]:
    """One row of the runs list (and the header of a run page): the run's own fields only."""
    st = run.k8s_status
    meta = run.metadata
    trig = run.spec.get("triggeredBy")
    return {
        "name": run.name,
        "namespace": meta.get("namespace"),
        "uid": run.id,
        "status": run.status,
        "pipeline": run.pipeline_object_name,
        "snapshot": run.snapshot_name,
        "index": st.get("index"),
        "created": meta.get("creationTimestamp"),
        "startTime": st.get("startTime"),
        "endTime": st.get("endTime"),
        "duration": st.get("duration"),
        "progress": st.get("progress"),
        "counts": st.get("counts"),
        "reason": st.get("reason"),
        "message": st.get("message"),
        "failedStep": st.get("failedStep"),
        "cancelRequested": run.cancel_requested,
        # With the operator's check of the claim (verified: null until the run started).
        "triggeredBy": {**trig, "verified": (st.get("triggeredBy") or {}).get("verified"),
                        "provenance": (st.get("triggeredBy") or {}).get("message")}
        if trig else None,
        # The Schedule that started the run and its due time (labels only: no request).
        "schedule": run.schedule_name,
        "scheduledTime": run.annotations.get(ANNOTATION_SCHEDULED_TIME),
        "resourceVersion": meta.get("resourceVersion"),
    }


def step_state(status: dict[str, Any]) -> dict[str, Any]:
    """A step's live state as the run status holds it (what SSE updates send)."""
    out: dict[str, Any] = {"id": status["name"]}
    for key in _STEP_KEYS:
        if status.get(key) not in (None, {}, ""):
            out[key] = status[key]
    out.setdefault("phase", "pending")
    return out


def run_dag(run: RunView, snapshot_spec: dict[str, Any] | None) -> dict[str, Any]:
    """Steps (with their inputs, outputs and state) and artifact slots of a run.

    Steps come from the snapshot (the DAG) merged with the run status (the state); a
    step only in the status (snapshot gone) still shows, without edges.
    """
    return spec_dag(snapshot_spec, {s["name"]: s for s in run.step_statuses})


def spec_dag(snapshot_spec: dict[str, Any] | None,
             statuses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A snapshot's DAG with the step states in ``statuses`` (by step id; {} for a snapshot
    page, where every step is pending)."""
    spec_steps = list((snapshot_spec or {}).get("steps") or [])
    by_name = {s["name"]: s["id"] for s in spec_steps}
    steps: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in spec_steps:
        sid = spec["id"]
        seen.add(sid)
        state = step_state(statuses.get(sid) or {"name": sid})
        inputs = []
        for inp in spec.get("inputs") or []:
            if inp.get("step"):
                inputs.append({"name": inp["name"], "step": by_name.get(inp["step"], inp["step"]),
                               "output": inp.get("output")})
            elif inp.get("artifact"):
                inputs.append({"name": inp["name"], "artifact": dict(inp["artifact"])})
        outputs = [o["name"] for o in spec.get("outputs") or []]
        steps.append({
            **state,
            "function": spec.get("function"),
            "inputs": inputs,
            "outputNames": outputs,
            "after": [by_name.get(a, a) for a in spec.get("after") or []],
            "enableCache": spec.get("enableCache", True),
        })
        for out in spec.get("outputs") or []:
            artifacts.append({
                "id": f"{sid}/{out['name']}",
                "step": sid,
                "output": out["name"],
                "artifactName": out.get("artifactName") or out["name"],
                "dataType": out.get("dataType") or "",
                "artifactVersion": (state.get("outputs") or {}).get(out["name"]),
            })
    for sid, status in statuses.items():  # recorded steps the snapshot does not list
        if sid not in seen:
            steps.append({**step_state(status), "inputs": [], "outputNames": [], "after": []})
    return {"steps": steps, "artifacts": artifacts}


def run_page(run: RunView, snapshot_spec: dict[str, Any] | None,
             triggered: list[RunView]) -> dict[str, Any]:
    """Everything a run page first needs: summary, DAG, and runs started from its steps."""
    return {
        "run": run_summary(run),
        **run_dag(run, snapshot_spec),
        "triggeredRuns": [
            {"name": t.name, "status": t.status,
             "step": (t.spec.get("triggeredBy") or {}).get("step")}
            for t in triggered
        ],
        "snapshotMissing": snapshot_spec is None,
    }


def status_update(run: RunView, previous: dict[str, dict[str, Any]] | None
                  ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An SSE update: the run summary and only the steps whose state changed.

    Returns the update and the new per-step state to diff the next event against.
    """
    current = {s["name"]: step_state(s) for s in run.step_statuses}
    changed = [state for sid, state in current.items()
               if previous is None or previous.get(sid) != state]
    return {"run": run_summary(run), "steps": changed}, current


def pipeline_row(pipeline: PipelineView, last_run: RunView | None) -> dict[str, Any]:
    """One row of the pipelines view."""
    st = pipeline.k8s_status
    return {
        "name": pipeline.name,
        "objectName": pipeline.object_name,
        "description": pipeline.description,
        "runCount": pipeline.st.run_count,
        "lastRun": st.get("lastRun"),
        "lastRunStatus": last_run.status if last_run else None,
        "lastRunTime": (last_run.k8s_status.get("startTime") if last_run else None),
        "latestSnapshot": st.get("latestSnapshot"),
        "created": pipeline.metadata.get("creationTimestamp"),
    }


def artifact_detail(av: ArtifactVersionView, consumers: list[dict[str, str]]) -> dict[str, Any]:
    """The artifact panel: identity, storage, metadata, visualizations, producer, consumers."""
    return {
        "objectName": av.object_name,
        "name": av.name,
        "version": av.version,
        "uid": av.id,
        "dataType": av.data_type,
        "materializer": av.materializer,
        "uri": av.uri,
        "contentHash": av.content_hash,
        "saveType": av.save_type,
        "tags": av.tags,
        "metadata": dict(av.spec.get("metadata") or {}),
        "visualizations": [{"index": i, "type": v.get("type")}
                           for i, v in enumerate(av.visualizations)],
        "producer": av.producer,
        "consumers": consumers,
        "created": av.metadata.get("creationTimestamp"),
    }


def consumers_in(snapshot_spec: dict[str, Any] | None, run_name: str, step_id: str,
                 output: str) -> list[dict[str, str]]:
    """Steps of a run (by its snapshot) that take ``step_id``'s ``output`` as an input."""
    spec_steps = list((snapshot_spec or {}).get("steps") or [])
    producer_name = next((s["name"] for s in spec_steps if s["id"] == step_id), step_id)
    found = []
    for spec in spec_steps:
        for inp in spec.get("inputs") or []:
            if inp.get("step") == producer_name and inp.get("output") == output:
                found.append({"run": run_name, "step": spec["id"], "input": inp["name"]})
    return found
