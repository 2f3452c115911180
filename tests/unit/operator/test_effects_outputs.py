"""Recording a step's outputs manifest: the metadata it logged reaches the step's status,
also for a step without outputs (the manifest the Pod named is always read)."""

from __future__ import annotations

import asyncio

import pytest
from kubeline.resources.manifest import OutputsManifest
from kubeline.resources.models import (
    PipelineRunStatus,
    SnapshotSpec,
    StepOutput,
    StepSpec,
    StepStatus,
)
from kubeline_operator import actions as A
from kubeline_operator.effects import Effects, Outcome
from kubeline_operator.pod_spec import RunRef
from kubeline_operator.run_status import apply
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.snapshots import Snap
from kubeline_operator.stores import Stores

pytestmark = pytest.mark.unit

STEP = StepSpec(name="report", id="report", function="report", entrypoint="steps:report",
                code_hash="0")
SNAP = SnapshotSpec(pipeline="p", pipeline_name="p", image="img", steps=[STEP])
RUN = RunRef(name="p-1", uid="u", namespace="ml", pipeline="p", snapshot="s")
URI = "s3://b/artifacts/ml/p/p-1/report/1/manifest.json"


class Reader:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.reads: list[str] = []

    def read_bytes(self, uri: str) -> bytes:
        self.reads.append(uri)
        if uri not in self.files:
            raise FileNotFoundError(uri)
        return self.files[uri]


def _record(reader: Reader, manifest_uri: str | None, early: bool = False,
            outcome: Outcome | None = None) -> list[A.Action]:
    effects = Effects(OperatorSettings(s3_bucket="b"), api=None,  # type: ignore[arg-type]
                      stores=Stores(), store=reader, models=None)  # type: ignore[arg-type]
    action = A.RecordOutputs("report", 1, "p-1-report-1", manifest_uri, 5.0, early=early)
    snap = Snap("s", SNAP, "p")
    return asyncio.run(effects.record_outputs(RUN, snap, PipelineRunStatus(), action,
                                              outcome or Outcome()))


def test_an_early_commit_completes_the_step_from_its_attempts_manifest() -> None:
    """The outputs-committed Event: the manifest read is the attempt's own, as on exit."""
    manifest = OutputsManifest(outputs={}, step_metadata={"rows": 3})
    reader = Reader({URI: manifest.to_json().encode()})
    (done,) = _record(reader, None, early=True)
    assert reader.reads == [URI]  # never completed without reading it (no outputs here)
    assert isinstance(done, A.MarkStepCompleted)


@pytest.mark.parametrize("files", [{}, {URI: b"{not json"}])
def test_an_early_commit_without_a_valid_manifest_leaves_the_step_running(
        files: dict[str, bytes]) -> None:
    """A forged or early Event: no status change, the Pod's commit is dropped (its exit
    decides), and this pass records nothing more for the step."""
    outcome = Outcome()
    assert _record(Reader(files), None, early=True, outcome=outcome) == []
    assert outcome.unconfirmed == {"p-1-report-1"} and outcome.deferred == {"report"}


def test_a_step_without_outputs_gets_its_logged_metadata() -> None:
    manifest = OutputsManifest(outputs={}, step_metadata={"rows": 3},
                               run_metadata={"git": "abc"})
    reader = Reader({URI: manifest.to_json().encode()})
    (done,) = _record(reader, URI)
    assert reader.reads == [URI]
    assert isinstance(done, A.MarkStepCompleted)
    status = apply(PipelineRunStatus(steps=[StepStatus(name="report", phase="running")]),
                   [done], 5.0)
    assert status.steps[0].metadata == {"rows": 3}
    assert status.steps[0].run_metadata == {"git": "abc"}


def test_a_pod_that_names_no_manifest_and_has_no_outputs_is_completed_without_a_read() -> None:
    reader = Reader({})
    (done,) = _record(reader, None)
    assert reader.reads == [] and isinstance(done, A.MarkStepCompleted)


def test_a_named_manifest_that_is_missing_fails_the_step() -> None:
    (failed,) = _record(Reader({}), URI)
    assert isinstance(failed, A.MarkStepFailed) and failed.reason == "OutputsMissing"
    assert URI in failed.message


def test_the_operator_uses_each_namespaces_own_bucket() -> None:
    settings = OperatorSettings(s3_bucket="kl-{namespace}")
    assert settings.bucket_for("ml") == "kl-ml"
    assert OperatorSettings(s3_bucket="shared").bucket_for("ml") == "shared"
    step = STEP.model_copy(update={"outputs": [StepOutput(name="out", materializer="m.M")]})
    snap = Snap("s", SNAP.model_copy(update={"steps": [step]}), "p")
    reader = Reader({})
    effects = Effects(settings, api=None,  # type: ignore[arg-type]
                      stores=Stores(), store=reader, models=None)  # type: ignore[arg-type]
    action = A.RecordOutputs("report", 1, "p-1-report-1", None, 5.0)
    asyncio.run(effects.record_outputs(RUN, snap, PipelineRunStatus(), action, Outcome()))
    # The manifest is looked for where the step wrote it: its namespace's bucket.
    assert reader.reads == ["s3://kl-ml/artifacts/ml/p/p-1/report/1/manifest.json"]


def test_a_namespace_whose_bucket_name_is_invalid_fails_before_any_pod() -> None:
    effects = Effects(OperatorSettings(s3_bucket="kubeline-{namespace}"), api=None,  # type: ignore[arg-type]
                      stores=Stores(), store=Reader({}), models=None)  # type: ignore[arg-type]
    run = RunRef(name="p-1", uid="u", namespace="n" * 60, pipeline="p", snapshot="s")
    (failed,) = asyncio.run(effects.create_pod(run, Snap("s", SNAP, "p"),
                                               A.CreatePod("report", 1, "p-1-report-1", {})))
    assert isinstance(failed, A.MarkStepFailed) and failed.reason == "OperatorMisconfigured"
    assert "3-63 characters" in failed.message


def _manifest_with(output_uri: str, viz: str | None = None, manual: str | None = None) -> bytes:
    doc = {"outputs": {"out": {"uri": output_uri, "materializer": "m.M",
                               "contentHash": "h" * 64,
                               "visualizations": [{"uri": viz, "type": "html"}] if viz else []}}}
    if manual:
        doc["manualArtifacts"] = [{"uri": manual, "materializer": "m.M", "artifactName": "side"}]
    return OutputsManifest.model_validate(doc).to_json().encode()


@pytest.mark.parametrize("bad", [
    "s3://b/artifacts/other-ns/p/p-9/train/1/model",  # another namespace's data
    "s3://b/artifacts/ml/p/p-2/report/1/out",  # another run of the same pipeline
    "s3://b/artifacts/ml/p/p-1/../p-2/report/1/out",  # climbing out
    "s3://b/artifacts/ml/p/p-10/report/1/out",  # a prefix of the name is not the run
    "s3://other-bucket/artifacts/ml/p/p-1/report/1/out",
])
def test_a_manifest_whose_uris_leave_the_runs_prefix_fails_the_step(bad: str) -> None:
    from kubeline.resources.models import StepOutput

    step = STEP.model_copy(update={"outputs": [StepOutput(name="out", materializer="m.M")]})
    snap_spec = SNAP.model_copy(update={"steps": [step]})
    good = "s3://b/artifacts/ml/p/p-1/report/1/out"
    for manifest in (_manifest_with(bad), _manifest_with(good, viz=bad),
                     _manifest_with(good, manual=bad)):
        reader = Reader({URI: manifest})
        effects = Effects(OperatorSettings(s3_bucket="b"), api=None,  # type: ignore[arg-type]
                          stores=Stores(), store=reader, models=None)  # type: ignore[arg-type]
        action = A.RecordOutputs("report", 1, "p-1-report-1", URI, 5.0)
        (failed,) = asyncio.run(effects.record_outputs(
            RUN, Snap("s", snap_spec, "p"), PipelineRunStatus(), action, Outcome()))
        assert isinstance(failed, A.MarkStepFailed), failed
        assert failed.reason == "OutputsOutsideRun"
        assert bad in failed.message and "s3://b/artifacts/ml/p/p-1/" in failed.message


def test_a_manifest_uri_outside_the_run_is_never_read() -> None:
    elsewhere = "s3://b/artifacts/other/p/x/report/1/manifest.json"
    reader = Reader({elsewhere: OutputsManifest(outputs={}).to_json().encode()})
    (failed,) = _record(reader, elsewhere)
    assert isinstance(failed, A.MarkStepFailed) and failed.reason == "OutputsOutsideRun"
    assert reader.reads == []


def test_uris_inside_the_run_are_recorded() -> None:
    from kubeline.resources import layout

    prefix = "s3://b/artifacts/ml/p/p-1"
    assert layout.run_prefix("s3://b", "ml", "p", "p-1") == prefix
    assert layout.is_under(f"{prefix}/report/1/out", prefix)
    for bad in (prefix, f"{prefix}/", f"{prefix}//x", f"{prefix}/./x", f"{prefix}-2/x"):
        assert not layout.is_under(bad, prefix), bad
