"""Seed 004, "Advanced Usage", method 1: trigger a pipeline's latest snapshot from a step.

The seed's code, unchanged except `zenml` -> `kubeline` in the imports. The step Pods'
ServiceAccount must be allowed to start runs (the chart's `steps.allowTriggeringRuns=true`).

    python examples/snapshots/trigger_by_pipeline.py
"""

import pandas as pd
from kubeline import pipeline, step
from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from kubeline.artifacts.utils import load_artifact
from kubeline.client import Client
from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration


@step
def trainer(data_artifact_id: str):
    df = load_artifact(data_artifact_id)  # noqa: F841 (the seed's code as written)

@pipeline
def training_pipeline():
    trainer()

@step
def load_data() -> pd.DataFrame:
    # Your data loading logic here
    return pd.DataFrame()

@step
def trigger_pipeline(df: UnmaterializedArtifact):
    # By using UnmaterializedArtifact we can get the ID of the artifact
    run_config = PipelineRunConfiguration(
        steps={"trainer": {"parameters": {"data_artifact_id": df.id}}}
    )

    # This triggers the LATEST runnable snapshot for the "training_pipeline" pipeline
    Client().trigger_pipeline(pipeline_name_or_id="training_pipeline", run_configuration=run_config)

@pipeline
def loads_data_and_triggers_training():
    df = load_data()
    trigger_pipeline(df)  # Will trigger the other pipeline


if __name__ == "__main__":
    # A runnable snapshot of the training pipeline must exist: its trainer's
    # data_artifact_id has no default, so every run's configuration sets it.
    training_pipeline.create_snapshot(name="training-snapshot")
    run = loads_data_and_triggers_training()
    print(f"{run.name}: {run.status}")
    for triggered in run.triggered_runs:
        triggered.wait()
        print(f"triggered {triggered.name} from step "
              f"{triggered.triggered_by.step.name}: {triggered.status}")
