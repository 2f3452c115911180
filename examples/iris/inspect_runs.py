"""Seed 000's inspection snippets, in the order the seed shows them, imports changed.

The seed's placeholders are filled from a real run of its iris pipeline (run.py): the
pipeline is ``training_pipeline`` (the seed says ``first_pipeline``), the run name and the
artifact id are the run's own, and an artifact ``iris_dataset`` with version ``2022`` is
saved first so the artifact snippets find what the seed expects. ``inspect()`` returns what
each snippet produced, for tests; run it as a script to print them.

    python examples/iris/inspect_runs.py
"""

from typing import Any

from kubeline import save_artifact
from kubeline.client import Client
from run import training_pipeline


def inspect() -> dict[str, Any]:
    seen: dict[str, Any] = {}

    # --- Pipelines
    pipeline_model = Client().get_pipeline("training_pipeline")
    pipelines = Client().list_pipelines()
    runs = pipeline_model.runs
    seen.update(pipeline=pipeline_model.name, pipelines=[p.name for p in pipelines],
                runs=[r.name for r in runs])

    # --- Runs
    run = training_pipeline()
    refreshed = Client().get_pipeline_run(run.id)  # to get a refreshed version
    pipeline_run = Client().get_pipeline_run(run.name)
    status = run.status
    pipeline_config = run.config
    pipeline_settings = run.config.settings
    run_metadata = run.run_metadata
    # The following only works for runs on certain remote orchestrators
    orchestrator_url = run_metadata["orchestrator_url"].value
    seen.update(run=run.name, refreshed=refreshed.id, by_name=pipeline_run.id, status=status,
                gamma=pipeline_config.parameters.get("gamma"), settings=pipeline_settings,
                orchestrator_url=orchestrator_url)

    # --- Steps
    step = run.steps["svc_trainer"]
    # The outputs of a step are accessible by name
    output = step.outputs["trained_model"]
    # If there is only one output, you can use the `.output` property instead
    loader_output = run.steps["training_data_loader"].outputs["X_train"]
    # use the `.load()` method to load the artifact into memory
    my_model = output.load()
    seen.update(model=type(my_model).__name__, loader_rows=len(loader_output.load()))

    # --- Artifacts
    data = run.steps["training_data_loader"].outputs["X_train"].load()
    saved = save_artifact(data, name="iris_dataset", version="2022")
    artifact = Client().get_artifact("iris_dataset")
    versions = artifact.versions  # Contains all the versions of the artifact
    output = artifact.versions["2022"]  # Get version name "2022"
    # Using version name:
    output = Client().get_artifact_version("iris_dataset", "2022")
    # Using UUID
    output = Client().get_artifact_version(saved.id)
    loaded_artifact = output.load()
    output_metadata = output.run_metadata
    storage_size_in_bytes = output_metadata["storage_size"].value
    shown = output.visualize()
    seen.update(versions=sorted(versions), artifact_id=output.id, saved_id=saved.id,
                loaded_rows=len(loaded_artifact), storage_size=storage_size_in_bytes,
                visualized=shown)
    return seen


if __name__ == "__main__":
    for key, value in inspect().items():
        print(f"{key}: {value}")
