"""Load the model the iris pipeline trained (through the Client) and predict with it."""

from __future__ import annotations

from kubeline.client import Client


def main() -> None:
    run = Client().get_pipeline("training_pipeline").last_run
    loader = run.steps["training_data_loader"]
    model = run.steps["svc_trainer"].outputs["trained_model"].load()
    X_test = loader.outputs["X_test"].load()
    y_test = loader.outputs["y_test"].load()
    predictions = model.predict(X_test.to_numpy())
    accuracy = float((predictions == y_test.to_numpy()).mean())
    size = loader.outputs["X_train"].run_metadata["storage_size"].value
    print(f"run {run.name}: {type(model).__name__} predicted {len(predictions)} test rows, "
          f"accuracy {accuracy:.3f}; X_train artifact is {size} bytes in S3")


if __name__ == "__main__":
    main()
