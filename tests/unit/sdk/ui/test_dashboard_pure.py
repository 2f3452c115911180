"""The dashboard's pure parts: run comparison, the lineage walk, Snapshot input labels."""

from __future__ import annotations

from typing import Any

import pytest
from kubeline.client.runs import RunView
from kubeline.resources import names
from kubeline.ui import lineage
from kubeline.ui.compare import ComparedRun, compare

pytestmark = pytest.mark.unit

TRAIN = {"steps": [
    {"name": "loader", "id": "loader", "inputs": [
        {"name": "data", "artifact": {"name": "ds", "version": "1", "id": "uid-ds"}}],
     "outputs": [{"name": "X", "materializer": "m"}]},
    {"name": "svc-trainer", "id": "svc_trainer",
     "inputs": [{"name": "X_train", "step": "loader", "output": "X"}],
     "outputs": [{"name": "acc", "materializer": "m"}]},
]}
FEATURES = {"steps": [{"name": "prepare", "id": "prepare", "outputs": [
    {"name": "output", "materializer": "m"}]}]}


#: A Snapshot applied with kubectl: the dataset by name (no pinned id), so no labels on it.
KUBECTL = {"steps": [
    {"name": "loader", "id": "loader", "inputs": [{"name": "data", "artifact": {"name": "ds-1"}}],
     "outputs": [{"name": "X", "materializer": "m"}]}]}


def _run(name: str, pipeline: str, steps: list[dict[str, Any]],
         labels: dict[str, str] | None = None, **status: Any) -> RunView:
    obj = {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                        "labels": labels or {}},
           "spec": {"snapshot": f"snap-{pipeline}"},
           "status": {"phase": "completed", "pipeline": pipeline, "snapshot": f"snap-{pipeline}",
                      "steps": steps, **status}}
    return RunView(None, obj)  # type: ignore[arg-type]


def _train_run(name: str, gamma: float, loader_phase: str, key: str) -> RunView:
    parts = {"code": "c", "parameters": f"p{gamma}", "inputs": "i"}
    return _run(name, "train", [
        {"name": "loader", "phase": loader_phase, "outputs": {"X": "x-1"},
         "cache": {"key": "kl", "parts": {"code": "c", "inputs": "d"}},
         **({"cachedFrom": {"run": "t-1", "step": "loader"}} if loader_phase == "cached" else {})},
        {"name": "svc_trainer", "phase": "completed", "outputs": {"acc": f"acc-{name}"},
         "startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:00:04Z",
         "cache": {"key": key, "parts": parts}, "metadata": {"f1": gamma * 10}},
    ], parameters={"svc_trainer": {"gamma": gamma}, "loader": {}})


def test_compare_highlights_the_differing_parameter_and_the_cache_miss() -> None:
    a, b = _train_run("t-1", 0.001, "completed", "k1"), _train_run("t-2", 0.01, "cached", "k2")
    out = compare([ComparedRun(a, TRAIN, {"acc-t-1": {"value": 0.9, "storage_size": 9}}),
                   ComparedRun(b, TRAIN, {"acc-t-2": {"value": 0.97, "storage_size": 9}})])
    (gamma,) = out["parameters"]
    assert gamma == {"step": "svc_trainer", "name": "gamma", "values": [0.001, 0.01],
                     "differs": True}
    steps = {s["id"]: s for s in out["steps"]}
    assert steps["loader"]["differs"] is False
    assert steps["loader"]["runs"][1]["cachedFrom"] == {"run": "t-1", "step": "loader"}
    trainer = steps["svc_trainer"]
    assert trainer["differs"] is True
    assert trainer["runs"][0]["changes"] == []  # the first run is the reference
    assert trainer["runs"][1]["changes"] == [
        {"part": "parameters", "detail": "parameter gamma 0.001 → 0.01"}]
    assert trainer["runs"][1]["duration"] == 4.0
    metrics = {(m["source"], m["name"]): m["values"] for m in out["metrics"]}
    assert metrics[("svc_trainer.acc", "value")] == [0.9, 0.97]
    assert metrics[("svc_trainer", "f1")] == [pytest.approx(0.01), pytest.approx(0.1)]
    assert ("svc_trainer.acc", "storage_size") not in metrics  # not a quality figure
    outputs = {(o["step"], o["output"]): o["runs"] for o in out["outputs"]}
    assert outputs[("svc_trainer", "acc")][1]["metadata"]["storage_size"] == 9


class _AV:
    def __init__(self, object_name: str, uid: str, producer: dict[str, str] | None,
                 name: str | None = None, version: str = "1",
                 created: str = "2026-01-01T00:00:00Z") -> None:
        self.object_name, self.id, self.producer = object_name, uid, producer
        self.name, self.version, self.data_type = name or object_name, version, "t"
        self.created = created

    @property
    def object(self) -> dict[str, Any]:
        return {"metadata": {"name": self.object_name, "uid": self.id,
                             "creationTimestamp": self.created},
                "spec": {"artifactName": self.name, "version": self.version}}


class _Reader:
    """Objects by name; counts reads so a test can see the walk stays bounded."""

    def __init__(self) -> None:
        self.reads = 0
        feat = _run("f-1", "features", [{"name": "prepare", "phase": "completed",
                                         "outputs": {"output": "ds-1"}}])
        t1 = _train_run("t-1", 0.001, "completed", "k1")
        t2 = _train_run("t-2", 0.01, "cached", "k2")
        # a kubectl run of the kubectl Snapshot: the operator labelled it as it resolved "ds-1"
        k1 = _run("k-1", "kubectl", [{"name": "loader", "phase": "completed"}],
                  labels={names.input_artifact_label("uid-ds"): "true"})
        self.runs = {r.name: r for r in (feat, t1, t2, k1)}
        self.lists = 0
        self.avs = {
            "ds-1": _AV("ds-1", "uid-ds", {"run": "f-1", "step": "prepare", "output": "output"}),
            "x-1": _AV("x-1", "uid-x", {"run": "t-1", "step": "loader", "output": "X"}),
            "acc-t-2": _AV("acc-t-2", "uid-a2", {"run": "t-2", "step": "svc_trainer",
                                                 "output": "acc"}),
        }

    def artifact(self, object_name: str) -> Any:
        self.reads += 1
        return self.avs.get(object_name)

    def artifact_by_uid(self, uid: str) -> Any:
        self.reads += 1
        return next((a for a in self.avs.values() if a.id == uid), None)

    def artifact_by_ref(self, name: str, version: str | None) -> Any:
        return None

    def run(self, object_name: str) -> Any:
        self.reads += 1
        return self.runs.get(object_name)

    def snapshot_spec(self, run: Any) -> dict[str, Any] | None:
        return {"features": FEATURES, "kubectl": KUBECTL}.get(run.pipeline_object_name, TRAIN)

    def snapshots_labelled(self, label_key: str) -> list[str]:
        self.lists += 1
        return ["snap-train"] if label_key == names.input_artifact_label("uid-ds") else []

    def runs_of_snapshot(self, snapshot: str, limit: int) -> list[Any]:
        self.lists += 1
        return [r for r in self.runs.values() if r.snapshot_name == snapshot][:limit]

    def runs_labelled(self, label_key: str, limit: int) -> list[Any]:
        self.lists += 1
        return [r for r in self.runs.values() if label_key in r.metadata["labels"]][:limit]


def test_upstream_crosses_into_the_pipeline_that_made_the_dataset() -> None:
    reader = _Reader()
    out = lineage.for_artifact(reader, reader.avs["acc-t-2"])
    nodes = {n["id"]: n for n in out["nodes"]}
    # acc <- trainer (t-2) <- X (made by t-1's loader: t-2's was a cache hit) <- ds <- prepare
    assert {"step:t-2/svc_trainer", "step:t-1/loader", "step:f-1/prepare",
            "artifact:ds-1", "artifact:x-1"} <= set(nodes)
    edges = {(e["source"], e["target"]) for e in out["edges"]}
    assert ("artifact:ds-1", "step:t-1/loader") in edges
    assert ("step:f-1/prepare", "artifact:ds-1") in edges
    assert [p["pipeline"] for p in out["upstreamPipelines"]] == ["train", "features"]
    assert nodes["step:f-1/prepare"]["depth"] < nodes["step:t-1/loader"]["depth"]


def test_downstream_finds_consumers_in_other_pipelines_by_label() -> None:
    reader = _Reader()
    out = lineage.for_artifact(reader, reader.avs["ds-1"])
    down = {n["id"] for n in out["nodes"] if n["side"] == "downstream"}
    # t-1, t-2 through their SDK-labelled Snapshot; k-1 (kubectl run, kubectl Snapshot, the
    # dataset by name) through the label the operator put on the run itself
    assert down == {"step:t-1/loader", "step:t-2/loader", "step:k-1/loader"}
    edges = {(e["source"], e["target"]): e["label"] for e in out["edges"]}
    assert edges[("artifact:ds-1", "step:k-1/loader")] == "data"
    assert reader.reads <= 3
    assert reader.lists == 3  # labelled runs, labelled Snapshots, runs of the one Snapshot


def test_a_labelled_run_whose_step_took_another_version_by_name_is_not_a_consumer() -> None:
    reader = _Reader()
    other = _AV("ds-1", "uid-ds", None)
    other.version = "2"  # the kubectl Snapshot pins no version; the run's label names "uid-ds"
    spec = {"steps": [{"name": "l", "id": "l", "inputs": [
        {"name": "d", "artifact": {"name": "ds-1", "version": "1"}}]}]}
    match = lineage._takes(reader, other, reader.runs["k-1"])
    assert lineage._consumer_steps(spec, match) == []


def test_by_name_inputs_of_one_artifact_show_only_the_version_each_took() -> None:
    """One step takes ``ds`` version 1 by name and version, another ``ds`` by name alone
    (the newest when it started: version 2), a third ``ds`` by name alone before version 2
    existed: the run's labels name both versions; each version's consumers are only the
    inputs that took it, as ZenML records each input's own version."""
    reader = _Reader()
    v1 = _AV("ds-v1", "uid-v1", None, name="ds", version="1", created="2026-01-01T10:00:00Z")
    v2 = _AV("ds-v2", "uid-v2", None, name="ds", version="2", created="2026-01-01T10:05:00Z")
    reader.avs.update({"ds-v1": v1, "ds-v2": v2})
    labels = {names.input_artifact_label("uid-v1"): "true",
              names.input_artifact_label("uid-v2"): "true"}
    run = _run("r-2", "two", [
        {"name": "early", "phase": "completed", "startTime": "2026-01-01T10:01:00.5Z"},
        {"name": "pinned", "phase": "completed", "startTime": "2026-01-01T10:06:00.5Z"},
        {"name": "newest", "phase": "completed", "startTime": "2026-01-01T10:06:00.7Z"},
    ], labels=labels)
    spec = {"steps": [
        {"name": "early", "id": "early", "inputs": [{"name": "d", "artifact": {"name": "ds"}}]},
        {"name": "pinned", "id": "pinned", "inputs": [
            {"name": "a", "artifact": {"name": "ds", "version": "1"}},
            {"name": "b", "artifact": {"name": "ds"}}]},
        {"name": "newest", "id": "newest", "inputs": [{"name": "d", "artifact": {"name": "ds"}}]},
    ]}
    assert lineage._consumer_steps(spec, lineage._takes(reader, v1, run)) == [
        ("early", "d"), ("pinned", "a")]
    assert lineage._consumer_steps(spec, lineage._takes(reader, v2, run)) == [
        ("pinned", "b"), ("newest", "d")]


def test_the_walk_is_bounded() -> None:
    g = lineage.Graph()
    for i in range(lineage.MAX_NODES + 5):
        g.node(f"n{i}", kind="artifact")
    assert len(g.nodes) == lineage.MAX_NODES and g.truncated


def test_snapshot_labels_name_pinned_artifacts_and_models() -> None:
    spec = {"steps": [{"inputs": [
        {"name": "a", "artifact": {"name": "ds", "id": "0f0e"}},
        {"name": "b", "artifact": {"name": "ds", "version": "2"}},  # not pinned: no label
        {"name": "m", "modelArtifact": {"model": "iris_classifier", "artifact": "trained"}},
        {"name": "c", "step": "up", "output": "o"}]}]}
    assert names.snapshot_input_labels(spec) == {
        "input.kubeline.dev/0f0e": "true", "model-input.kubeline.dev/iris_classifier": "true"}
