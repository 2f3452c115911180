"""The legacy seeds' caching behaviours in the current API (imports: kubeline).

Seed 001: three runs of a digits pipeline whose trainer never caches: run 1 runs every
step; run 2 reuses the loader and retrains; run 3 (``enable_cache=False``) reruns all.
``PipelineRunLineageVisualizer`` shows each run's lineage coloured by status.

Seed 003: the digits pipeline rerun unchanged is served from the cache entirely; with the
SVC trainer swapped for a decision tree, the importer stays cached while the trainer and
the evaluator run again.

    python examples/caching/run.py
"""

from typing import Annotated

import numpy as np
from kubeline import pipeline, step
from kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer import (
    PipelineRunLineageVisualizer,
)
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

Split = tuple[
    Annotated[np.ndarray, "X_train"], Annotated[np.ndarray, "X_test"],
    Annotated[np.ndarray, "y_train"], Annotated[np.ndarray, "y_test"],
]


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    data = digits.images.reshape((len(digits.images), -1))
    return tuple(train_test_split(data, digits.target, test_size=0.2, shuffle=False))


# ----------------------------------------------------------------------------- seed 001


@step
def digits_data_loader() -> Split:
    """Loads the digits dataset as a tuple of flattened numpy arrays."""
    return _digits()


@step(enable_cache=False)  # never cache this step, always retrain
def svc_trainer(X_train: np.ndarray, y_train: np.ndarray, gamma: float = 0.001
                ) -> ClassifierMixin:
    """Train a sklearn SVC classifier."""
    model = SVC(gamma=gamma)
    model.fit(X_train, y_train)
    return model


@pipeline
def first_pipeline():
    X_train, _X_test, y_train, _y_test = digits_data_loader()
    svc_trainer(X_train=X_train, y_train=y_train)


# ----------------------------------------------------------------------------- seed 003


@step
def importer() -> Split:
    """The digits data, split for training and testing."""
    return _digits()


@step
def svc_digits_trainer(X_train: np.ndarray, y_train: np.ndarray) -> ClassifierMixin:
    """Train an sklearn SVC classifier."""
    model = SVC(gamma=0.001)
    model.fit(X_train, y_train)
    return model


@step
def tree_trainer(X_train: np.ndarray, y_train: np.ndarray) -> ClassifierMixin:
    """Train an sklearn decision tree classifier."""
    model = DecisionTreeClassifier(random_state=0)
    model.fit(X_train, y_train)
    return model


@step
def evaluator(X_test: np.ndarray, y_test: np.ndarray, model: ClassifierMixin) -> float:
    """The model's accuracy on the test set."""
    return float(model.score(X_test, y_test))


@pipeline
def digits_pipeline():
    """Links all the steps together in a pipeline."""
    X_train, X_test, y_train, y_test = importer()
    model = svc_digits_trainer(X_train=X_train, y_train=y_train)
    evaluator(X_test=X_test, y_test=y_test, model=model)


@pipeline(name="digits_pipeline")
def digits_tree_pipeline():
    """The same pipeline with the trainer swapped for a decision tree."""
    X_train, X_test, y_train, y_test = importer()
    model = tree_trainer(X_train=X_train, y_train=y_train)
    evaluator(X_test=X_test, y_test=y_test, model=model)


def seed_001_runs() -> list:
    """The three runs of seed 001, newest last."""
    return [first_pipeline(), first_pipeline(),
            first_pipeline.with_options(enable_cache=False)()]


def seed_003_runs() -> list:
    """Seed 003: the run, its unchanged rerun, and the run with the trainer swapped."""
    return [digits_pipeline(), digits_pipeline(), digits_tree_pipeline()]


if __name__ == "__main__":
    for run in seed_001_runs() + seed_003_runs():
        print(run.name, {name: s.status for name, s in run.steps.items()})
        PipelineRunLineageVisualizer().visualize(run)
