"""``kubeline run ...``: describe, watch, logs, cancel, delete (and list)."""

from __future__ import annotations

import sys
from typing import Any

import click

from kubeline.cli.output import emit_data, get_client, output_option
from kubeline.cli.pipeline_cmds import list_runs_impl, runs_list_options
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES


@click.group()
def run() -> None:
    """Describe, watch, log, cancel or delete a run."""


@run.command("list")
@runs_list_options
@click.pass_context
def list_runs(ctx: click.Context, pipeline_name: str | None, status: str | None, size: int,
              page: int, output: str) -> None:
    """List runs, newest first (same as `kubeline pipeline runs list`)."""
    list_runs_impl(ctx, pipeline_name, status, size, page, output)


@run.command("describe")
@click.argument("run_name")
@output_option
@click.pass_context
def describe(ctx: click.Context, run_name: str, output: str) -> None:
    """Show a run's lineage: steps, statuses, cache hits, durations, inputs and outputs."""
    from kubeline.client.render import lineage_tree, run_summary

    view = get_client(ctx).get_pipeline_run(run_name)
    if output != "table":
        emit_data(run_summary(view), output)
        return
    from kubeline.cli.output import console as make_console

    console = make_console()
    console.print(lineage_tree(view))
    trig = view.spec.get("triggeredBy")
    if trig:
        console.print(f"triggered by run {trig['run']}, step {trig['step']} "
                      f"({trigger_provenance(view)})", markup=False)
    cached = sum(1 for s in view.steps.values() if s.is_cached)
    console.print(f"{len(view.steps)} steps, {cached} cached; progress {view.progress or '-'}")


@run.command("watch")
@click.argument("run_name")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.pass_context
def watch(ctx: click.Context, run_name: str, timeout: float | None) -> None:
    """Follow a run live until it ends; exit status 1 if it failed or was cancelled."""
    from kubeline.client.waiting import wait_for_run

    view = get_client(ctx).get_pipeline_run(run_name)
    try:
        wait_for_run(view, timeout=timeout, show_progress=True, stream=sys.stdout)
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from None
    if view.status in UNSUCCESSFUL_RUN_PHASES:
        ctx.exit(1)


@run.command("logs")
@click.argument("run_name")
@click.argument("step")
@click.option("--tail", type=int, default=None, help="Only the last N lines.")
@click.pass_context
def logs(ctx: click.Context, run_name: str, step: str, tail: int | None) -> None:
    """Print the logs of STEP (invocation id) of a run."""
    view = get_client(ctx).get_pipeline_run(run_name)
    click.echo(view.steps[step].logs(tail_lines=tail), nl=False)


@run.command("cancel")
@click.argument("run_name")
@click.pass_context
def cancel(ctx: click.Context, run_name: str) -> None:
    """Cancel a run: the operator stops its Pods and marks it cancelled."""
    view = get_client(ctx).get_pipeline_run(run_name)
    if view.is_finished:
        raise click.ClickException(f"run {view.name} already ended ({view.status})")
    view.cancel()
    click.echo(f"Cancel requested for run {view.name}.")


@run.command("delete")
@click.argument("run_name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete(ctx: click.Context, run_name: str, yes: bool) -> None:
    """Delete a run and its Pods (artifact versions are kept)."""
    client = get_client(ctx)
    view = client.get_pipeline_run(run_name, allow_name_prefix_match=False)
    if not yes:
        click.confirm(f"Delete run {view.name} ({view.status})?", abort=True)
    client.delete_pipeline_run(view.name)
    click.echo(f"Run {view.name} deleted.")


def trigger_provenance(view: Any) -> str:
    """"verified", "unverified: <why>" or "not checked yet" for a run's spec.triggeredBy."""
    checked = view.st.triggered_by
    if not checked:
        return "not checked yet"
    return "verified" if checked.verified else (checked.message or "unverified")
