"""ZenML's "Client" page (docs/book/how-to/client/client.md): its snippets with the imports
changed, run against the runs that exist. ``client_page(run_name)`` returns what each gave.
Snippets about things Kubeline does not have (stacks other than its one, users' artifacts,
stack ids) are left out; docs/authoring.md lists those differences. The page's second page
and its "iterate through all results" loop ask for a page past the last one when there are
few runs: a ValueError in ZenML and here, so they run inside ``try``.
"""

from kubeline.client import Client


def client_page(run_name: str) -> dict:
    seen = {}
    # Initialize the client
    client = Client()

    # List your pipeline runs (most recent first)
    runs = client.list_pipeline_runs(
        sort_by="desc:start_time",
        size=10
    )
    seen["runs"] = [r.name for r in runs]

    # Get a specific pipeline run by ID or name
    run = client.get_pipeline_run(run_name)

    # Get details about a specific pipeline
    pipeline = client.get_pipeline(run.pipeline.name)
    seen["pipeline"] = pipeline.name

    # List artifacts
    artifacts = client.list_artifacts(size=10)
    seen["artifacts"] = [a.name for a in artifacts]

    # Load an artifact into memory
    version = run.steps[list(run.steps)[0]].outputs[
        list(run.steps[list(run.steps)[0]].outputs)[0]]
    data = client.get_artifact_data(version.id)
    seen["data_type"] = type(data).__name__

    # Get your active stack
    active_stack = client.active_stack_model

    # List all orchestrators
    orchestrators = client.list_stack_components(
        component_type="orchestrator"
    )
    seen["orchestrators"] = [o.flavor for o in orchestrators]

    # Get information about the currently authenticated user
    current_user = client.active_user
    seen["user"] = current_user.name

    # Check which stack is currently active
    active_stack = client.active_stack_model.name
    seen["stack"] = active_stack

    # Get the first page with 20 results
    first_page = client.list_pipeline_runs(size=20, page=1)

    # Get the second page
    try:
        second_page = client.list_pipeline_runs(size=20, page=2)
    except ValueError:  # 20 runs or fewer: there is no second page (in ZenML too)
        second_page = []

    # Iterate through all results across pages
    all_runs = []
    page = 1
    try:
        while True:
            runs_page = client.list_pipeline_runs(size=20, page=page)
            if not runs_page:
                break
            all_runs.extend(runs_page)
            page += 1
    except ValueError as past_the_last_page:
        # As in ZenML (its store refuses a page past the last one with "Invalid page"),
        # this loop ends with a ValueError once there are runs, having read them all.
        seen["past_last_page"] = str(past_the_last_page)
    seen["pages"] = (len(first_page), len(second_page), len(all_runs))

    # Get a pipeline run
    run = client.get_pipeline_run(run.id)

    # Access metadata
    print(f"Run status: {run.status}")
    print(f"Start time: {run.start_time}")
    print(f"End time: {run.end_time}")
    print(f"Duration: {run.end_time - run.start_time}")
    seen["duration"] = (run.end_time - run.start_time).total_seconds()

    # Get all steps from a pipeline run
    step_runs = run.steps

    # Or get steps directly
    step_runs = client.list_run_steps(pipeline_run_id=run.id)
    seen["steps"] = [s.name for s in step_runs]

    # Get artifacts from a previous run to use in a new pipeline
    artifacts = client.list_artifacts(
        pipeline_run_id=run.id
    )

    # Use artifacts in a new pipeline
    loaded = []
    for artifact in artifacts:
        # Do something with each artifact
        artifact_data = client.get_artifact_data(artifact.latest.id)
        loaded.append(type(artifact_data).__name__)
    seen["run_artifacts"] = [a.name for a in artifacts]
    seen["loaded"] = loaded
    return seen
