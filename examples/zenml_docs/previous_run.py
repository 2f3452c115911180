"""Seed 000, "Fetching information during run execution": the seed's step with only its
imports changed, and a pipeline around it. Run it twice: the second run's step reads the
first (the very first run fails in the seed's ``runs[1]``, as it would on ZenML).
``previous_run_name`` does the same and returns what it found, so tests can see it;
``api_token_claims`` shows the step's API token is short-lived and audience-bound.
"""

from kubeline import get_step_context, pipeline, step
from kubeline.client import Client


@step
def my_step():
    # Get the name of the current pipeline run
    current_run_name = get_step_context().pipeline_run.name

    # Fetch the current pipeline run
    current_run = Client().get_pipeline_run(current_run_name)

    # Fetch the previous run of the same pipeline
    previous_run = current_run.pipeline.runs[1]  # index 0 is the current run  # noqa: F841


@step
def previous_run_name() -> str:
    current_run = Client().get_pipeline_run(get_step_context().pipeline_run.name)
    return current_run.pipeline.runs[1].name


@step
def api_token_claims() -> dict:
    """Kubeline only: what the step Pod's API token says of itself (lifetime, audience)."""
    import base64
    import json

    with open("/var/run/secrets/kubernetes.io/serviceaccount/token") as f:
        payload = f.read().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {"lifetime": claims["exp"] - claims["iat"], "aud": claims["aud"],
            "sub": claims["sub"]}


@pipeline(enable_cache=False)
def continuous_pipeline():
    my_step()
    previous_run_name(after="my_step")
    api_token_claims()


if __name__ == "__main__":
    try:
        continuous_pipeline()
    except RuntimeError as exc:  # no previous run yet
        print(exc)
    run = continuous_pipeline()
    print(run.steps["previous_run_name"].output.load())
