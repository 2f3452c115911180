"""Seed 004, "Creating" and "Running Pipeline Snapshots" with the SDK and the CLI, imports
changed. The seed's ``my_pipeline`` is ``...``; here it has the two steps the seed's
``trigger_pipeline`` example configures (``data_loader``, ``model_trainer``).

    python run.py                      # the SDK examples
    kubeline pipeline snapshot create run.my_pipeline --name=my-snapshot   # the CLI
    kubeline pipeline snapshot run my-snapshot --config=run_config.yaml
"""

from kubeline import pipeline, step
from kubeline.client import Client


@step
def data_loader(data_path: str = "s3://old-data/") -> str:
    return data_path


@step
def model_trainer(data: str, learning_rate: float = 0.1) -> dict:
    return {"data": data, "learning_rate": learning_rate}


@pipeline
def my_pipeline():
    model_trainer(data_loader())


def create_and_run(name: str = "my-snapshot"):
    """The seed's SDK examples, in order: create, trigger with a dict, trigger with the
    snapshot's modified config template."""
    snapshot = my_pipeline.create_snapshot(name=name)

    first = Client().trigger_pipeline(
        snapshot_name_or_id=name,
        run_configuration={
            "steps": {
                "data_loader": {"parameters": {"data_path": "s3://new-data/"}},
                "model_trainer": {"parameters": {"learning_rate": 0.01}}
            }
        }
    )

    snapshot = Client().get_snapshot(name)
    config = snapshot.config_template

    # [OPTIONAL] Modify the configuration if needed
    config.steps["model_trainer"].parameters["learning_rate"] = 0.5

    second = Client().trigger_pipeline(
        snapshot_name_or_id=snapshot.id,
        run_configuration=config,
    )
    return first, second


if __name__ == "__main__":
    for run in create_and_run():
        print(run.name, run.wait().status)
