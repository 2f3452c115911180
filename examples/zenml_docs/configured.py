"""A pipeline for ZenML's "Configuration with YAML" page (docs/book/how-to/steps-pipelines/
yaml_configuration.md): the page's YAML files are in configs/, applied as the page does,
``my_pipeline.with_options(config_path="config.yaml")()``. The page shows no pipeline; this
one has the steps and parameters its YAML names.
"""

from kubeline import pipeline, step


@step
def preprocessing(dataset_name: str, normalize: bool = False, fill_missing: str = "zero") -> list:
    return [dataset_name, normalize, fill_missing]


@step
def train_model(data: list, learning_rate: float = 0.1, optimizer: str = "sgd") -> dict:
    return {"data": data, "learning_rate": learning_rate, "optimizer": optimizer}


@pipeline
def my_pipeline(dataset_name: str = "default", learning_rate: float = 0.05):
    data = preprocessing(dataset_name=dataset_name)
    train_model(data=data, learning_rate=learning_rate)


if __name__ == "__main__":
    my_pipeline.with_options(config_path="configs/config.yaml")()


@step
def load(dataset_size: str) -> str:
    return dataset_size


@pipeline
def sized_pipeline(dataset_size: str = "tiny"):  # for the page's dev.yaml / prod.yaml
    load(dataset_size=dataset_size)
