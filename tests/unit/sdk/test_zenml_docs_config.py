"""ZenML's "Configuration with YAML" page: each YAML example applied with
``with_options(config_path=...)`` gives the configuration the page describes, or an error
naming the difference (examples/zenml_docs/configs/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from kubeline.errors import ConfigurationError
from kubeline.resources.models import RunConfiguration
from kubeline.resources.run_config import effective_enable_cache

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[3] / "examples" / "zenml_docs"
CONFIGS = DOCS / "configs"
sys.path.insert(0, str(DOCS))
import configured as c  # noqa: E402


def _compile(config: str, pipeline: Any = c.my_pipeline) -> Any:
    return pipeline.with_options(config_path=str(CONFIGS / config)).compile(source_root=DOCS)


def test_sample_configuration_and_its_hierarchy() -> None:
    compiled = _compile("config.yaml")
    steps = {s.id: s for s in compiled.spec.steps}
    assert steps["preprocessing"].parameters["dataset_name"] == "my_dataset"  # pipeline level
    assert steps["train_model"].parameters["learning_rate"] == 0.001  # step level wins
    assert compiled.spec.pipeline_parameters == {"dataset_name": "my_dataset",
                                                 "learning_rate": 0.01}
    assert compiled.spec.enable_cache is False
    assert compiled.run_config["steps"]["train_model"]["enableCache"] is True
    # What a run of it decides (kubeline.resources.run_config): the pipeline's false applies
    # to preprocessing, train_model's own true wins for it.
    run_config = RunConfiguration.model_validate(compiled.run_config)
    assert not effective_enable_cache(steps["preprocessing"], compiled.spec, run_config)
    assert effective_enable_cache(steps["train_model"], compiled.spec, run_config)


def test_step_parameters() -> None:
    steps = {s.id: s for s in _compile("parameters.yaml").spec.steps}
    assert steps["preprocessing"].parameters == {"dataset_name": "default", "normalize": True,
                                                 "fill_missing": "mean"}
    assert steps["train_model"].parameters == {"learning_rate": 0.001, "optimizer": "adam"}


def test_enable_flags() -> None:
    compiled = _compile("flags.yaml")
    steps = {s.id: s for s in compiled.spec.steps}
    assert compiled.run_config["steps"]["preprocessing"]["enableCache"] is False
    assert steps["train_model"].enable_artifact_visualization is False
    assert steps["preprocessing"].enable_artifact_visualization is True
    assert steps["train_model"].enable_artifact_metadata is True


def test_run_name_with_placeholders() -> None:
    name = _compile("run_name.yaml").run_config["runName"]
    assert name.startswith("training_run_cifar10_resnet50_lr0.001_20") and "{" not in name


def test_docker_settings_that_build_images_are_refused_naming_them() -> None:
    with pytest.raises(ConfigurationError, match=r"\['requirements', .*'apt_packages'\]|"
                                                 r"builds no images"):
        _compile("docker.yaml")


def test_resource_settings_pipeline_and_step_level() -> None:
    steps = {s.id: s for s in _compile("resources.yaml").spec.steps}
    pre, train = steps["preprocessing"].resources, steps["train_model"].resources
    assert pre is not None and train is not None
    assert (pre.cpu, pre.memory, pre.gpu) == ("2", "4G", 1)
    assert (train.cpu, train.memory, train.gpu) == ("4", "16G", 2)


def test_stack_component_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="experiment_tracker= is not supported"):
        _compile("stack.yaml")


def test_environment_variables_in_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "k-123")
    monkeypatch.setenv("DB_CONNECTION_STRING", "postgres://db")
    steps = _compile("env.yaml").spec.steps
    assert steps[0].env == {"API_KEY": "k-123", "DATABASE_URL": "postgres://db"}
    monkeypatch.delenv("DB_CONNECTION_STRING")
    with pytest.raises(ConfigurationError, match="DB_CONNECTION_STRING"):
        _compile("env.yaml")


def test_configuration_files_for_environments() -> None:
    dev = _compile("dev.yaml", c.sized_pipeline)
    assert dev.spec.steps[0].parameters == {"dataset_size": "small"}
    assert dev.spec.image == "zenml-io/zenml:latest" and dev.spec.enable_cache is False
    with pytest.raises(ConfigurationError, match="enable_step_logs=False"):
        _compile("prod.yaml", c.sized_pipeline)  # Kubeline always keeps step logs


def test_model_configuration() -> None:
    model = c.my_pipeline.with_options(config_path=str(CONFIGS / "model.yaml")).options.model
    assert model is not None
    assert (model.name, model.version) == ("classification_model", "1.2.3")
    assert model.description.startswith("Image classifier")
