"""Producer against consumer for each document of kubeline.resources (invocation, outputs
manifest, S3 layout, termination message): the real producer's output goes through the
real consumer, so changing either side alone fails here."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import sample_steps as s
from kubeline.artifact_store import set_default_store
from kubeline.client.artifacts import ArtifactVersionView
from kubeline.client.trigger import parse_invocation as client_parse_invocation
from kubeline.resources import layout
from kubeline.resources.manifest import OutputsManifest
from kubeline.resources.models import ModelConfig, RunModelVersion
from kubeline.resources.names import ENV_INVOCATION, S3_SECRET_ENV
from kubeline.runtime import EXIT_OK, run_invocation
from kubeline.runtime.executor import parse_invocation, step_context_for
from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.artifacts import artifact_info, artifact_version_body, parse_manifest
from kubeline_operator.observe import parse_termination_message
from kubeline_operator.pod_spec import PodSettings, RunRef, build_step_pod, manifest_uri
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
