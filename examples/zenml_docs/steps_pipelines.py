"""ZenML's "Steps & Pipelines" and "Advanced Features" pages (docs/book/how-to/
steps-pipelines), their examples with only the imports changed (``zenml`` -> ``kubeline``).

Where a page leaves a name undefined (``train_model`` in the first pipeline, the data
steps of the composition example), the nearest example of the same page defines it or a
one-line step stands in, marked as such. Run it: ``python examples/zenml_docs/steps_pipelines.py``.
"""

from typing import Annotated, Tuple

from kubeline import get_step_context, pipeline, step
from kubeline.client import Client
from kubeline.config.retry_config import StepRetryConfig


# ----------------------------------------------------------------------------- basic steps
@step
def load_data() -> dict:
    training_data = [[1, 2], [3, 4], [5, 6]]
    labels = [0, 1, 0]
    return {'features': training_data, 'labels': labels}


@step
def process_data(data: dict) -> dict:
    # Input: data dictionary with features and labels
    # Process the input data
    processed_features = [feature * 2 for feature in data['features']]

    # Output: return processed data and statistics
    return {
        'processed_features': processed_features,
        'labels': data['labels'],
        'num_samples': len(data['features']),
        'feature_sum': sum(map(sum, data['features']))
    }


@step
def train_model(data: dict, learning_rate: float = 0.01, epochs: int = 10) -> None:
    # Use learning_rate and epochs parameters
    print(f"Training with learning rate: {learning_rate} for {epochs} epochs")


@pipeline
def simple_ml_pipeline():
    dataset = load_data()
    train_model(dataset)


# ----------------------------------------------------------------------------- types, outputs
@step
def square_root(number: int) -> float:
    return number ** 0.5


@step
def divide(a: int, b: int) -> Tuple[
    Annotated[int, "quotient"],
    Annotated[int, "remainder"]
]:
    return a // b, a % b


@pipeline
def math_pipeline():  # stands in: the page shows the steps, not a pipeline around them
    square_root(number=16)
    divide(a=7, b=2)


# ----------------------------------------------------------------------------- invocation ids
@step
def my_step() -> None:
    ...


@pipeline
def example_pipeline():
    # When calling a step for the first time inside a pipeline,
    # the invocation ID will be equal to the step name -> `my_step`.
    my_step()
    # When calling the same step again, the suffix `_2`, `_3`, ... will
    # be appended to the step name to generate a unique invocation ID.
    # For this call, the invocation ID would be `my_step_2`.
    my_step()
    # If you want to use a custom invocation ID when calling a step, you can
    # do so by passing it like this. If you pass a custom ID, it needs to be
    # unique for all the step invocations that happen as part of this pipeline.
    my_step(id="my_custom_invocation_id")


# ----------------------------------------------------------------------------- execution order
@step
def step_a() -> int:  # stands in
    return 1


@step
def step_b() -> int:  # stands in
    return 2


@step
def step_c() -> None:  # stands in
    ...


@step
def step_d() -> None:  # stands in
    ...


@pipeline
def ordered_pipeline():
    step_a_output = step_a()
    step_b_output = step_b()

    # step_c will only run after both step_a and step_b complete, even if
    # it doesn't use their outputs directly
    step_c(after=[step_a_output, step_b_output])

    # You can also specify dependencies using the step invocation ID
    step_d(after="step_c")


# ----------------------------------------------------------------------------- fan-out / fan-in
@step
def load_step() -> str:
    return "Hello from ZenML!"


@step
def process_step(input_data: str) -> str:
    return input_data


@step
def combine_step(step_prefix: str, output_name: str) -> None:
    run_name = get_step_context().pipeline_run.name
    run = Client().get_pipeline_run(run_name)

    # Fetch all results from parallel processing steps
    processed_results = {}
    for step_name, step_info in run.steps.items():
        if step_name.startswith(step_prefix):
            output = step_info.outputs[output_name][0]
            processed_results[step_info.name] = output.load()

    # Combine all results
    print(",".join([f"{k}: {v}" for k, v in processed_results.items()]))


@pipeline(enable_cache=False)
def fan_out_fan_in_pipeline(parallel_count: int) -> None:
    # Initial step (source)
    input_data = load_step()

    # Fan out: Process data in parallel branches
    after = []
    for i in range(parallel_count):
        artifact = process_step(input_data, id=f"process_{i}")
        after.append(artifact)

    # Fan in: Combine results from all parallel branches
    combine_step(step_prefix="process_", output_name="output", after=after)


# ----------------------------------------------------------------------------- composition
@step
def training_data_loader_step() -> list:  # stands in
    return [1, 2, 3]


@step
def test_data_loader_step() -> list:  # stands in
    return [4, 5]


@step
def preprocessing_step(data: list) -> list:  # stands in
    return [x * 10 for x in data]


@step
def evaluate_model(model: int, data: list) -> float:  # stands in
    return float(sum(data) - model)


@step
def train_sum_model(data: list) -> int:  # stands in for the page's train_model(data=...)
    return sum(data)


@pipeline
def data_pipeline(mode: str):
    if mode == "train":
        data = training_data_loader_step()
    else:
        data = test_data_loader_step()

    processed_data = preprocessing_step(data)
    return processed_data


@pipeline
def composed_training_pipeline():
    # Use another pipeline inside this pipeline
    training_data = data_pipeline(mode="train")
    model = train_sum_model(data=training_data)
    test_data = data_pipeline(mode="test")
    evaluate_model(model=model, data=test_data)


# ----------------------------------------------------------------------------- hooks, retries
def success_hook():
    print("Step completed successfully")


def failure_hook(exception: BaseException):
    print(f"Step failed with error: {str(exception)}")


@step(on_success=success_hook, on_failure=failure_hook)
def hooked_step():
    return 42


def on_failure(exception: BaseException):
    context = get_step_context()
    print(f"Failed step: {context.step_run.name}")
    print(f"Parameters: {context.step_run.config.parameters}")
    print(f"Exception: {type(exception).__name__}: {str(exception)}")

    # Access pipeline information
    print(f"Pipeline: {context.pipeline_run.name}")


@step(on_failure=on_failure)
def failing_step(some_parameter: int = 1):
    raise ValueError("My exception")


@step(
    retry=StepRetryConfig(
        max_retries=3,  # Maximum number of retry attempts
        delay=10,       # Initial delay in seconds before first retry
        backoff=2       # Factor by which delay increases after each retry
    )
)
def unreliable_step():
    # This step might fail due to transient issues
    ...


@pipeline(on_failure=failure_hook, on_success=success_hook)
def hooks_pipeline():
    hooked_step()
    unreliable_step()


@pipeline
def failing_pipeline():
    failing_step()


if __name__ == "__main__":
    simple_ml_pipeline()
    math_pipeline()
    example_pipeline()
    ordered_pipeline()
    fan_out_fan_in_pipeline(parallel_count=8)
    composed_training_pipeline()
    hooks_pipeline()
    training_pipeline = math_pipeline.with_options(
        run_name="custom_pipeline_run_name_{experiment_name}_{date}_{time}",
        substitutions={"experiment_name": "docs"},
    )
    training_pipeline()
