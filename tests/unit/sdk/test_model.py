"""``Model``: stages, name templates, and model artifacts named in a pipeline body."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import sample_steps as s
from kubeline import ArtifactConfig, Model, get_pipeline_context, pipeline, step
from kubeline.enums import ArtifactType, ModelStages
from kubeline.errors import ConfigurationError, KubelineError
from sklearn.base import ClassifierMixin

pytestmark = pytest.mark.unit
ROOT = Path(s.__file__).parent


@step
def use_model(model: ClassifierMixin, x: int = 1) -> int:
    return x


@step
def outputs() -> tuple[
    Annotated[ClassifierMixin, "trained_model"],
    Annotated[int, ArtifactConfig(name="weights", is_model_artifact=True)],
    Annotated[int, ArtifactConfig(name="endpoint", is_deployment_artifact=True)],
    Annotated[int, ArtifactConfig(name="typed", artifact_type=ArtifactType.MODEL)],
    Annotated[int, "plain"],
]:
    raise NotImplementedError


@pipeline(model=Model(name="iris_classifier", version=ModelStages.PRODUCTION))
def predicts() -> None:
    model = get_pipeline_context().model
    lazy = model.get_model_artifact("trained_model")
    with pytest.raises(KubelineError, match="resolved when the run starts"):
        lazy.load()
    use_model(model=lazy)
    use_model(model=Model(name="other", version=3).get_artifact("blob", version="2"),
              id="use_other")


@pipeline(model=Model(name="iris_classifier"))
def trains() -> None:
    outputs()


def test_model_artifacts_in_a_pipeline_become_inputs_resolved_at_run_start() -> None:
    spec = predicts.compile(source_root=ROOT).spec
    assert spec.model is not None and spec.model.version == "production"
    (inp,) = spec.steps[0].inputs
    assert inp.name == "model" and inp.step is None and inp.artifact is None
    assert inp.model_artifact is not None
    assert inp.model_artifact.to_k8s() == {"model": "iris_classifier", "version": "production",
                                            "artifact": "trained_model", "type": "model"}
    other = spec.steps[1].inputs[0].model_artifact
    assert other is not None
    assert other.to_k8s() == {"model": "other", "version": "3", "artifact": "blob",
                              "artifactVersion": "2", "type": "any"}


def test_outputs_declare_how_they_link_to_the_model_version() -> None:
    spec = trains.compile(source_root=ROOT).spec
    kinds = {o.name: o.artifact_type for o in spec.steps[0].outputs}
    assert kinds == {"trained_model": "model", "weights": "model", "endpoint": "deployment",
                     "typed": "model", "plain": "data"}
    assert spec.model is not None and spec.model.version is None  # a new version per run


def test_model_versions_stages_and_templates() -> None:
    assert Model(name="m", version="production").version is ModelStages.PRODUCTION
    assert Model(name="m", version=ModelStages.LATEST).version_ref == "latest"
    assert Model(name="m", version=3).version_ref == "3"
    assert Model(name="m", version="v_{date}").to_spec() == {"name": "m", "version": "v_{date}"}
    with pytest.raises(KeyError, match="Missing key: 'nope'"):
        Model(name="m", version="v_{nope}").to_spec()
    with pytest.raises(ValueError, match="non-empty string name"):
        Model(name="")
    assert "staging" in ModelStages.values()


def test_a_model_per_step_is_refused_naming_the_difference() -> None:
    with pytest.raises(ConfigurationError, match=r"a model per step \(@step\(model=\.\.\.\)\) "
                                                 "is not supported"):
        @step(model=Model(name="m"))
        def f() -> int:
            return 1
