"""ZenML's "Metadata" page (docs/book/how-to/metadata/metadata.md): its in-step examples with
the imports changed, in pipelines (the page shows steps only). Helpers the page leaves to
the reader (``train_model``, ``transform``, ``get_git_hash``, ...) get one-line stand-ins.
Logging to finished runs, steps or artifacts after the fact is a documented difference
(docs/authoring.md).
"""

from typing import Annotated, Tuple

import pandas as pd

from kubeline import get_step_context, log_metadata, pipeline, step
from kubeline.artifacts.artifact_config import ArtifactConfig
from kubeline.metadata.metadata_types import DType, Path, StorageSize, Uri


def get_git_hash() -> str:  # stands in
    return "abc123"


def get_env_info() -> dict:  # stands in
    return {"python": "3.11"}


@step
def train_model_step(data: int = 3) -> int:
    model = data * 2
    accuracy = 0.9

    # Log metrics directly within the step
    log_metadata(
        metadata={"evaluation_metrics": {"accuracy": accuracy}}
    )

    return model


@step
def log_run_info_step():
    context = get_step_context()

    # Get some runtime information
    git_commit = get_git_hash()
    environment = get_env_info()

    # Log to the current pipeline run
    log_metadata(
        metadata={
            "git_info": {"commit": git_commit},
            "environment": environment
        },
        run_id_name_or_prefix=context.pipeline_run.id,
    )


@step
def process_data_step() -> pd.DataFrame:
    processed_data = pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]})

    # Log metadata for the output artifact (when step has single output)
    log_metadata(
        metadata={
            "data_stats": {
                "row_count": len(processed_data),
                "columns": list(processed_data.columns),
                "storage_size": StorageSize(processed_data.memory_usage().sum())
            }
        },
        infer_artifact=True  # Automatically target the output artifact
    )
    log_metadata(
        metadata={
            "dataset_source": Uri("gs://my-bucket/datasets/source.csv"),  # External URI
            "preprocessing_script": Path("/scripts/preprocess.py"),  # File path
            "column_types": {
                "age": DType("int"),  # Data type
                "income": DType("float"),
                "score": DType("int")
            },
            "processed_data_size": StorageSize(2500000)  # Size in bytes
        },
        infer_artifact=True
    )

    return processed_data


@step
def split_data_step(data: pd.DataFrame) -> Tuple[pd.DataFrame, pd.DataFrame]:
    train, test = data.iloc[:2], data.iloc[2:]

    # Log metadata for specific output by name
    log_metadata(
        metadata={"split_info": {"train_size": len(train)}},
        artifact_name="output_0",  # Name of the specific output
        infer_artifact=True
    )

    return train, test


@step
def produce(name: str) -> Tuple[
    Annotated[
        str,
        ArtifactConfig(
            name="custom_name",
            run_metadata={"config_metadata": "bar"},
            tags=["config_tags"],
        ),
    ],
    str,
]:
    ctx = get_step_context()
    # Attach metadata and tags to the named (or default) output
    ctx.add_output_metadata({"m": 1}, output_name=name)
    ctx.add_output_tags(["t1", "t1"], output_name=name)  # duplicates ok
    return "a", "b"


@step
def upstream() -> int:
    log_metadata({"quality": "ok"}, infer_artifact=True)
    return 42


@step
def downstream(x: int) -> None:
    md = get_step_context().inputs["x"].run_metadata
    assert md["quality"] == "ok"


@step
def trainer(param: int = 1):
    ctx = get_step_context()
    print("run:",  ctx.pipeline_run.name, ctx.pipeline_run.id)
    print("step:", ctx.step_run.name,   ctx.step_run.id)
    print("params:", ctx.step_run.config.parameters)


@pipeline
def metadata_pipeline():  # stands in: the page's steps, wired together
    train_model_step()
    log_run_info_step()
    split_data_step(process_data_step())
    produce(name="custom_name")
    downstream(upstream())
    trainer()


if __name__ == "__main__":
    metadata_pipeline()
