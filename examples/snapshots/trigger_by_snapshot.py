"""Seed 004, "Advanced Usage", method 2: trigger a specific snapshot from a step.

The seed's step, unchanged except `zenml` -> `kubeline` in the imports and the snapshot
placeholder filled in (`SNAPSHOT_NAME_OR_ID`, the name given to
`training_pipeline.create_snapshot`). It reuses method 1's `load_data` and `training_pipeline`.

    python examples/snapshots/trigger_by_snapshot.py
"""

from kubeline import pipeline, step
from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from kubeline.client import Client
from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration
from trigger_by_pipeline import load_data, training_pipeline

SNAPSHOT_NAME_OR_ID = "training-snapshot"

@step
def trigger_specific_snapshot(df: UnmaterializedArtifact):
    run_config = PipelineRunConfiguration(
        steps={"trainer": {"parameters": {"data_artifact_id": df.id}}}
    )

    Client().trigger_pipeline(snapshot_name_or_id=SNAPSHOT_NAME_OR_ID, run_configuration=run_config)

@pipeline
def loads_data_and_triggers_snapshot():
    df = load_data()
    trigger_specific_snapshot(df)


if __name__ == "__main__":
    snapshot = training_pipeline.create_snapshot(name=SNAPSHOT_NAME_OR_ID)
    run = loads_data_and_triggers_snapshot()
    print(f"{run.name}: {run.status}")
    for triggered in run.triggered_runs:
        triggered.wait()
        print(f"triggered {triggered.name} (snapshot {triggered.snapshot_name}) from step "
              f"{triggered.triggered_by.step.name}: {triggered.status}")
