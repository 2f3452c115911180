"""Seed 002, pattern 2: artifact exchange between pipelines through a `Model`.

`train_and_promote` is written as ZenML's docs show it: the pipeline is configured with
`Model(name="iris_classifier")`, so each run creates a new version of the model; the
trained SVC (`trained_model`, a model artifact) is linked to that version, and a step
promotes it with `get_step_context().model.set_stage(ModelStages.PRODUCTION, force=True)`
when its accuracy clears a threshold (the version in production before is archived).

`do_predictions` is the seed's code with `zenml` -> `kubeline` in the imports: it runs with
`Model(name="iris_classifier", version=ModelStages.PRODUCTION)` and passes
`get_pipeline_context().model.get_model_artifact("trained_model")` to its step; the
production version is looked up when the run starts, not when it is compiled.
`do_predictions_in_step` is the seed's first variant: the step fetches the model through
its context (with `.load()`: the seed calls `.predict` on the artifact version itself).

The promoting step needs the step ServiceAccount's right to change stages (chart value
`steps.allowModelPromotion=true`); reading models needs only the default `steps.apiAccess`.

    python examples/model_exchange/run.py
"""

from typing import Annotated

import pandas as pd
from kubeline import (
    Model,
    get_pipeline_context,
    get_step_context,
    log_metadata,
    pipeline,
    step,
)
from kubeline.enums import ModelStages
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.svm import SVC


@step
def load_training_data() -> Annotated[pd.DataFrame, "iris_training_data"]:
    """The iris data as one frame (features and a `target` column)."""
    return load_iris(as_frame=True).frame


@step
def train(data: pd.DataFrame, gamma: float = 0.001) -> Annotated[ClassifierMixin, "trained_model"]:
    model = SVC(gamma=gamma)
    model.fit(data.drop(columns="target"), data["target"])
    return model


@step
def evaluate(data: pd.DataFrame, model: ClassifierMixin) -> Annotated[float, "accuracy"]:
    accuracy = float(model.score(data.drop(columns="target"), data["target"]))
    # Onto this run's model version (ZenML: log_metadata(..., infer_model=True)).
    log_metadata(metadata={"accuracy": accuracy}, infer_model=True)
    return accuracy


@step(enable_cache=False)
def promote(accuracy: float, threshold: float = 0.8) -> Annotated[bool, "promoted"]:
    """Promote this run's model version to production if it is good enough (ZenML docs)."""
    if accuracy < threshold:
        return False
    get_step_context().model.set_stage(ModelStages.PRODUCTION, force=True)
    return True


@pipeline(model=Model(name="iris_classifier", license="Apache 2.0",
                      description="A classification model for the iris dataset."))
def train_and_promote(gamma: float = 0.001):
    data = load_training_data()
    model = train(data, gamma=gamma)
    accuracy = evaluate(data, model)
    promote(accuracy)


# ---------------------------------------------------------------- the seed's inference


@step
def load_data() -> pd.DataFrame:
    """Batch inference data: the iris features."""
    return load_iris(as_frame=True).data


@step
def predict(
    model: ClassifierMixin,
    data: pd.DataFrame,
) -> Annotated[pd.Series, "predictions"]:
    predictions = pd.Series(model.predict(data))
    return predictions


@pipeline(
    model=Model(
        name="iris_classifier",
        # Using the production stage
        version=ModelStages.PRODUCTION,
    ),
)
def do_predictions():
    # model name and version are derived from pipeline context
    model = get_pipeline_context().model
    inference_data = load_data()
    predict(
        # Here, we load in the `trained_model` from a trainer step
        model=model.get_model_artifact("trained_model"),
        data=inference_data,
    )


# IMPORTANT: Cache needs to be disabled to avoid unexpected behavior
@step(enable_cache=False)
def predict_from_context(
    data: pd.DataFrame,
) -> Annotated[pd.Series, "predictions"]:
    # model name and version are derived from pipeline context
    model = get_step_context().model

    # Fetch the model directly from the model control plane
    model = model.get_model_artifact("trained_model").load()

    # Make predictions
    predictions = pd.Series(model.predict(data))
    return predictions


@pipeline(model=Model(name="iris_classifier", version=ModelStages.PRODUCTION))
def do_predictions_in_step():
    predict_from_context(load_data())


if __name__ == "__main__":
    train_and_promote()
    do_predictions()
    do_predictions_in_step()
