"""ZenML's "Materializers" page (docs/book/how-to/artifacts/materializers.md): its examples with
the imports changed. ``MyClass`` is left to the reader there; here it is a small class with
what the page's materializer calls (``to_dict``, ``to_html``, ``name``, ``records``).
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Dict, List, Tuple, Type

from kubeline import pipeline, step
from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
from kubeline.enums import ArtifactType, VisualizationType
from kubeline.materializers.base_materializer import BaseMaterializer
from kubeline.metadata.metadata_types import MetadataType


class MyClass:  # stands in
    def __init__(self, name: str, records: list, created_at: str = "2025-03-01") -> None:
        self.name, self.records, self.created_at = name, records, created_at

    def to_dict(self) -> dict:
        return {"name": self.name, "records": self.records, "created_at": self.created_at}

    def to_html(self) -> str:
        return f"<h1>{self.name}</h1><p>{len(self.records)} records</p>"


class MyClassMaterializer(BaseMaterializer):
    """Materializer for MyClass objects."""

    # List the data types this materializer can handle
    ASSOCIATED_TYPES = (MyClass,)

    # Define what type of artifact this is (usually DATA or MODEL)
    ASSOCIATED_ARTIFACT_TYPE = ArtifactType.DATA

    def load(self, data_type: Type[Any]) -> MyClass:
        """Load MyClass from storage."""
        # Implementation here
        filepath = os.path.join(self.uri, "data.json")
        with self.artifact_store.open(filepath, "r") as f:
            data = json.load(f)

        # Create and return an instance of MyClass
        return MyClass(**data)

    def save(self, data: MyClass) -> None:
        """Save MyClass to storage."""
        # Implementation here
        filepath = os.path.join(self.uri, "data.json")
        with self.artifact_store.open(filepath, "w") as f:
            json.dump(data.to_dict(), f)

    def save_visualizations(self, data: MyClass) -> Dict[str, VisualizationType]:
        """Generate visualizations for the dashboard."""
        # Optional - generate visualizations
        vis_path = os.path.join(self.uri, "visualization.html")
        with self.artifact_store.open(vis_path, "w") as f:
            f.write(data.to_html())

        return {vis_path: VisualizationType.HTML}

    def extract_metadata(self, data: MyClass) -> Dict[str, MetadataType]:
        """Extract metadata for tracking."""
        # Optional - extract metadata
        return {
            "name": data.name,
            "created_at": data.created_at,
            "num_records": len(data.records)
        }


@step(output_materializers=MyClassMaterializer)
def create_my_class() -> MyClass:
    """Create an instance of MyClass."""
    return MyClass(name="test", records=[1, 2, 3])


@step
def use_my_class(my_obj: MyClass) -> None:
    """Use the MyClass instance."""
    print(f"Name: {my_obj.name}, Records: {my_obj.records}")


@pipeline
def custom_pipeline():
    data = create_my_class()
    use_my_class(data)


# ----------------------------------------------------------------------------- dataclasses
@dataclass
class TrainingConfig:
    learning_rate: float
    epochs: int


@step
def make_config() -> TrainingConfig:
    return TrainingConfig(learning_rate=0.01, epochs=10)


@step
def read_config(config: TrainingConfig) -> float:  # stands in: a consumer
    return config.learning_rate * config.epochs


@pipeline
def config_pipeline():  # stands in
    read_config(make_config())


# ----------------------------------------------------------------------------- paths
@step
def prepare_dataset(num_samples: int = 100) -> Annotated[Path, "dataset_dir"]:
    """Prepare a dataset directory with training files."""
    output_dir = Path("training_data")
    output_dir.mkdir(exist_ok=True)

    # Write training files into the directory
    (output_dir / "features.csv").write_text("feature1,feature2\n1.0,2.0\n")
    (output_dir / "labels.csv").write_text("label\n1\n")

    # ZenML will tar.gz this directory and upload it to the artifact store
    return output_dir


@step
def train_model(dataset_dir: Path) -> None:
    """Train a model using the dataset directory."""
    # dataset_dir points to a local temp directory with the extracted contents
    features = (dataset_dir / "features.csv").read_text()
    labels = (dataset_dir / "labels.csv").read_text()
    print(f"Training with features: {features}")


@pipeline
def training_pipeline():
    dataset = prepare_dataset()
    train_model(dataset)


# ----------------------------------------------------------------------------- unmaterialized
@step
def step_1() -> Tuple[
    Annotated[Dict[str, str], "dict_"],
    Annotated[List[str], "list_"],
]:
    return {"some": "data"}, []


@step
def step_2() -> Tuple[
    Annotated[Dict[str, str], "dict_"],
    Annotated[List[str], "list_"],
]:
    return {"some": "data"}, []


@step
def step_3(dict_: Dict, list_: List) -> None:
    assert isinstance(dict_, dict)
    assert isinstance(list_, list)


@step
def step_4(
        dict_: UnmaterializedArtifact,
        list_: UnmaterializedArtifact,
) -> None:
    print(dict_.uri)
    print(list_.uri)


@pipeline
def example_pipeline():
    step_3(*step_1())
    step_4(*step_2())


if __name__ == "__main__":
    custom_pipeline()
    config_pipeline()
    training_pipeline()
    example_pipeline()
