"""Seed 002, pattern 1: a feature pipeline produces named datasets; a training pipeline
fetches them by name (latest) and by name + version in its body and passes them to steps.

Runs ``examples/artifact_exchange/run.py`` (the seed's pipelines) on the local cluster.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "artifact_exchange"


@pytest.fixture
def seed(step_namespace: str, operator: Any, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("run", None)
    yield importlib.import_module("run")
    sys.modules.pop("run", None)


def test_artifact_exchange_between_pipelines(seed: ModuleType) -> None:
    from kubeline.client import Client

    features = seed.feature_engineering_pipeline()
    assert features.status == "completed", (features.status, features.message)
    prepared = features.steps["prepare_data"]
    train_v = prepared.outputs["iris_training_dataset"]
    test_v = prepared.outputs["iris_testing_dataset"]
    assert (train_v.name, train_v.version) == ("iris_training_dataset", "1")
    assert (test_v.name, test_v.version) == ("iris_testing_dataset", "raw_2023")

    client = Client()
    assert client.get_artifact("iris_training_dataset").versions["1"].id == train_v.id
    assert client.get_artifact("iris_testing_dataset").versions["raw_2023"].id == test_v.id
    assert client.get_artifact_version("iris_training_dataset").id == train_v.id  # latest
    by_version = client.get_artifact_version("iris_testing_dataset", "raw_2023")
    assert by_version.id == test_v.id and by_version.producer_run.name == features.name
    assert client.get_artifact_version(test_v.id).version == "raw_2023"  # by id
    frame = by_version.load()
    assert frame.shape == (30, 5) and "target" in frame.columns

    training = seed.training_pipeline()
    assert training.status == "completed", (training.status, training.message)
    trainer, evaluator = training.steps["model_trainer"], training.steps["model_evaluator"]
    # The steps read exactly the versions fetched in the pipeline body.
    assert trainer.inputs["train_data"].id == train_v.id
    assert evaluator.inputs["test_data"].id == test_v.id
    assert evaluator.inputs["test_data"].version == "raw_2023"
    assert evaluator.inputs["model"].id == trainer.outputs["sklearn_classifier"].id
    assert evaluator.output.load() > 0.8
    # Nothing of the feature pipeline ran again: its outputs were only referenced.
    assert client.get_pipeline("feature_engineering_pipeline").num_runs == 1

    # A second training run over the same versions is served from the cache.
    again = seed.training_pipeline()
    assert again.status == "cached", again.status
