"""Client views against recorded API objects (tests/unit/sdk/fixtures/client_objects.json),
served by an in-memory stand-in for ``kubeline.kube.Kube`` that counts requests.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fake_kube import R1, R2, R3, SNAP, FakeKube, P, load_objects
from kubeline.client import Client
from kubeline.client.progress import PlainReporter, fmt_duration, outcome_line
from kubeline.client.render import run_summary
from kubeline.client.snapshots import full_config_template
from kubeline.client.trigger import (
    build_run,
    check_run_configuration,
    new_run_name,
    parse_invocation,
)
from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration
from kubeline.errors import (
    ConfigurationError,
    KubelineError,
    NotFoundError,
    RunFailedError,
)
from kubeline.resources import models
from kubeline.resources import names as n


@pytest.fixture
def kube() -> FakeKube:
    namespace, objects = load_objects()
    return FakeKube(objects, namespace)


@pytest.fixture
def client(kube: FakeKube) -> Client:
    return Client(kube=kube)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- fixtures


def test_recorded_objects_follow_the_resource_models() -> None:
    specs = {"Pipeline": (models.PipelineSpec, models.PipelineStatus),
             "Snapshot": (models.SnapshotSpec, models.SnapshotStatus),
             "PipelineRun": (models.PipelineRunSpec, models.PipelineRunStatus),
             "ArtifactVersion": (models.ArtifactVersionSpec, None),
             "Model": (models.ModelSpec, models.ModelStatus),
             "ModelVersion": (models.ModelVersionSpec, models.ModelVersionStatus)}
    for obj in load_objects()[1]:
        spec_model, status_model = specs[obj["kind"]]
        spec_model.model_validate(obj["spec"])
        if status_model and "status" in obj:
            status_model.model_validate(obj["status"])


# ----------------------------------------------------------------------------- pipelines


def test_client_makes_no_request_until_used(kube: FakeKube) -> None:
    Client(kube=kube)  # type: ignore[arg-type]
    assert kube.requests == 0


def test_lineage_query_costs_four_requests(client: Client, kube: FakeKube) -> None:
    output = client.get_pipeline("training_pipeline").last_run.steps[
        "training_data_loader"].outputs["X_train"]
    assert (output.name, output.version) == ("X_train", "1")
    # The pipeline; its lastRun pointer re-read by last_run (fresh on each access, as
    # ZenML's); the run; the artifact version: no listing.
    assert kube.requests == 4


def test_get_pipeline_by_python_name_object_name_and_id(client: Client, kube: FakeKube) -> None:
    pipeline = client.get_pipeline("training_pipeline")
    assert (pipeline.name, pipeline.object_name, pipeline.num_runs) == ("training_pipeline", P, 3)
    assert client.get_pipeline(P).id == pipeline.id
    assert client.get_pipeline(pipeline.id).name == "training_pipeline"
    with pytest.raises(NotFoundError, match="no pipeline 'nope'"):
        client.get_pipeline("nope")


def test_pipeline_runs_newest_first_and_lazy(client: Client, kube: FakeKube) -> None:
    pipeline = client.get_pipeline("training_pipeline")
    before = kube.requests
    assert pipeline.runs[1].name == R2
    assert kube.requests - before == 3  # the pointers, then two runs, not all
    assert [r.name for r in pipeline.runs] == [R3, R2, R1]
    assert pipeline.last_run.name == R3
    assert pipeline.last_successful_run.name == R2
    assert [r.index for r in pipeline.get_runs(sort_by="asc:index")] == [1, 2, 3]


def test_pipeline_runs_behave_as_zenmls_list(client: Client, kube: FakeKube) -> None:
    """ZenML's ``PipelineResponse.runs`` is a list (newest first), fetched anew on each
    access: it compares as a list, concatenates, and the caller may sort it."""
    pipeline = client.get_pipeline("training_pipeline")
    newest_first = [r for r in pipeline.runs]
    assert pipeline.runs == newest_first and newest_first == pipeline.runs
    assert pipeline.runs != newest_first[:2] and pipeline.runs != tuple(newest_first)
    first = newest_first[:1]
    assert [r.name for r in pipeline.runs + first] == [R3, R2, R1, R3]
    assert [r.name for r in first + pipeline.runs] == [R3, R3, R2, R1]
    mine = pipeline.runs
    mine.sort(key=lambda r: r.index)
    assert [r.name for r in mine] == [R1, R2, R3]
    assert mine.pop().name == R3 and len(mine) == 2
    assert [r.name for r in pipeline.runs] == [R3, R2, R1]  # another access: its own list
    assert pipeline.runs[1].name == R2
    with pytest.raises(TypeError):
        hash(pipeline.runs)
    before = kube.requests
    held = pipeline.runs
    assert [r.name for r in held[:2]] == [R3, R2]
    assert kube.requests - before == 3  # each access reads afresh: the pointers, two runs
    assert [r.name for r in held[:2]] == [R3, R2]
    assert kube.requests - before == 3  # a list already read keeps its runs


def add_run(kube: FakeKube, name: str, phase: str) -> None:
    """A run made after the pipeline view was fetched, counted by the operator as it does:
    the Pipeline's status pointers move to it."""
    run = copy.deepcopy(kube.store[n.PIPELINE_RUNS][R2])
    run["metadata"].update(name=name, uid=f"uid-{name}", creationTimestamp="2025-03-01T10:00:00Z")
    run["status"]["phase"] = phase
    kube.store[n.PIPELINE_RUNS][name] = run
    st = kube.store[n.PIPELINES][P]["status"]
    st["lastRun"] = name
    st["recentRuns"] = [name, *st["recentRuns"]]
    st["runCount"] += 1
    if phase in ("completed", "cached"):
        st["lastSuccessfulRun"] = name


def test_pipeline_run_pointers_are_read_afresh_on_each_access(
        client: Client, kube: FakeKube) -> None:
    """ZenML's ``runs``, ``last_run`` and ``last_successful_run`` query the store on every
    access: a run made after ``get_pipeline`` is what they give, not the one before."""
    pipeline = client.get_pipeline("training_pipeline")
    assert (pipeline.last_run.name, pipeline.last_successful_run.name) == (R3, R2)
    assert pipeline.runs[0].name == R3
    add_run(kube, "training-pipeline-new-failed", "failed")
    assert pipeline.last_run.name == "training-pipeline-new-failed"
    assert pipeline.last_successful_run.name == R2
    assert [r.name for r in pipeline.runs] == ["training-pipeline-new-failed", R3, R2, R1]
    add_run(kube, "training-pipeline-new-ok", "completed")
    before = kube.requests
    assert pipeline.last_successful_run.name == "training-pipeline-new-ok"
    assert kube.requests - before == 2  # the pointer (one GET), then the run: no listing
    before = kube.requests
    assert pipeline.last_run.name == "training-pipeline-new-ok"
    assert kube.requests - before == 2
    assert pipeline.num_runs == 5  # the status read last


def test_num_runs_counts_the_runs_that_exist_on_each_access(client: Client,
                                                           kube: FakeKube) -> None:
    """ZenML's ``num_runs`` is ``list_pipeline_runs(pipeline_id=..., size=1).total`` on every
    access: a run made after ``get_pipeline`` counts, a deleted one no longer does (the
    operator's ``runCount`` only grows: it numbers the runs)."""
    pipeline = client.get_pipeline("training_pipeline")
    assert pipeline.num_runs == 3
    add_run(kube, "training-pipeline-new-ok", "completed")
    before = kube.requests
    assert pipeline.num_runs == 4
    assert kube.requests - before == 1  # one metadata-only, label-selected list
    del kube.store[n.PIPELINE_RUNS][R1]
    assert pipeline.num_runs == 3
    assert client.get_pipeline("training_pipeline").st.run_count == 4  # runs started
    assert pipeline.num_runs == client.list_pipeline_runs(pipeline="training_pipeline").total
    other = copy.deepcopy(kube.store[n.PIPELINE_RUNS][R2])
    other["metadata"].update(name="another-pipeline-run", labels={n.LABEL_PIPELINE: "other"})
    kube.store[n.PIPELINE_RUNS]["another-pipeline-run"] = other
    assert pipeline.num_runs == 3  # only this pipeline's runs


def test_run_steps_are_read_afresh_until_the_run_is_finished(client: Client,
                                                            kube: FakeKube) -> None:
    """ZenML's ``run.steps`` lists the run's steps on each access; the run's own fields are
    as read. A finished run's steps no longer change, so they cost no request then."""
    stored = kube.store[n.PIPELINE_RUNS][R3]
    stored["status"]["phase"] = "running"
    stored["status"]["steps"][1]["phase"] = "running"
    run = client.get_pipeline_run(R3)
    before = kube.requests
    assert run.steps["svc_trainer"].status == "running"
    assert kube.requests - before == 1  # the run, re-read
    stored["status"]["steps"][1]["phase"] = "failed"
    assert run.steps["svc_trainer"].status == "failed"  # a step that ended since the fetch
    assert run.status == "running"  # the run's own fields stay as read, as ZenML's
    stored["status"]["phase"] = "failed"
    assert list(run.steps) == ["training_data_loader", "svc_trainer", "evaluator"]
    before = kube.requests
    finished = run.steps
    assert finished is run.steps and finished["evaluator"].status == "skipped"
    assert kube.requests == before  # once read finished: no request, the same mapping
    assert run.refresh().status == "failed"
    done = client.get_pipeline_run(R1)  # read finished: its steps are what was read
    before = kube.requests
    assert done.steps["svc_trainer"].status == "completed" and kube.requests == before


def test_a_by_name_input_is_the_version_the_step_took_not_the_newest_now(
        client: Client, kube: FakeKube) -> None:
    """ZenML records the version each input took. Here a by-name input (no version) took
    the version the operator resolved when the step started, named by the run's input
    labels: the newest of those made by the step's start, not the newest version now."""
    snapshot = kube.store[n.SNAPSHOTS][SNAP]
    evaluator = next(s for s in snapshot["spec"]["steps"] if s["id"] == "evaluator")
    dataset = next(i for i in evaluator["inputs"] if i["name"] == "dataset")
    dataset["artifact"] = {"name": "iris_dataset"}  # by name, no version
    versions = {o["spec"]["version"]: o for o in kube.store[n.ARTIFACT_VERSIONS].values()
                if o["spec"].get("artifactName") == "iris_dataset"}
    run = kube.store[n.PIPELINE_RUNS][R1]  # its evaluator started 2025-03-01T09:02:41Z
    run["metadata"]["labels"][n.input_artifact_label(versions["2022"]["metadata"]["uid"])] = (
        "true")
    versions["2023"]["metadata"]["creationTimestamp"] = "2025-03-05T00:00:00Z"  # made later

    def took() -> str:
        return client.get_pipeline_run(R1).steps["evaluator"].inputs["dataset"].version

    assert client.get_artifact_version("iris_dataset").version == "2023"  # the newest now
    assert took() == "2022"  # what the step took
    # Two steps of a run took two versions by name: the one made by this step's start.
    run["metadata"]["labels"][n.input_artifact_label(versions["2023"]["metadata"]["uid"])] = (
        "true")
    assert took() == "2022"
    versions["2023"]["metadata"]["creationTimestamp"] = "2025-03-01T09:02:00Z"  # before it
    assert took() == "2023"
    # A run without input labels (an older operator): the newest version now, as before.
    run["metadata"]["labels"] = {k: v for k, v in run["metadata"]["labels"].items()
                                 if not k.startswith(n.LABEL_PREFIX_INPUT_ARTIFACT)}
    versions["2023"]["metadata"]["creationTimestamp"] = "2025-03-05T00:00:00Z"
    assert took() == "2023"


def test_pipeline_runs_skip_deleted_and_fall_back_without_pointers(
        client: Client, kube: FakeKube) -> None:
    del kube.store[n.PIPELINE_RUNS][R3]
    pipeline = client.get_pipeline("training_pipeline")
    assert [r.name for r in pipeline.runs] == [R2, R1]
    assert pipeline.last_run.name == R2
    kube.store[n.PIPELINES][P].pop("status")
    bare = client.get_pipeline("training_pipeline")
    assert [r.name for r in bare.runs] == [R2, R1]
    assert bare.last_successful_run.name == R2


def test_pipeline_without_runs_says_so(client: Client, kube: FakeKube) -> None:
    kube.store[n.PIPELINE_RUNS].clear()
    kube.store[n.PIPELINES][P]["status"] = {"runCount": 0, "recentRuns": []}
    pipeline = client.get_pipeline("training_pipeline")
    with pytest.raises(NotFoundError, match="has no runs yet"):
        _ = pipeline.last_run
    with pytest.raises(RuntimeError, match="has no successful run yet"):  # as ZenML's
        _ = pipeline.last_successful_run
    assert list(pipeline.runs) == []
    add_run_to_empty = copy.deepcopy(load_objects()[1])
    run = next(o for o in add_run_to_empty if o["metadata"]["name"] == R1)
    kube.store[n.PIPELINE_RUNS][R1] = run
    kube.store[n.PIPELINES][P]["status"] = {"runCount": 1, "recentRuns": [R1], "lastRun": R1,
                                           "lastSuccessfulRun": R1}
    assert (pipeline.last_run.name, pipeline.last_successful_run.name) == (R1, R1)


def test_list_pipelines(client: Client) -> None:
    page = client.list_pipelines()
    assert [p.name for p in page] == ["training_pipeline"]
    assert (page.total, page.index, page.total_pages) == (1, 1, 1)


# ----------------------------------------------------------------------------- runs


def test_get_pipeline_run_by_name_id_and_prefix(client: Client, kube: FakeKube) -> None:
    run = client.get_pipeline_run(R1)
    assert (run.name, run.status, run.index) == (R1, "completed", 1)
    assert client.get_pipeline_run(run.id).name == R1
    assert client.get_pipeline_run(R3[:-3]).name == R3
    with pytest.raises(KubelineError, match="ambiguous"):
        client.get_pipeline_run(f"{P}-20250301")
    with pytest.raises(NotFoundError, match="no pipeline run 'zzz'"):
        client.get_pipeline_run("zzz")


def test_prefix_lookup_stops_at_the_first_name_past_the_prefix(
        client: Client, kube: FakeKube) -> None:
    for i in range(1200):  # runs of another pipeline sorting after ours
        kube.store[n.PIPELINE_RUNS][f"zz-other-{i:05d}"] = {
            "kind": "PipelineRun", "metadata": {"name": f"zz-other-{i:05d}", "uid": str(i)},
            "spec": {}}
    before = kube.requests
    assert client.get_pipeline_run(R3[:-3]).name == R3
    assert kube.requests - before == 2  # the GET, then one page of the listing


def test_run_information(client: Client) -> None:
    run = client.get_pipeline_run(R1)
    assert run.start_time.isoformat() == "2025-03-01T09:00:11+00:00"
    assert run.duration == 210.0
    assert run.config.steps["svc_trainer"].parameters == {"gamma": 0.002}
    assert run.config.parameters == {"gamma": 0.002}
    assert run.config.settings["image"] == "localhost/kubeline:0.1.0"
    assert run.config.enable_cache is True
    # Logged by svc_trainer: for the run (plain key) and for itself ("<step>::<key>").
    assert run.run_metadata["experiment"].value == "baseline"
    assert run.run_metadata["svc_trainer::accuracy"].value == 0.93
    assert "training_data_loader::accuracy" not in run.run_metadata
    assert run.steps["svc_trainer"].run_metadata["accuracy"].value == 0.93
    assert "accuracy" not in run.steps["evaluator"].run_metadata
    assert run.run_metadata["orchestrator"].value == "kubernetes"
    assert run.pipeline.name == "training_pipeline"
    assert run.snapshot.name == "nightly"
    assert list(run.steps) == ["training_data_loader", "svc_trainer", "evaluator"]


@pytest.mark.parametrize(("config", "expected"), [
    ({}, {"training_data_loader": True, "svc_trainer": True, "run": True}),
    ({"enableCache": False}, {"training_data_loader": False, "svc_trainer": False, "run": False}),
    # A step-level setting decides for its step, whatever the run-wide switch says.
    ({"enableCache": False, "steps": {"svc_trainer": {"enableCache": True}}},
     {"training_data_loader": False, "svc_trainer": True, "run": False}),
    ({"steps": {"svc-trainer": {"enableCache": False}}},
     {"training_data_loader": True, "svc_trainer": False, "run": True}),
])
def test_run_config_shows_the_cache_switch_the_operator_applies(
        client: Client, kube: FakeKube, config: dict[str, Any], expected: dict[str, bool]) -> None:
    kube.store[n.PIPELINE_RUNS][R1]["spec"]["config"] = config
    run = client.get_pipeline_run(R1)
    assert run.config.enable_cache is expected.pop("run")
    assert {k: run.config.steps[k].enable_cache for k in expected} == expected


def test_run_config_applies_overrides(client: Client) -> None:
    run = client.get_pipeline_run(R3)
    assert run.config.steps["svc_trainer"].parameters == {"gamma": 0.01}
    assert run.config.steps["svc_trainer"].settings["resources"] == {"cpu": "500m",
                                                                     "memory": "512Mi"}
    assert run.config.overrides == {"steps": {"svc_trainer": {"parameters": {"gamma": 0.01}}}}
    assert run.failed_step == "svc_trainer"


def test_list_pipeline_runs_filters_and_pages(client: Client) -> None:
    assert [r.name for r in client.list_pipeline_runs()] == [R3, R2, R1]
    assert [r.name for r in client.list_pipeline_runs(status="cached")] == [R2]
    page = client.list_pipeline_runs(pipeline="training_pipeline", size=2, page=2)
    assert ([r.name for r in page], page.total, page.total_pages) == ([R1], 3, 2)
    assert client.list_pipeline_runs(pipeline_name="training_pipeline").total == 3
    with pytest.raises(ConfigurationError, match="cannot sort by 'colour'"):
        client.list_pipeline_runs(sort_by="desc:colour")
    with pytest.raises(ConfigurationError, match="unknown filter"):
        client.list_pipeline_runs(colour="red")


def test_run_order_follows_zenml_sort_by(client: Client) -> None:
    """ZenML: ``list_pipeline_runs`` sorts ``desc:created`` by default (newest first) and a
    column without an operand sorts ascending (``BaseFilter.sorting_params``)."""
    assert [r.name for r in client.list_pipeline_runs(sort_by="desc:created")] == [R3, R2, R1]
    assert [r.name for r in client.list_pipeline_runs(sort_by="created")] == [R1, R2, R3]
    assert [r.name for r in client.list_pipeline_runs(sort_by="asc:created")] == [R1, R2, R3]
    assert [r.index for r in client.list_pipeline_runs(sort_by="index")] == [1, 2, 3]
    assert [r.name for r in client.list_pipeline_runs(sort_by="name")] == sorted([R1, R2, R3])
    with pytest.raises(ConfigurationError, match="sort order 'up' must be 'asc' or 'desc'"):
        client.list_pipeline_runs(sort_by="up:created")


def test_runs_made_in_one_second_are_newest_first(client: Client, kube: FakeKube) -> None:
    """creationTimestamp has whole seconds and run names end in random hex: within one second
    the run's index decides, and a run the operator has not counted yet is the newest."""
    runs = kube.store[n.PIPELINE_RUNS]
    made = {}
    for index, suffix in ((4, "ffff"), (5, "0000"), (None, "8888")):
        obj = copy.deepcopy(runs[R1])
        name = f"training-pipeline-c7f210eb-20250301-090040-{suffix}"
        obj["metadata"].update(name=name, uid=f"uid-{suffix}",
                               creationTimestamp="2025-03-01T09:00:40Z")  # one second
        if index is None:
            obj.pop("status", None)
        else:
            obj["status"]["index"] = index
        runs[name] = obj
        made[index] = name
    newest = [r.name for r in client.list_pipeline_runs()][:3]
    assert newest == [made[None], made[5], made[4]]
    assert [r.name for r in client.list_pipeline_runs(sort_by="asc:created")][3:] == [
        made[4], made[5], made[None]]


def test_delete_and_cancel_run(client: Client, kube: FakeKube) -> None:
    client.cancel_pipeline_run(R3)
    assert kube.store[n.PIPELINE_RUNS][R3]["spec"]["cancel"] is True
    client.delete_pipeline_run(R1)
    assert R1 not in kube.store[n.PIPELINE_RUNS]
    with pytest.raises(NotFoundError):
        client.get_pipeline_run(R1)


def test_trigger_links_both_ways(client: Client) -> None:
    run = client.get_pipeline_run(R3)
    assert run.triggered_by.run.name == R1
    assert run.triggered_by.step.name == "evaluator"
    assert [r.name for r in client.get_pipeline_run(R1).triggered_runs] == [R3]
    assert client.get_pipeline_run(R2).triggered_by is None


# ----------------------------------------------------------------------------- steps


def test_step_information(client: Client, kube: FakeKube) -> None:
    run = client.get_pipeline_run(R1)
    step = run.steps["svc_trainer"]
    assert (step.status, step.attempts, step.duration) == ("completed", 1, 97.0)
    assert step.config.parameters == {"gamma": 0.002}
    assert step.config.settings["resources"]["cpu"] == "500m"
    assert step.cache_key == "s" * 64
    assert step.cache_parts == {"code": "1" * 16, "parameters": "2" * 16}
    assert step.run_metadata["pod"].value == step.pod
    assert step.entrypoint == "run:svc_trainer"
    assert run.steps["training_data_loader"].docstring.startswith("Load the iris dataset")
    with pytest.raises(NotFoundError, match="no step 'nope'"):
        run.steps["nope"]


def test_step_outputs_and_single_output(client: Client) -> None:
    run = client.get_pipeline_run(R1)
    trainer = run.steps["svc_trainer"]
    assert set(trainer.outputs) == {"trained_model", "training_acc"}
    with pytest.raises(KubelineError, match="outputs trained_model, training_acc"):
        _ = trainer.output
    assert run.steps["evaluator"].output.name == "evaluator::accuracy"
    with pytest.raises(NotFoundError, match="no output of step svc_trainer 'x'"):
        trainer.outputs["x"]


def test_step_output_is_the_version_and_answers_zenmls_list_form(
        client: Client, kube: FakeKube) -> None:
    """``outputs[name]`` is the version (ZenML's "Fetching pipelines" docs); ZenML 0.98's
    one-element list form (``[0]``, as its "Steps & Pipelines" pages write it) gives the same
    version, and what a list would answer otherwise fails naming the difference."""
    output = client.get_pipeline_run(R1).steps["svc_trainer"].outputs["trained_model"]
    before = kube.requests
    assert output[0] is output and output[-1] is output
    assert output[:1] == [output] and output[1:] == []
    assert list(output) == [output] and len(output) == 1 and bool(output)
    assert kube.requests == before  # no request: it is the version already read
    with pytest.raises(IndexError, match=r"single artifact version .* not \[1\]"):
        _ = output[1]
    with pytest.raises(TypeError, match=r"step.outputs\[name\] is the version itself"):
        _ = output["trained_model"]


def test_step_inputs_resolve_upstream_outputs_and_artifact_refs(client: Client) -> None:
    run = client.get_pipeline_run(R1)
    trainer = run.steps["svc_trainer"]
    assert {k: v.name for k, v in trainer.inputs.items()} == {"X_train": "X_train",
                                                               "y_train": "y_train"}
    evaluator = run.steps["evaluator"]
    assert evaluator.inputs["model"].name == "trained_model"
    assert (evaluator.inputs["dataset"].name, evaluator.inputs["dataset"].version) == (
        "iris_dataset", "2022")
    with pytest.raises(KubelineError, match="inputs X_train, y_train"):
        _ = trainer.input


def test_cached_step_points_at_its_original(client: Client) -> None:
    run = client.get_pipeline_run(R2)
    step = run.steps["svc_trainer"]
    assert step.is_cached and step.duration == 0.0
    assert step.cached_from == {"run": R1, "step": "svc_trainer"}
    original = step.original_step_run
    assert (original.run.name, original.name, original.status) == (R1, "svc_trainer",
                                                                    "completed")
    assert step.outputs["trained_model"].id == original.outputs["trained_model"].id
    with pytest.raises(NotFoundError, match="served from the cache"):
        step.logs()


def test_step_logs(client: Client, kube: FakeKube) -> None:
    step = client.get_pipeline_run(R1).steps["svc_trainer"]
    kube.logs[step.pod] = "start\nTrain accuracy: 0.97\n"
    assert step.logs() == "start\nTrain accuracy: 0.97\n"
    assert step.logs(tail_lines=1) == "Train accuracy: 0.97\n"


def test_a_completed_steps_log_is_the_saved_one_while_its_pod_cannot_serve_it_yet(
        client: Client, kube: FakeKube, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step recorded from its outputs-committed Event may be completed before the kubelet
    reports its container at all: its Pod refuses the log ("waiting to start"), the log it
    saved first is complete. A running step's refusal is the caller's to see."""
    from kubeline.client.steps import StepView

    step = client.get_pipeline_run(R1).steps["svc_trainer"]
    assert step.status == "completed"

    def refuse(pod: str, tail_lines: int | None = None) -> str:
        raise KubelineError(f'pods/{pod}: API error 400: container "step" in pod "{pod}" is '
                            "waiting to start: ContainerCreating")

    monkeypatch.setattr(kube, "pod_logs", refuse)
    monkeypatch.setattr(StepView, "saved_log", lambda self, attempt=None: "a\nb\nsaved\n")
    assert step.logs() == "a\nb\nsaved\n"
    assert step.logs(tail_lines=1) == "saved\n"
    monkeypatch.setattr(StepView, "status", property(lambda self: "running"))
    with pytest.raises(KubelineError, match="waiting to start"):
        step.logs()


# ----------------------------------------------------------------------------- artifacts


def test_artifact_versions_by_version_string(client: Client, kube: FakeKube) -> None:
    artifact = client.get_artifact("iris_dataset")
    assert list(artifact.versions) == ["2022", "2023"]
    output = artifact.versions["2022"]
    assert output.run_metadata["storage_size"].value == 1234
    assert artifact.latest.version == "2023"
    with pytest.raises(NotFoundError, match="no version '2024'"):
        artifact.versions["2024"]
    with pytest.raises(NotFoundError, match="no artifact 'nope'"):
        client.get_artifact("nope")


def test_get_artifact_version_by_name_version_latest_and_uuid(
        client: Client, kube: FakeKube) -> None:
    before = kube.requests
    pinned = client.get_artifact_version("iris_dataset", "2022")
    assert kube.requests - before == 1  # one GET by the derived object name
    assert client.get_artifact_version(name="iris_dataset", version="2022").id == pinned.id
    assert client.get_artifact_version("iris_dataset").version == "2023"
    assert client.get_artifact_version(pinned.id).version == "2022"
    with pytest.raises(NotFoundError, match="no version '1999'"):
        client.get_artifact_version("iris_dataset", "1999")


def test_artifact_version_links_and_ref(client: Client) -> None:
    av = client.get_artifact_version("trained_model", "1")
    assert av.producer_run.name == R1
    assert av.producer_step.name == "svc_trainer"
    assert av.to_artifact_ref() == {"name": "trained_model", "version": "1", "id": av.id}
    assert av.data_type == "sklearn.svm._classes.SVC"
    assert av.uri.endswith("/svc_trainer/1/trained_model")


def test_list_artifact_versions_and_artifacts(client: Client) -> None:
    assert [v.version for v in client.list_artifact_versions(name="iris_dataset")] == [
        "2023", "2022"]
    assert {v.name for v in client.list_artifact_versions(run=R1)} >= {"X_train", "trained_model"}
    assert [a.name for a in client.list_artifacts(name="contains:iris")] == ["iris_dataset"]
    assert [a.name for a in client.list_artifacts(name="iris_dataset")] == ["iris_dataset"]


def test_visualize_outside_a_notebook_saves_files(client: Client, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from kubeline.client.visualize import show_visualizations

    av = client.get_artifact_version("X_train", "1")
    paths = show_visualizations(av, reader=lambda uri: b"<table></table>", out_dir=tmp_path)
    assert Path(paths[0]).read_bytes() == b"<table></table>"
    assert str(tmp_path) in capsys.readouterr().out
    with pytest.raises(NotFoundError, match="no visualizations"):
        show_visualizations(client.get_artifact_version("X_test", "1"), reader=lambda u: b"")


# ----------------------------------------------------------------------------- models


def test_model_versions_by_stage_number_and_latest(client: Client) -> None:
    assert client.get_model("iris_classifier").production_version_name == "2"
    prod = client.get_model_version("iris_classifier", "production")
    assert (prod.version, prod.stage) == ("2", "production")
    assert client.get_model_version("iris_classifier", 1).stage == "archived"
    assert client.get_model_version("iris_classifier").version == "2"
    assert prod.get_model_artifact("trained_model").name == "trained_model"
    assert [v.version for v in client.get_model("iris_classifier").versions] == ["1", "2"]
    with pytest.raises(NotFoundError, match="no version in stage 'staging'"):
        client.get_model_version("iris_classifier", "staging")


# ----------------------------------------------------------------------------- snapshots


def test_snapshot_lookup_and_config_template(client: Client) -> None:
    snap = client.get_snapshot("nightly")
    assert snap.object_name == SNAP
    assert client.get_snapshot(SNAP).id == snap.id == client.get_snapshot(snap.id).id
    config = snap.config_template
    config.steps["evaluator"].parameters["threshold"] = 0.9
    assert snap.config_template.steps["evaluator"].parameters["threshold"] == 0.5  # a copy
    assert set(config.steps) == {"training_data_loader", "svc_trainer", "evaluator"}
    assert [s.name for s in client.list_snapshots(pipeline="training_pipeline")] == ["nightly"]
    with pytest.raises(NotFoundError, match="no snapshot 'weekly'"):
        client.get_snapshot("weekly")


def test_full_config_template_keeps_template_values() -> None:
    spec = {"steps": [{"id": "a", "parameters": {"x": 1, "y": 2}}],
            "configTemplate": {"steps": {"a": {"parameters": {"y": 3}}}, "enableCache": False}}
    assert full_config_template(spec) == {
        "steps": {"a": {"parameters": {"x": 1, "y": 3}}}, "enableCache": False}


# ----------------------------------------------------------------------------- trigger


def test_trigger_snapshot_by_display_name_creates_a_run(client: Client, kube: FakeKube) -> None:
    run = client.trigger_pipeline(
        snapshot_name_or_id="nightly",
        run_configuration={"steps": {"svc_trainer": {"parameters": {"gamma": 0.05}}}},
    )
    created = kube.created[-1]
    assert created["spec"] == {"snapshot": SNAP, "config": {
        "steps": {"svc_trainer": {"parameters": {"gamma": 0.05}}}}}
    assert created["metadata"]["labels"][n.LABEL_PIPELINE] == P
    assert run.name.startswith(P) and run.status == "initialized"
    assert run.config.steps["svc_trainer"].parameters == {"gamma": 0.05}


def test_trigger_by_pipeline_uses_latest_snapshot_and_config_template(
        client: Client, kube: FakeKube) -> None:
    config = client.get_snapshot("nightly").config_template
    config.steps["svc_trainer"].parameters["gamma"] = 0.2
    client.trigger_pipeline("training_pipeline", run_configuration=config)
    assert kube.created[-1]["spec"]["snapshot"] == SNAP
    assert kube.created[-1]["spec"]["config"]["steps"]["svc_trainer"]["parameters"] == {
        "gamma": 0.2}


def test_trigger_from_a_yaml_file(client: Client, kube: FakeKube, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("enable_cache: false\nsteps:\n  svc_trainer:\n    parameters:\n"
                    "      gamma: 0.3\n")
    client.trigger_pipeline(snapshot_name_or_id=SNAP, run_configuration=str(path))
    assert kube.created[-1]["spec"]["config"] == {
        "enableCache": False, "steps": {"svc_trainer": {"parameters": {"gamma": 0.3}}}}


@pytest.mark.parametrize(("config", "message"), [
    ({"steps": {"trainer": {"parameters": {}}}}, "unknown step 'trainer'"),
    ({"steps": {"svc_trainer": {"parameters": {"C": 1.0}}}}, "has no parameter 'C'"),
    ({"steps": {"svc_trainer": {"parameters": {"gamma": "high"}}}},
     "step 'svc_trainer': parameter 'gamma' must be of JSON type number"),
    ({"steps": {"evaluator": {"parameters": {"verbose": 1}}}}, "JSON type boolean"),
    ({"steps": {"evaluator": {"parameters": {"label": 3}}}}, "JSON type string"),
])
def test_trigger_rejects_bad_configuration_before_creating(
        client: Client, kube: FakeKube, config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        client.trigger_pipeline(snapshot_name_or_id="nightly", run_configuration=config)
    assert kube.created == []


def test_trigger_needs_a_target(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="needs pipeline_name_or_id or snapshot"):
        client.trigger_pipeline()


def test_trigger_from_a_step_records_the_trigger(client: Client, kube: FakeKube,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.resources.invocation import Invocation
    from kubeline.resources.models import StepSpec

    invocation = Invocation(
        namespace="ml", pipeline="training-pipeline", run=R1, outputs_uri="s3://b/a",
        step=StepSpec(name="evaluator", id="evaluator", function="evaluator",
                      entrypoint="steps:evaluator", code_hash="0"))
    monkeypatch.setenv("KUBELINE_INVOCATION", invocation.to_json())
    run = client.trigger_pipeline(pipeline_name_or_id="training_pipeline")
    assert kube.created[-1]["spec"]["triggeredBy"] == {"run": R1, "step": "evaluator"}
    assert run.triggered_by.run.name == R1
    assert run.name in [r.name for r in client.get_pipeline_run(R1).triggered_runs]


def test_unrunnable_snapshot_is_refused(client: Client, kube: FakeKube) -> None:
    kube.store[n.SNAPSHOTS][SNAP]["status"] = {"valid": False, "message": "image missing"}
    with pytest.raises(ConfigurationError, match="not runnable: image missing"):
        client.trigger_pipeline(snapshot_name_or_id="nightly")


def test_trigger_pure_helpers() -> None:
    assert parse_invocation(None) is None
    assert parse_invocation("not json") is None
    # Not an invocation (no step spec, no outputsUri): not inside a step Pod.
    assert parse_invocation(json.dumps({"run": "r", "step": {"id": "s"}})) is None
    name = new_run_name("a" * 70)
    assert n.is_dns_label(name) and len(name) <= 63
    step = {"id": "a_b", "name": "a-b", "function": "a_b", "entrypoint": "m:a_b",
            "codeHash": "0" * 64}
    snapshot = {"metadata": {"name": "snap"}, "spec": {"pipeline": "p", "steps": [
        {**step, "parameters": {"x": None}}]}}
    check_run_configuration({"steps": {"a-b": {"parameters": {"x": [1]}}}}, snapshot)
    body = build_run(snapshot, {"runName": "My Run"}, {"run": "r1", "step": "s"})
    assert body["metadata"]["name"] == n.dns_name("My Run")
    assert body["metadata"]["labels"]["kubeline.dev/triggered-by-run"] == "r1"
    assert "annotations" not in body["metadata"]  # no Pod named: nothing claimed
    from_pod = build_run(snapshot, {}, {"run": "r1", "step": "s", "pod": "r1-s-1"})
    assert from_pod["metadata"]["annotations"] == {"kubeline.dev/triggered-from-pod": "r1-s-1"}
    assert from_pod["spec"]["triggeredBy"] == {"run": "r1", "step": "s"}
    check_run_configuration(
        {"steps": {"a_b": {"parameters": {"y": 1}}}},
        {**snapshot, "spec": {**snapshot["spec"], "steps": [
            {**step, "parameters": {}, "extra": {"parameterTypes": {"y": "integer"}}}]}})


def test_pipeline_run_configuration_round_trip() -> None:
    config = PipelineRunConfiguration(steps={"trainer": {"parameters": {"data_artifact_id": "x"}}})
    assert config.to_k8s() == {"steps": {"trainer": {"parameters": {"data_artifact_id": "x"}}}}


# ----------------------------------------------------------------------------- wait


def _with_status(kube: FakeKube, name: str, **status: Any) -> dict[str, Any]:
    obj = copy.deepcopy(kube.store[n.PIPELINE_RUNS][name])
    obj["status"].update(status)
    return obj


def test_wait_follows_the_watch_and_prints_progress(client: Client, kube: FakeKube,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.client.waiting import wait_for_run

    run_obj = kube.store[n.PIPELINE_RUNS][R1]
    done = copy.deepcopy(run_obj)
    run_obj["status"] = {"phase": "running", "steps": [
        {"name": "training_data_loader", "phase": "running", "attempts": 1}]}
    kube.watch_events = [("MODIFIED", done)]
    stream = io.StringIO()
    view = client.get_pipeline_run(R1)
    gets_before, watches_before = kube.gets, kube.watches
    def no_polling(seconds: float) -> None:
        raise AssertionError(f"wait polled (slept {seconds}s) instead of following the watch")

    monkeypatch.setattr("kubeline.client.waiting.time.sleep", no_polling)
    run = wait_for_run(view, stream=stream)
    assert run.status == "completed"
    assert kube.watches - watches_before == 1  # one watch delivered the change
    assert kube.gets - gets_before == 1  # the one re-read when waiting starts, no polling
    text = stream.getvalue()
    assert "Run " + R1 + ": running" in text
    assert "step svc_trainer: completed" in text
    assert text.strip().splitlines()[-1] == f"Run {R1} completed in 3m30s (3 steps, 0 cached)"


def test_wait_raise_on_failure(client: Client) -> None:
    with pytest.raises(RunFailedError, match="at step svc_trainer: step svc_trainer failed"):
        client.get_pipeline_run(R3).wait(show_progress=False, raise_on_failure=True)
    assert client.get_pipeline_run(R3).wait(show_progress=False).status == "failed"


def test_wait_times_out(client: Client, kube: FakeKube) -> None:
    kube.store[n.PIPELINE_RUNS][R1]["status"]["phase"] = "running"
    with pytest.raises(TimeoutError, match="still running"):
        client.get_pipeline_run(R1).wait(timeout=0.05, show_progress=False, poll_interval=0.01)


def test_progress_lines(client: Client, kube: FakeKube) -> None:
    assert [fmt_duration(s) for s in (0.25, 12.34, 75, 3725, None)] == [
        "250ms", "12.3s", "1m15s", "1h02m", "-"]
    run_obj = kube.store[n.PIPELINE_RUNS][R1]
    done = copy.deepcopy(run_obj)
    steps = [dict(s) for s in done["status"]["steps"]]
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    run = client.get_pipeline_run(R1)
    run._replace({**done, "status": {**done["status"], "phase": "running", "progress": "1/3",
                                     "steps": [steps[0], {**steps[1], "phase": "retrying",
                                                          "attempts": 2}, {**steps[2],
                                                          "phase": "pending"}]}})
    reporter.update(run)
    reporter.update(run)  # nothing changed: no line
    run._replace(done)
    reporter.finish(run)
    assert stream.getvalue().splitlines() == [
        f"Run {R1}: running [1/3]",
        f"  step {steps[0]['name']}: completed",
        f"  step {steps[1]['name']}: retrying (attempt 2)",
        f"Run {R1}: completed [3/3]",
        f"  step {steps[1]['name']}: completed",
        f"  step {steps[2]['name']}: completed",
        f"Run {R1} completed in 3m30s (3 steps, 0 cached)",
    ]


def test_cached_run_outcome_and_summary(client: Client) -> None:
    run = client.get_pipeline_run(R2)
    assert outcome_line(run) == f"Run {R2} cached in 1.0s (3 steps, 3 cached)"
    summary = run_summary(run)
    assert summary["status"] == "cached"
    trainer = next(s for s in summary["steps"] if s["name"] == "svc_trainer")
    assert trainer["cachedFrom"] == {"run": R1, "step": "svc_trainer"}
    assert trainer["outputs"]["trained_model"]["version"] == "1"


def test_load_and_visualize_through_the_artifact_store(
        client: Client, kube: FakeKube, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from kubeline.artifact_store import ArtifactStore, set_default_store
    from kubeline.materializers.builtin import BuiltInMaterializer

    store = ArtifactStore.local(str(tmp_path / "store"))
    set_default_store(store)
    try:
        uri = store.uri("artifacts", "ml", "acc")
        m = BuiltInMaterializer(uri, store)
        m.save({"accuracy": 0.97})
        store.write_bytes(f"{uri}/visualizations/0.html", b"<p>0.97</p>")
        av_obj = kube.store[n.ARTIFACT_VERSIONS][n.artifact_version_name("training_acc", "1")]
        av_obj["spec"].update(
            uri=uri, materializer="kubeline.materializers.builtin.BuiltInMaterializer",
            dataType="builtins.dict", contentHash=m.content_hash(),
            visualizations=[{"uri": f"{uri}/visualizations/0.html", "type": "html"}])
        av = client.get_pipeline_run(R1).steps["svc_trainer"].outputs["training_acc"]
        assert av.load() == {"accuracy": 0.97}
        [path] = av.visualize()
        assert Path(path).read_bytes() == b"<p>0.97</p>"
    finally:
        set_default_store(None)
