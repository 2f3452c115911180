"""Lineage across pipelines: from an artifact version or a model version, the graph upstream
(producing step and run, its inputs, the runs that produced those, in any pipeline) and
downstream (the steps and runs that consumed it).

The walk is pure over a :class:`Reader` (the UI backs it with the caller's Client, memoized,
so each object costs one request at most). Upstream follows recorded facts only: an
ArtifactVersion's ``spec.producer``, the producing run's snapshot inputs, its upstream
steps' recorded outputs, ``status.modelArtifacts`` and artifact references pinned by id.
Downstream uses label selectors: the producing run's own consumer steps, the runs the
operator labelled with the artifact's uid or the model's name as it resolved their inputs
(every run, however it was made), and the runs of Snapshots the SDK labelled so
(:func:`kubeline.resources.names.snapshot_input_labels`; runs from before the operator
labelled runs); nothing lists every run.
"""

from __future__ import annotations

from typing import Any, Protocol

from kubeline.resources import names
from kubeline.resources.input_versions import input_version_uids, version_taken_by_name

MAX_NODES = 150
MAX_RUN_HOPS = 8  # runs followed upstream from the start
CONSUMER_RUNS = 20  # runs read per consuming Snapshot


class Reader(Protocol):
    """What the walk reads; each returns None when the object is gone."""

    def artifact(self, object_name: str) -> Any: ...
    def artifact_by_uid(self, uid: str) -> Any: ...
    def artifact_by_ref(self, name: str, version: str | None) -> Any: ...
    def run(self, object_name: str) -> Any: ...
    def snapshot_spec(self, run: Any) -> dict[str, Any] | None: ...
    def snapshots_labelled(self, label_key: str) -> list[str]: ...
    def runs_of_snapshot(self, snapshot: str, limit: int) -> list[Any]: ...
    def runs_labelled(self, label_key: str, limit: int) -> list[Any]: ...


class Graph:
    """Nodes and edges, deduplicated, bounded by MAX_NODES."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str], dict[str, str]] = {}
        self.truncated = False

    def node(self, nid: str, **data: Any) -> bool:
        """Add a node; False if it was there already or the graph is full."""
        if nid in self.nodes:
            self.nodes[nid].update({k: v for k, v in data.items() if v is not None})
            return False
        if len(self.nodes) >= MAX_NODES:
            self.truncated = True
            return False
        self.nodes[nid] = {"id": nid, **data}
        return True

    def edge(self, source: str, target: str, label: str = "") -> None:
        if source in self.nodes and target in self.nodes:
            self.edges.setdefault((source, target), {"source": source, "target": target,
                                                     "label": label})


def av_id(object_name: str) -> str:
    return f"artifact:{object_name}"


def step_id(run: str, step: str) -> str:
    return f"step:{run}/{step}"


def _av_node(g: Graph, av: Any, side: str, depth: int) -> str:
    nid = av_id(av.object_name)
    g.node(nid, kind="artifact", side=side, depth=depth, objectName=av.object_name,
           name=av.name, version=av.version, uid=av.id, dataType=av.data_type,
           producer=av.producer)
    return nid


def _step_node(g: Graph, run: Any, sid: str, side: str, depth: int) -> str:
    nid = step_id(run.name, sid)
    st: dict[str, Any] = next((s for s in run.step_statuses if s["name"] == sid), {})
    g.node(nid, kind="step", side=side, depth=depth, run=run.name, step=sid,
           pipeline=run.pipeline_object_name, status=st.get("phase"),
           runStatus=run.status, cachedFrom=st.get("cachedFrom"))
    return nid


def step_inputs(run: Any, spec: dict[str, Any] | None, sid: str) -> list[dict[str, Any]]:
    """The inputs of step ``sid`` of ``run`` as recorded: ``{"input", "av"}`` (an
    ArtifactVersion object name) or ``{"input", "uid"}`` / ``{"input", "ref"}`` for
    artifacts from outside the run, ``model`` when resolved from a model version."""
    steps = list((spec or {}).get("steps") or [])
    by_name = {s["name"]: s["id"] for s in steps}
    statuses = {s["name"]: s for s in run.step_statuses}
    me = next((s for s in steps if s["id"] == sid), None)
    resolved = {m.get("input"): m for m in run.k8s_status.get("modelArtifacts") or []
                if m.get("step") == sid}
    out: list[dict[str, Any]] = []
    for inp in (me or {}).get("inputs") or []:
        name = inp["name"]
        if inp.get("step"):
            up = by_name.get(inp["step"], inp["step"])
            av = ((statuses.get(up) or {}).get("outputs") or {}).get(inp.get("output") or "")
            if av:
                out.append({"input": name, "av": av})
        elif inp.get("modelArtifact"):
            m = resolved.get(name)
            if m:
                out.append({"input": name, "av": m["artifactVersion"],
                            "model": {"name": m.get("model"), "version": m.get("version"),
                                      "number": m.get("number")}})
        elif inp.get("artifact"):
            ref = inp["artifact"]
            out.append({"input": name, "uid": ref["id"]} if ref.get("id") else
                       {"input": name, "ref": {"name": ref.get("name"),
                                               "version": ref.get("version")}})
    return out


def _resolve(reader: Reader, item: dict[str, Any]) -> Any:
    if "av" in item:
        return reader.artifact(item["av"])
    if "uid" in item:
        return reader.artifact_by_uid(item["uid"])
    return reader.artifact_by_ref(item["ref"]["name"], item["ref"].get("version"))


def upstream(reader: Reader, g: Graph, av: Any, depth: int = 0, hops: int = 0) -> str:
    """Add ``av``, its producer and, recursively, what that step consumed."""
    nid = _av_node(g, av, "upstream", depth)
    prod = av.producer or {}
    if not prod.get("run") or hops > MAX_RUN_HOPS:
        if prod.get("run"):
            g.truncated = True
        return nid
    run = reader.run(prod["run"])
    if run is None:
        g.nodes[nid]["producerGone"] = True
        return nid
    sid = prod.get("step") or ""
    existed = step_id(run.name, sid) in g.nodes
    snode = _step_node(g, run, sid, "upstream", depth - 1)
    g.edge(snode, nid, prod.get("output") or "")
    if existed:
        return nid
    for item in step_inputs(run, reader.snapshot_spec(run), sid):
        src = _resolve(reader, item)
        if src is None:
            continue
        same_run = (src.producer or {}).get("run") == run.name
        anode = upstream(reader, g, src, depth - 2, hops if same_run else hops + 1)
        g.edge(anode, snode, item["input"])
        if item.get("model"):
            g.nodes[anode]["viaModel"] = item["model"]
    return nid


def _consumer_steps(spec: dict[str, Any] | None, match: Any) -> list[tuple[str, str]]:
    found = []
    for step in (spec or {}).get("steps") or []:
        for inp in step.get("inputs") or []:
            if match(step, inp):
                found.append((step["id"], inp["name"]))
    return found


def _consumer_runs(reader: Reader, label_key: str) -> list[Any]:
    """Runs labelled ``label_key`` (by the operator), then runs of Snapshots labelled so (by
    the SDK), each run once."""
    runs = {r.name: r for r in reader.runs_labelled(label_key, CONSUMER_RUNS)}
    for snap in reader.snapshots_labelled(label_key):
        for run in reader.runs_of_snapshot(snap, CONSUMER_RUNS):
            runs.setdefault(run.name, run)
    return list(runs.values())


def _takes(reader: Reader, av: Any, run: Any) -> Any:
    """Does a step input of ``run`` (a consumer of ``av`` by its labels) take ``av``? A
    by-name input without a version took the version
    :func:`~kubeline.resources.input_versions.version_taken_by_name` names (the run may have
    taken several versions of the artifact: only that one is this input's)."""
    models = {(m.get("step"), m.get("input")) for m in run.k8s_status.get("modelArtifacts") or []
              if m.get("artifactVersion") == av.object_name}
    started = {s.get("name"): s.get("startTime") for s in run.k8s_status.get("steps") or []}
    candidates: list[Any] = []

    def taken_by_name(step_id: str) -> str | None:
        if not candidates:
            for uid in sorted(input_version_uids(run.labels)):
                version = av if uid == av.id else reader.artifact_by_uid(uid)
                if version is not None and version.name == av.name:
                    candidates.append(version.object)
        taken = version_taken_by_name(candidates, av.name, started.get(step_id))
        return (taken.get("metadata") or {}).get("uid") if taken is not None else None

    def match(step: dict[str, Any], inp: dict[str, Any]) -> bool:
        ref = inp.get("artifact") or {}
        if ref.get("id"):
            return bool(ref["id"] == av.id)
        if ref.get("name"):  # by name: the run's labels say which versions it resolved to
            if ref["name"] != av.name:
                return False
            if ref.get("version") is not None:
                return bool(ref["version"] == av.version)
            taken = taken_by_name(step["id"])
            return taken is None or taken == av.id  # None: not told (no start time)
        return (step["id"], inp["name"]) in models

    return match


def downstream_of_artifact(reader: Reader, g: Graph, av: Any, root: str) -> None:
    """Steps that took ``av``: in its producing run, and in runs labelled as its consumers."""
    prod = av.producer or {}
    depth = g.nodes[root]["depth"] + 1
    if prod.get("run"):
        run = reader.run(prod["run"])
        if run is not None:
            spec = reader.snapshot_spec(run)
            producer_name = next((s["name"] for s in (spec or {}).get("steps") or []
                                  if s["id"] == prod.get("step")), prod.get("step"))
            for sid, arg in _consumer_steps(spec, lambda _s, i: i.get("step") == producer_name
                                            and i.get("output") == prod.get("output")):
                g.edge(root, _step_node(g, run, sid, "downstream", depth), arg)
    if not av.id:
        return
    for run in _consumer_runs(reader, names.input_artifact_label(av.id)):
        for sid, arg in _consumer_steps(reader.snapshot_spec(run), _takes(reader, av, run)):
            g.edge(root, _step_node(g, run, sid, "downstream", depth), arg)


def downstream_of_model_version(reader: Reader, g: Graph, model: str, version: str,
                                root: str) -> None:
    """Steps whose model-artifact inputs resolved to this version when their run started."""
    for run in _consumer_runs(reader, names.input_model_label(model)):
        for m in run.k8s_status.get("modelArtifacts") or []:
            if m.get("model") == model and str(m.get("version")) == str(version):
                g.edge(root, _step_node(g, run, m["step"], "downstream",
                                        g.nodes[root]["depth"] + 1), m["input"])


def payload(g: Graph, root: str) -> dict[str, Any]:
    """The graph's JSON, with the pipelines its upstream side crosses."""
    pipelines: dict[str, list[str]] = {}
    for node in g.nodes.values():
        if node["kind"] == "step" and node["side"] == "upstream" and node.get("pipeline"):
            runs = pipelines.setdefault(node["pipeline"], [])
            if node["run"] not in runs:
                runs.append(node["run"])
    return {"root": root, "nodes": list(g.nodes.values()), "edges": list(g.edges.values()),
            "upstreamPipelines": [{"pipeline": p, "runs": r} for p, r in pipelines.items()],
            "truncated": g.truncated}


def for_artifact(reader: Reader, av: Any) -> dict[str, Any]:
    """Upstream and downstream of one artifact version."""
    g = Graph()
    root = upstream(reader, g, av)
    g.nodes[root]["root"] = True
    downstream_of_artifact(reader, g, av, root)
    return payload(g, root)


def for_model_version(reader: Reader, mv: Any) -> dict[str, Any]:
    """Upstream of every artifact linked to a model version, and the runs that used it."""
    g = Graph()
    root = f"model:{mv.model_name}/{mv.name}"
    g.node(root, kind="model", side="root", depth=1, root=True, model=mv.model_name,
           version=mv.name, number=mv.number, stage=mv.stage)
    for link in mv.links:
        av = reader.artifact(link.get("artifactVersion") or "")
        if av is None:
            continue
        anode = upstream(reader, g, av)
        g.nodes[anode]["linkType"] = link.get("type")
        g.edge(anode, root, link.get("type") or "")
    downstream_of_model_version(reader, g, mv.model_name, mv.name, root)
    return payload(g, root)
