"""ZenML's decorator options: compiled into the snapshot, run in the step Pod, or refused with
an error naming the difference (pure: compiler, runtime against moto S3, manifest parsing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
import zenml_steps as z
from kubeline import ArtifactConfig, Tag, pipeline, step
from kubeline.enums import ExecutionMode
from kubeline.errors import CompileError, ConfigurationError
from kubeline.runtime import EXIT_OK, EXIT_STEP, run_invocation
from moto_s3 import moto_store

pytestmark = pytest.mark.unit
ROOT = Path(z.__file__).parent


@step
def one(x: int = 1) -> int:
    return x


@step
def named() -> Annotated[int, "{dataset}_data_{date}"]:
    return 1


# ----------------------------------------------------------------------------- compile


def test_hooks_compile_to_module_functions() -> None:
    spec = z.hooked_pipeline.compile(source_root=ROOT).spec
    assert spec.steps[0].hooks == {"on_failure": "zenml_steps:on_failure",
                                   "on_success": "zenml_steps:on_success"}
    string_hook = one.with_options(on_failure="zenml_steps.on_failure")

    @pipeline
    def p() -> None:
        string_hook()

    assert p.compile(source_root=ROOT).spec.steps[0].hooks == {
        "on_failure": "zenml_steps:on_failure"}


def test_pipeline_extra_is_the_pipelines_not_the_steps() -> None:
    compiled = z.introspection_pipeline.compile(source_root=ROOT)
    assert compiled.spec.extra == {"team": "vision"}
    assert compiled.spec.steps[0].extra == {"owner": "ml"}
    assert "team" not in compiled.spec.steps[1].extra


def test_pipeline_context_sees_extra() -> None:
    from kubeline import get_pipeline_context

    seen: dict[str, Any] = {}

    @pipeline(extra={"k": "v"})
    def p() -> None:
        seen.update(get_pipeline_context().extra)
        one()

    p.compile(source_root=ROOT)
    assert seen == {"k": "v"}


def test_substitutions_fill_artifact_names_and_date_waits_for_the_run() -> None:
    @pipeline(substitutions={"dataset": "train"})
    def p() -> None:
        named()
        named.with_options(substitutions={"dataset": "test"})()

    steps = p.compile(source_root=ROOT).spec.steps
    assert [s.outputs[0].artifact_name for s in steps] == [
        "train_data_{date}", "test_data_{date}"]
    assert steps[0].outputs[0].name == "dataset_data_date"

    @pipeline
    def missing() -> None:
        named()

    with pytest.raises(CompileError, match=r"placeholder \{dataset\}"):
        missing.compile(source_root=ROOT)


def test_run_name_template_is_filled_at_submission() -> None:
    @pipeline(run_name="training_{date}_{experiment}", substitutions={"experiment": "lr"})
    def p() -> None:
        one()

    name = p.compile(source_root=ROOT).run_config["runName"]
    assert name.startswith("training_20") and name.endswith("_lr") and "{" not in name


def test_orchestrator_synchronous_setting() -> None:
    @pipeline(settings={"orchestrator": {"synchronous": False}})
    def p() -> None:
        one()

    assert p.options.synchronous is False
    with pytest.raises(ConfigurationError, match=r"settings\['orchestrator'\] \['pod_settings'\]"):
        p.with_options(settings={"orchestrator": {"pod_settings": {"x": 1}}})


@pytest.mark.parametrize(("options", "message"), [
    ({"execution_mode": ExecutionMode.CONTINUE_ON_FAILURE}, "runs fail_fast"),
    ({"enable_step_logs": False}, "always keeps step logs"),
    ({"experiment_tracker": "mlflow"}, "no stack components"),
    ({"step_operator": "sagemaker"}, "own Pod"),
    ({"secrets": ["aws"]}, "Kubernetes Secret"),
    ({"tags": [Tag(name="prod", exclusive=True)]}, "exclusive/cascade"),
    ({"tags": [Tag(name="cascade_tag", cascade=True)]}, "exclusive/cascade"),
    ({"on_start": print}, "only on_failure and on_success hooks"),
    ({"on_end": print}, "only on_failure and on_success hooks"),
    ({"cache_policy": "x"}, "cache key is fixed"),
])
def test_refused_options_name_the_difference(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        pipeline(**options)(lambda: one())


def test_accepted_defaults_and_zenml_aliases() -> None:
    p = pipeline(execution_mode=ExecutionMode.FAIL_FAST, enable_step_logs=True,
                 tags=["a", Tag(name="b")], environment={"A": "1"})(z.producer.entrypoint)
    assert p.options.tags == ("a", "b") and p.options.step_defaults.env == {"A": "1"}


def test_yaml_keys_of_zenml(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "enable_step_logs: true\nenable_artifact_metadata: false\n"
        "extra: {team: ml}\nsuccess_hook_source: zenml_steps.on_success\n"
        "steps:\n  one:\n    enable_artifact_visualization: false\n"
        "    failure_hook_source: zenml_steps.on_failure\n")

    @pipeline
    def p() -> None:
        one()

    spec = p.with_options(config_path=str(cfg)).compile(source_root=ROOT).spec
    step_spec = spec.steps[0]
    assert spec.extra == {"team": "ml"}
    assert step_spec.enable_artifact_metadata is False
    assert step_spec.enable_artifact_visualization is False
    assert step_spec.hooks == {"on_failure": "zenml_steps:on_failure",
                               "on_success": "zenml_steps:on_success"}
    cfg.write_text("enable_step_logs: false\n")
    with pytest.raises(ConfigurationError, match="enable_step_logs=False"):
        p.with_options(config_path=str(cfg))


def test_artifact_config_run_metadata_must_be_json() -> None:
    with pytest.raises(ConfigurationError, match="run_metadata must be JSON"):
        ArtifactConfig(name="x", run_metadata={"f": object()})


# ----------------------------------------------------------------------------- runtime


@pytest.fixture(scope="module")
def store():
    with moto_store() as st:
        yield st


def _invocation(spec: Any, index: int, store: Any, run: str, attempt: int = 1,
                inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    step_doc = spec.steps[index].to_k8s()
    return {
        "namespace": "default", "pipeline": spec.pipeline, "pipelineName": spec.pipeline_name,
        "run": run, "runUid": "uid-9", "snapshot": "snap", "attempt": attempt, "step": step_doc,
        "parameters": step_doc["parameters"], "inputs": inputs or {},
        "outputsUri": store.attempt_uri("default", spec.pipeline, run, step_doc["name"], attempt),
        "code": None, "model": None,
    }


def _manifest(term: Path, store: Any) -> dict[str, Any]:
    return json.loads(store.read_bytes(json.loads(term.read_text())["manifest"]))


def test_on_failure_runs_once_on_the_last_attempt(store, tmp_path: Path) -> None:
    z.EVENTS.clear()
    spec = z.hooked_pipeline.compile(source_root=ROOT).spec
    inv = _invocation(spec, 0, store, "run-h")
    inv["step"]["retry"] = {"maxRetries": 1}
    assert run_invocation(inv, store, str(tmp_path / "t1")) == EXIT_STEP
    assert z.EVENTS == []  # a retry follows: no hook yet
    inv2 = _invocation(spec, 0, store, "run-h", attempt=2)
    inv2["step"]["retry"] = {"maxRetries": 1}
    assert run_invocation(inv2, store, str(tmp_path / "t2")) == EXIT_STEP
    assert z.EVENTS == [("failure", "hooked: My exception")]


def test_on_success_runs_and_a_raising_hook_changes_nothing(store, tmp_path: Path) -> None:
    z.EVENTS.clear()

    @pipeline
    def ok() -> None:
        z.hooked(fail=False)

    spec = ok.compile(source_root=ROOT).spec
    assert run_invocation(_invocation(spec, 0, store, "run-s"), store,
                          str(tmp_path / "t")) == EXIT_OK
    assert z.EVENTS == [("success", "hooked")]
    spec2 = z.tagging_pipeline.compile(source_root=ROOT).spec
    assert run_invocation(_invocation(spec2, 1, store, "run-s"), store,
                          str(tmp_path / "t2")) == EXIT_OK


def test_tags_metadata_type_and_manual_artifacts_reach_the_manifest(store, tmp_path: Path) -> None:
    spec = z.tagging_pipeline.compile(source_root=ROOT).spec
    term = tmp_path / "t"
    assert run_invocation(_invocation(spec, 0, store, "run-t"), store, str(term)) == EXIT_OK
    manifest = _manifest(term, store)
    out = manifest["outputs"]["my_output"]
    assert out["tags"] == ["my_tag", "inferred", "by_context"]
    assert out["metadata"]["source"] == "docs" and out["artifactType"] == "ModelArtifact"
    assert manifest["runTags"] == ["run_tag"]
    (manual,) = manifest["manualArtifacts"]
    assert manual["artifactName"] == "side_data" and manual["tags"] == ["manual"]
    from kubeline.materializers import load_artifact_data

    assert load_artifact_data(manual["uri"], manual["materializer"], manual["dataType"],
                              store, content_hash=manual["contentHash"]) == [1, 2, 3]


def test_step_context_inputs_id_and_config(store, tmp_path: Path) -> None:
    spec = z.introspection_pipeline.compile(source_root=ROOT).spec
    term = tmp_path / "t"
    assert run_invocation(_invocation(spec, 0, store, "run-c"), store, str(term)) == EXIT_OK
    produced = _manifest(term, store)["outputs"]["output"]
    inputs = {"x": {"uri": produced["uri"], "id": "av-1", "version": "1",
                    "materializer": produced["materializer"], "dataType": produced["dataType"],
                    "artifactName": "producer-output", "contentHash": produced["contentHash"]}}
    inv = _invocation(spec, 1, store, "run-c", inputs=inputs)
    assert run_invocation(inv, store, str(term)) == EXIT_OK
    from kubeline.materializers import load_artifact_data

    out = _manifest(term, store)["outputs"]["output"]
    value = load_artifact_data(out["uri"], out["materializer"], out["dataType"], store,
                               content_hash=out["contentHash"])
    assert value == {"input_uri": produced["uri"], "step_run_id": "uid-9/introspect",
                     "config_parameters": {"lr": 0.5}, "extra": {}}


def test_artifact_metadata_and_visualizations_can_be_switched_off(store, tmp_path: Path) -> None:
    spec = z.bare_pipeline.compile(source_root=ROOT).spec
    assert spec.steps[0].enable_artifact_metadata is False
    term = tmp_path / "t"
    assert run_invocation(_invocation(spec, 0, store, "run-b"), store, str(term)) == EXIT_OK
    out = _manifest(term, store)["outputs"]["output"]
    assert out["visualizations"] == [] and "shape" not in out["metadata"]
    assert out["metadata"]["storage_size"] > 0


# ----------------------------------------------------------------------------- operator


def test_operator_parses_tags_type_manual_artifacts_and_run_tags() -> None:
    from kubeline_operator.artifacts import (
        ManifestError,
        artifact_version_body,
        parse_manifest,
        parse_manual_artifacts,
        run_tags_of,
    )

    spec = z.tagging_pipeline.compile(source_root=ROOT).spec
    step_spec = spec.steps[0]
    data = {"outputs": {"my_output": {
        "uri": "s3://b/x", "materializer": "m", "tags": ["my_tag"],
        "artifactType": "ModelArtifact", "artifactName": "my_output"}},
        "runTags": ["run_tag"], "manualArtifacts": [
            {"uri": "s3://b/y", "materializer": "m", "artifactName": "side", "tags": ["t"]}]}
    (out,) = parse_manifest(data, step_spec, "p")
    body = artifact_version_body(out, "1", "ns", "p", "r", step_spec, None)
    assert body["spec"]["tags"] == ["my_tag"] and body["spec"]["artifactType"] == "ModelArtifact"
    (manual,) = parse_manual_artifacts(data, step_spec)
    manual_body = artifact_version_body(manual, "1", "ns", "p", "r", step_spec, None)
    assert manual_body["spec"]["saveType"] == "manual"
    assert manual_body["metadata"]["labels"]["kubeline.dev/step"] == step_spec.name
    assert run_tags_of(data) == ["run_tag"] and run_tags_of({"outputs": {}}) == []
    # A malformed entry breaks the contract (kubeline.resources.manifest): the manifest is
    # refused naming the field, the step fails with OutputsMissing, nothing is half-recorded.
    broken = {**data, "manualArtifacts": [{"uri": "", "artifactName": "broken"}]}
    with pytest.raises(ManifestError, match=r"manualArtifacts\.0\.uri"):
        parse_manual_artifacts(broken, step_spec)


def test_merged_tags_annotation() -> None:
    from kubeline.resources.names import merged_tags

    assert json.loads(merged_tags(None, ["a", "b"])) == ["a", "b"]
    assert json.loads(merged_tags('["a"]', ["a", "c"])) == ["a", "c"]
    assert json.loads(merged_tags('["a","c"]', ["a"], add=False)) == ["c"]
    assert json.loads(merged_tags("not json", ["x"])) == ["x"]
