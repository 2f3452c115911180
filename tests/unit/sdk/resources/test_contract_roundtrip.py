"""Producer against consumer for each document of kubeline.resources (invocation, outputs
manifest, S3 layout, termination message): the real producer's output goes through the
real consumer, so changing either side alone fails here."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import pandas as pd
import pytest
import sample_steps as s
from kubeline import get_step_context, log_metadata, pipeline, step
from kubeline.artifact_store import set_default_store
from kubeline.client.artifacts import ArtifactVersionView
from kubeline.client.runs import RunView
from kubeline.client.trigger import parse_invocation as client_parse_invocation
from kubeline.resources import layout
from kubeline.resources.manifest import INLINE_METADATA_BYTES, OutputsManifest, status_metadata
from kubeline.resources.models import (
    CacheInfo,
    ModelConfig,
    PipelineRunStatus,
    RunModelVersion,
    StepStatus,
)
from kubeline.resources.names import ENV_INVOCATION, S3_SECRET_ENV
from kubeline.runtime import EXIT_OK, run_invocation
from kubeline.runtime.executor import parse_invocation, step_context_for
from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.artifacts import (
    artifact_info,
    artifact_version_body,
    parse_manifest,
    step_completed,
)
from kubeline_operator.observe import parse_termination_message
from kubeline_operator.pod_spec import PodSettings, RunRef, build_step_pod, manifest_uri
from kubeline_operator.run_status import apply
from moto_s3 import BUCKET, moto_store

pytestmark = pytest.mark.unit
ROOT = Path(s.__file__).parent
RUN = RunRef(name="two-step-r1", uid="uid-r1", namespace="ml", pipeline="two-step",
             snapshot="two-step-s1",
             model=RunModelVersion(name="iris", version="v3", number=3, object="iris-v3"))


@pytest.fixture(scope="module")
def store():
    with moto_store() as st:
        set_default_store(st)
        try:
            yield st
        finally:
            set_default_store(None)


@pytest.fixture(scope="module")
def snapshot():
    spec = s.two_step.compile(source_root=ROOT).spec
    return spec.model_copy(update={"model": ModelConfig(name="iris", license="MIT")})


def _env(pod: dict) -> dict[str, dict]:
    return {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}


def test_invocation_from_the_operator_is_what_the_runtime_and_client_read(snapshot) -> None:
    step = snapshot.steps[1]  # train(features, labels, gamma)
    infos = {
        "features": ArtifactInfo("f-1", "uid-f", "s3://b/f", "m.Pandas", "pandas.DataFrame",
                                 "features", "4", "h" * 64),
        "labels": ArtifactInfo("l-1", "uid-l", "s3://b/l", "m.Series", "", "labels", "2"),
    }
    pod = build_step_pod(RUN, snapshot, step, 2, {"gamma": 0.5}, infos, "bkt", PodSettings())
    env = _env(pod)
    assert {v for k, v in S3_SECRET_ENV.items()} <= set(env)
    inv = parse_invocation(env[ENV_INVOCATION]["value"])  # the step runtime's side

    assert (inv.namespace, inv.run, inv.run_uid, inv.snapshot, inv.attempt) == (
        "ml", RUN.name, "uid-r1", "two-step-s1", 2)
    assert (inv.pipeline, inv.pipeline_name) == ("two-step", snapshot.pipeline_name)
    assert inv.step == step and inv.parameters == {"gamma": 0.5}
    for name, info in infos.items():
        got = inv.inputs[name]
        assert (got.artifact_version, got.id, got.uri, got.materializer, got.data_type,
                got.artifact_name, got.version) == (
            info.artifact_version, info.id, info.uri, info.materializer, info.data_type,
            info.artifact_name, info.version)
    assert inv.outputs_uri == layout.attempt_uri("s3://bkt", "ml", "two-step", RUN.name,
                                                 step.name, 2)
    assert inv.model is not None and (inv.model.name, inv.model.version, inv.model.number,
                                      inv.model.object, inv.model.license) == (
        "iris", "v3", 3, "iris-v3", "MIT")
    ctx = step_context_for(inv)
    assert (ctx.pipeline_run.name, ctx.pipeline_run.id, ctx.step_run.attempt) == (
        RUN.name, "uid-r1", 2)
    assert (ctx.model.name, ctx.model.version_ref, ctx.model.number) == ("iris", "v3", 3)
    # trigger_pipeline inside the step reads the same variable.
    assert client_parse_invocation(env[ENV_INVOCATION]["value"]) == {
        "run": RUN.name, "step": step.id, "namespace": "ml"}


def test_manifest_and_layout_from_the_runtime_are_what_operator_and_client_read(
        store, snapshot, tmp_path: Path) -> None:
    load, train = snapshot.steps
    settings = PodSettings()
    pod = build_step_pod(RUN, snapshot, load, 1, {}, {}, BUCKET, settings)
    inv = parse_invocation(_env(pod)[ENV_INVOCATION]["value"])
    term = tmp_path / "term-load"
    assert run_invocation(inv, store, str(term)) == EXIT_OK

    # The operator reads the termination message from the container status ...
    msg = parse_termination_message(term.read_text())
    assert msg is not None and msg.ok
    # ... and both sides agree where the manifest is (the operator also looks there itself).
    assert msg.manifest == manifest_uri(BUCKET, RUN, load, 1) == layout.manifest_uri(
        store.attempt_uri("ml", "two-step", RUN.name, load.name, 1))
    raw = store.read_bytes(msg.manifest)
    outputs = {o.output: o for o in parse_manifest(OutputsManifest.parse(raw), load,
                                                   snapshot.pipeline_name)}
    assert set(outputs) == {"features", "labels"}
    for name, out in outputs.items():
        assert out.uri == layout.output_uri(inv.outputs_uri, name) and store.exists(out.uri)
        assert out.metadata["storage_size"] > 0 and len(out.content_hash or "") == 64

    # ArtifactVersion objects as the operator creates them, read by the Client's view.
    bodies = {}
    for name, out in outputs.items():
        body = artifact_version_body(out, "1", "ml", "two-step", RUN.name, load, "k" * 64)
        body["metadata"]["uid"] = f"uid-{name}"
        bodies[name] = body
    view = ArtifactVersionView(SimpleNamespace(kube=None), bodies["features"])  # type: ignore[arg-type]
    assert view.name == "features" and view.version == "1"
    assert view.run_metadata["shape"].value == [3, 2]
    pd.testing.assert_frame_equal(view.load(), pd.DataFrame({"a": [1.0, 2.0, 3.0],
                                                             "b": [4.0, 5.0, 6.0]}))

    # The next step's invocation, built from those objects, loads them and logs metadata.
    inputs = {name: artifact_info(body) for name, body in bodies.items()}
    pod2 = build_step_pod(RUN, snapshot, train, 1, {"gamma": 0.25}, inputs, BUCKET, settings)
    term2 = tmp_path / "term-train"
    assert run_invocation(parse_invocation(_env(pod2)[ENV_INVOCATION]["value"]), store,
                          str(term2)) == EXIT_OK
    msg2 = parse_termination_message(term2.read_text())
    assert msg2 is not None and msg2.manifest == manifest_uri(BUCKET, RUN, train, 1)
    manifest2 = OutputsManifest.parse(store.read_bytes(msg2.manifest))
    assert manifest2.step_metadata == {"rows": 3}
    trained = {o.output: o for o in parse_manifest(manifest2, train, snapshot.pipeline_name)}
    assert trained["accuracy"].metadata["note"] == "accuracy is fake"
    model_body = artifact_version_body(trained["model"], "1", "ml", "two-step", RUN.name, train,
                                       None)
    model_view = ArtifactVersionView(SimpleNamespace(kube=None), model_body)  # type: ignore[arg-type]
    assert model_view.load() == {"gamma": 0.25, "run": RUN.name, "step": "train"}


@step
def logs_metadata(size: int = 10) -> Annotated[int, "answer"]:
    """Logs for itself, its run, its output and its model (``size``: a long value)."""
    log_metadata({"accuracy": 0.93, "notes": "n" * size})
    log_metadata({"git_sha": "abc123"}, run_id_name_or_prefix=get_step_context().pipeline_run.id)
    log_metadata({"quality": "ok"}, infer_artifact=True)
    log_metadata({"f1": 0.9}, infer_model=True)
    return 42


@pipeline
def metadata_pipeline(size: int = 10) -> None:
    logs_metadata(size=size)


@pytest.mark.parametrize("size", [10, 2000], ids=["inline", "in-the-manifest"])
def test_logged_metadata_reaches_status_and_views(store, tmp_path: Path, size: int) -> None:
    spec = metadata_pipeline.compile(source_root=ROOT).spec.model_copy(
        update={"model": ModelConfig(name="iris")})
    step_spec = spec.steps[0]
    run = RunRef(name=f"meta-{size}", uid=f"uid-meta-{size}", namespace="ml",
                 pipeline="metadata-pipeline", snapshot="s",
                 model=RunModelVersion(name="iris", version="1", number=1, object="iris-1"))
    pod = build_step_pod(run, spec, step_spec, 1, {"size": size}, {}, BUCKET, PodSettings())
    term = tmp_path / "term"
    assert run_invocation(parse_invocation(_env(pod)[ENV_INVOCATION]["value"]), store,
                          str(term)) == EXIT_OK
    msg = parse_termination_message(term.read_text())
    assert msg is not None and msg.manifest is not None
    manifest = OutputsManifest.parse(store.read_bytes(msg.manifest))
    assert manifest.model_metadata == {"f1": 0.9}  # the operator merges it into iris-1
    (out,) = parse_manifest(manifest, step_spec, spec.pipeline_name)
    assert out.metadata["quality"] == "ok"

    # The operator completes the step; the run's status keeps small metadata, else a pointer.
    done = step_completed(step_spec.id, {"answer": "answer-1"}, 1.0, manifest, msg.manifest)
    status = apply(PipelineRunStatus(steps=[StepStatus(name=step_spec.id, phase="running")]),
                   [done], 1.0)
    entry = status.steps[0]
    if size == 10:
        assert entry.metadata == {"accuracy": 0.93, "notes": "n" * 10}
        assert entry.run_metadata == {"git_sha": "abc123"} and entry.metadata_uri is None
    else:
        assert entry.metadata is None and entry.run_metadata is None
        assert entry.metadata_uri == msg.manifest

    # The Client reads the same values either way (of the run once finished: no re-read).
    obj = {"metadata": {"name": run.name, "namespace": "ml", "uid": run.uid},
           "spec": {"snapshot": "s"}, "status": {**status.to_k8s(), "phase": "completed"}}
    view = RunView(SimpleNamespace(kube=None), obj)  # type: ignore[arg-type]
    assert view.steps["logs_metadata"].run_metadata["notes"].value == "n" * size
    assert view.steps["logs_metadata"].run_metadata["accuracy"].value == 0.93
    assert view.run_metadata["git_sha"].value == "abc123"
    assert view.run_metadata["logs_metadata::accuracy"].value == 0.93


def test_a_thousand_steps_with_inline_metadata_fit_in_etcd() -> None:
    """Worst case of inline metadata: every step at the inline limit, plus a realistic entry."""
    half = (INLINE_METADATA_BYTES - 40) // 2
    manifest = OutputsManifest(outputs={}, step_metadata={"a": "x" * half},
                               run_metadata={"b": "y" * half})
    metadata, run_metadata, uri = status_metadata(manifest, "s3://b/m")
    assert uri is None, "the test must exercise the inline case"
    steps = [StepStatus(
        name=f"step_{i:04d}", phase="completed", attempts=1, pod=f"run-x7k2p-step-{i:04d}-1",
        start_time="2026-12-01T09:00:00.000000Z", end_time="2026-12-01T09:00:01.000000Z",
        cache=CacheInfo(key="k" * 64, parts={p: "d" * 16 for p in (
            "code", "image", "parameters", "inputs", "outputs", "env")}),
        outputs={"output": f"run-x7k2p-step-{i:04d}-output-1-abcdef12"}, reason="Completed",
        metadata=metadata, run_metadata=run_metadata) for i in range(1000)]
    size = len(json.dumps(PipelineRunStatus(phase="completed", steps=steps).to_k8s()))
    assert size < 1.2 * 2**20, f"a 1,000-step status is {size} bytes"
