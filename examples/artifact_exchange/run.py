"""Seed 002, pattern 1: artifact exchange between pipelines through the `Client`.

The seed's two pipelines with `zenml` -> `kubeline` in the imports, and the steps the seed
leaves out written in: a feature engineering pipeline produces the named datasets
`iris_training_dataset` (versions 1, 2, ...) and `iris_testing_dataset` (version `raw_2023`);
the training pipeline fetches them by name in its body and passes them to its steps (the
seed's `model_evaluator(model, ...)` names an undefined `model`; here it gets `test_data`).

    python examples/artifact_exchange/run.py
"""

from typing import Annotated

import pandas as pd
from kubeline import ArtifactConfig, pipeline, step
from kubeline.client import Client
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC


@step
def load_data() -> pd.DataFrame:
    """The iris data as one frame (features and a `target` column)."""
    return load_iris(as_frame=True).frame


@step
def prepare_data(dataset: pd.DataFrame, test_size: float = 0.2) -> tuple[
    Annotated[pd.DataFrame, ArtifactConfig(name="iris_training_dataset")],
    Annotated[pd.DataFrame, ArtifactConfig(name="iris_testing_dataset", version="raw_2023")],
]:
    """Split into the named training and testing datasets."""
    train, test = train_test_split(dataset, test_size=test_size, random_state=42)
    return train, test


@step
def model_trainer(train_data: pd.DataFrame) -> Annotated[ClassifierMixin, "sklearn_classifier"]:
    model = SVC(gamma=0.01)
    model.fit(train_data.drop(columns="target"), train_data["target"])
    return model


@step
def model_evaluator(test_data: pd.DataFrame,
                    model: ClassifierMixin) -> Annotated[float, "test_accuracy"]:
    return float(model.score(test_data.drop(columns="target"), test_data["target"]))


@pipeline
def feature_engineering_pipeline():
    dataset = load_data()
    # This returns artifacts called "iris_training_dataset" and "iris_testing_dataset"
    train_data, test_data = prepare_data(dataset)  # noqa: RUF059 (as in the seed)


@pipeline
def training_pipeline():
    client = Client()
    # Fetch by name alone - uses the latest version of this artifact
    train_data = client.get_artifact_version(name="iris_training_dataset")
    # For test, we want a particular version
    test_data = client.get_artifact_version(name="iris_testing_dataset", version="raw_2023")

    # We can now send these directly into steps
    sklearn_classifier = model_trainer(train_data)
    model_evaluator(test_data, sklearn_classifier)


if __name__ == "__main__":
    feature_engineering_pipeline()
    run = training_pipeline()
    print(f"test accuracy: {run.steps['model_evaluator'].output.load():.3f}")
