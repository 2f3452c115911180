"""Seed 001's code example in the current API, with `zenml` -> `kubeline` in the imports.

The seed uses ZenML's legacy API (`zenml.steps.Output`, `BaseStepConfig`, pipeline
instances with `get_runs()`); the behaviour is what matters: three runs of the same
pipeline, each shown as a lineage picture in the local browser at http://127.0.0.1:8050.
Run 1: every step runs (blue). Run 2: the loader is cached (green), the trainer re-runs
(blue, it never caches). Run 3 (cache disabled): every step runs again.

    python examples/lineage/run.py
"""

from typing import Annotated

import numpy as np
from kubeline import pipeline, step
from kubeline.client import Client
from kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer import (
    PipelineRunLineageVisualizer,
)
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC


@step
def digits_data_loader() -> tuple[
    Annotated[np.ndarray, "X_train"],
    Annotated[np.ndarray, "X_test"],
    Annotated[np.ndarray, "y_train"],
    Annotated[np.ndarray, "y_test"],
]:
    """Loads the digits dataset as a tuple of flattened numpy arrays."""
    digits = load_digits()
    data = digits.images.reshape((len(digits.images), -1))
    X_train, X_test, y_train, y_test = train_test_split(
        data, digits.target, test_size=0.2, shuffle=False
    )
    return X_train, X_test, y_train, y_test


@step(enable_cache=False)  # never cache this step, always retrain
def svc_trainer(
    X_train: np.ndarray,
    y_train: np.ndarray,
    gamma: float = 0.001,
) -> ClassifierMixin:
    """Train a sklearn SVC classifier."""
    model = SVC(gamma=gamma)
    model.fit(X_train, y_train)
    return model


@pipeline
def first_pipeline():
    X_train, X_test, y_train, y_test = digits_data_loader()  # noqa: RUF059 (the seed's code)
    svc_trainer(X_train, y_train)


if __name__ == "__main__":
    # The pipeline is executed for the first time, so all steps are run.
    first_pipeline()
    latest_run = Client().get_pipeline("first_pipeline").last_run
    PipelineRunLineageVisualizer().visualize(latest_run)

    # Step one will use cache, step two will rerun due to the decorator config
    first_pipeline()
    latest_run = Client().get_pipeline("first_pipeline").last_run
    PipelineRunLineageVisualizer().visualize(latest_run)

    # The complete pipeline will be rerun
    first_pipeline.with_options(enable_cache=False)()
    latest_run = Client().get_pipeline("first_pipeline").last_run
    PipelineRunLineageVisualizer().visualize(latest_run)
