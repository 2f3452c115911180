"""ZenML's "Artifacts" and "Tags" pages (docs/book/how-to/artifacts, how-to/tags): their
examples with only the imports changed (``zenml`` -> ``kubeline``). Names a page leaves
undefined get a one-line stand-in, marked as such.

    python examples/zenml_docs/artifacts_tags.py
"""

import os
from pathlib import Path
from typing import Annotated, Tuple

import numpy as np
import pandas as pd

from kubeline import ArtifactConfig, Tag, add_tags, pipeline, register_artifact, step
from kubeline.client import Client
from kubeline.utils.tag_utils import remove_tags


# ----------------------------------------------------------------------------- artifacts.md
@step
def create_data() -> pd.DataFrame:
    """Creates a dataframe that becomes an artifact."""
    return pd.DataFrame({
        "feature_1": [1, 2, 3],
        "feature_2": [4, 5, 6],
        "target": [10, 20, 30]
    })


@step
def process_data(df: pd.DataFrame) -> pd.DataFrame:
    """Takes an artifact as input and returns a new artifact."""
    df["feature_3"] = df["feature_1"] * df["feature_2"]
    return df


@pipeline
def simple_pipeline():
    """Pipeline that creates and processes artifacts."""
    data = create_data()  # Produces an artifact
    processed_data = process_data(data)  # Uses and produces artifacts


@step
def split_data(
    data: np.ndarray,
    target: np.ndarray
) -> Tuple[
    Annotated[np.ndarray, "X_train"],
    Annotated[np.ndarray, "X_test"],
    Annotated[np.ndarray, "y_train"],
    Annotated[np.ndarray, "y_test"]
]:
    """Split data into training and testing sets."""
    # Implement split logic
    X_train, X_test = data[:80], data[80:]
    y_train, y_test = target[:80], target[80:]

    return X_train, X_test, y_train, y_test


@step
def make_arrays() -> Tuple[Annotated[np.ndarray, "data"], Annotated[np.ndarray, "target"]]:
    """Stands in: the page's split_data needs arrays."""
    return np.arange(200).reshape(100, 2), np.arange(100)


@pipeline
def split_pipeline():  # stands in around the page's split_data
    data, target = make_arrays()
    split_data(data, target)


@step
def extract_data(source: str) -> Annotated[pd.DataFrame, "{dataset_type}_data"]:
    """Extract data with a dynamically named output."""
    # Implementation...
    data = pd.DataFrame()  # Your data extraction logic here
    return data


@pipeline
def data_pipeline():
    # These will create artifacts named "train_data" and "test_data"
    train_df = extract_data.with_options(
        substitutions={"dataset_type": "train"}
    )(source="train_source")

    test_df = extract_data.with_options(
        substitutions={"dataset_type": "test"}
    )(source="test_source")


@step
def use_trained_model(data: pd.DataFrame, model) -> pd.Series:
    """Use a model loaded from a previous pipeline run."""
    return pd.Series(model.predict(data))


@step
def train_trained_model() -> Annotated[object, "trained_model"]:
    """Stands in: produces the `trained_model` artifact the inference pipeline fetches."""
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))


@pipeline
def model_pipeline():  # stands in
    train_trained_model()


@step
def load_data() -> pd.DataFrame:
    """Stands in for the page's load_data."""
    return pd.DataFrame({"x": [4.0, 5.0]})


@pipeline
def inference_pipeline():
    # Load data
    data = load_data()

    # Get the latest model from another pipeline
    model = Client().get_artifact_version("trained_model")

    # Use it for predictions
    predictions = use_trained_model(data=data, model=model)


def register_existing_folder_and_file() -> Tuple[Path, Path]:
    """The page's "Register an Existing Folder / File": the folder is written first."""
    from kubeline.io import fileio

    # Path to an existing folder in your artifact store
    prefix = Client().active_stack.artifact_store.path
    existing_folder = os.path.join(prefix, "my_folder")
    with fileio.open(os.path.join(existing_folder, "model.pkl"), "wb") as f:
        f.write(b"pretend this is a model")

    # Register it as a ZenML artifact
    register_artifact(
        folder_or_file_uri=existing_folder,
        name="my_folder_artifact"
    )

    # Later, load the artifact
    folder_path = Client().get_artifact_version("my_folder_artifact").load()
    assert isinstance(folder_path, Path)
    assert os.path.isdir(folder_path)

    # Path to an existing file in your artifact store
    existing_file = os.path.join(prefix, "my_folder/model.pkl")

    # Register it as a ZenML artifact
    register_artifact(
        folder_or_file_uri=existing_file,
        name="my_model_artifact"
    )

    # Later, load the artifact
    file_path = Client().get_artifact_version("my_model_artifact").load()
    assert isinstance(file_path, Path)
    assert not os.path.isdir(file_path)
    return folder_path, file_path


# ----------------------------------------------------------------------------- tags.md
@step
def data_loader() -> (
    Annotated[pd.DataFrame, ArtifactConfig(name="my_output", tags=["my_tag"])]
):
    add_tags(tags=["my_tag"])  # in a step, without arguments: tags the run
    return pd.DataFrame({"a": [1]})


@step
def tagged_outputs() -> Tuple[Annotated[int, "my_output_2"], Annotated[int, "other"]]:
    # Automatic tagging to an artifact version within a step execution
    ## A step with multiple outputs (need to specify the output name)
    add_tags(tags=["my_tag"], artifact_name="my_output_2", infer_artifact=True)
    return 1, 2


@step
def single_output() -> Annotated[int, "single"]:
    ## A step with a single output
    add_tags(tags=["my_tag"], infer_artifact=True)
    return 3


@pipeline(tags=["not_an_exclusive_tag", Tag(name="an_ordinary_tag")])
def tags_pipeline():
    data_loader()
    tagged_outputs()
    single_output()


def tag_after_the_run(run_name: str) -> None:
    """The page's manual tagging, for objects that exist."""
    # Manual tagging to an artifact version (can happen in a step or outside of it)
    ## By specifying the artifact name and version
    add_tags(tags=["my_tag"], artifact_name="my_output", artifact_version="1")
    ## By specifying the artifact version ID
    add_tags(tags=["by_id"],
             artifact_version_id=Client().get_artifact_version("single").id)
    add_tags(tags=["my_tag"], pipeline="tags_pipeline")
    # Manual tagging to a run
    add_tags(tags=["my_tag"], run=run_name)



def filter_by_tags() -> Tuple[list, list]:
    """The page's "Filtering" and "Removing Tags"."""
    # Add tags to a pipeline
    add_tags(tags=["one", "two", "three"], pipeline="tags_pipeline")

    # Will return `my_pipeline`
    found = Client().list_pipelines(tags=["contains:wo", "startswith:t", "equals:three"])

    # Will not return `my_pipeline`
    not_found = Client().list_pipelines(tags=["contains:wo", "startswith:t", "equals:four"])

    # Remove tags from a pipeline
    remove_tags(tags=["one", "two"], pipeline="tags_pipeline")
    return [p.name for p in found], [p.name for p in not_found]


if __name__ == "__main__":
    simple_pipeline()
    split_pipeline()
    data_pipeline()
    model_pipeline()
    inference_pipeline()
    print(register_existing_folder_and_file())
    run = tags_pipeline()
    tag_after_the_run(run.name)
    print(filter_by_tags())
