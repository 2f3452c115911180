"""``kubeline pipeline ...``: list pipelines and runs; create and run snapshots."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from kubeline.cli.output import (
    ago,
    as_list,
    emit_data,
    emit_table,
    every,
    get_client,
    output_option,
)
from kubeline.resources.phases import UNSUCCESSFUL_RUN_PHASES


@click.group()
def pipeline() -> None:
    """Pipelines, their runs and snapshots."""


@pipeline.command("list")
@click.option("--name", default=None, help="Only pipelines whose name contains this.")
@output_option
@click.pass_context
def list_pipelines(ctx: click.Context, name: str | None, output: str) -> None:
    """List pipelines."""
    page = every(get_client(ctx).list_pipelines, name=f"contains:{name}" if name else None)
    if output != "table":
        emit_data(as_list([p.object for p in page]), output)
        return
    rows = [(p.name, p.st.run_count, p.k8s_status.get("lastRun"), p.latest_snapshot_name,
             ago(p.created)) for p in page]
    emit_table(None, ["NAME", "RUNS", "LAST RUN", "LATEST SNAPSHOT", "AGE"], rows,
               "No pipelines yet: run one, or create a snapshot.")


@pipeline.group()
def runs() -> None:
    """Runs of pipelines."""


def list_runs_impl(ctx: click.Context, pipeline_name: str | None, status: str | None,
                   size: int, page: int, output: str) -> None:
    result = get_client(ctx).list_pipeline_runs(pipeline=pipeline_name, status=status,
                                                size=size, page=page)
    if output != "table":
        emit_data(as_list([r.object for r in result]), output)
        return
    rows = [(r.name, r.pipeline_object_name, r.index, r.status, r.progress,
             _duration(r.duration), ago(r.created)) for r in result]
    more = f" (page {result.index} of {result.total_pages})" if result.total_pages > 1 else ""
    emit_table(f"{result.total} run(s){more}" if result.total else None,
               ["NAME", "PIPELINE", "#", "STATUS", "STEPS", "DURATION", "AGE"], rows,
               "No runs found.")


def _duration(seconds: float | None) -> str:
    from kubeline.client.progress import fmt_duration

    return fmt_duration(seconds)


def runs_list_options(func: Any) -> Any:
    func = click.option("--pipeline", "-p", "pipeline_name", default=None,
                        help="Only runs of this pipeline.")(func)
    func = click.option("--status", default=None,
                        type=click.Choice(["initialized", "running", "completed", "failed",
                                           "cached", "cancelled"]),
                        help="Only runs in this state.")(func)
    func = click.option("--size", default=50, show_default=True, help="Runs per page.")(func)
    func = click.option("--page", default=1, show_default=True, help="Page number.")(func)
    return output_option(func)


@runs.command("list")
@runs_list_options
@click.pass_context
def list_runs(ctx: click.Context, pipeline_name: str | None, status: str | None, size: int,
              page: int, output: str) -> None:
    """List runs, newest first."""
    list_runs_impl(ctx, pipeline_name, status, size, page, output)


@pipeline.group()
def snapshot() -> None:
    """Create, list and run snapshots."""


def import_pipeline(source: str) -> Any:
    """The pipeline object at ``module.attribute``, imported from the current directory."""
    module_name, _, attr = source.rpartition(".")
    if not module_name:
        raise click.BadParameter(
            f"{source!r}: give <module>.<pipeline>, e.g. run.training_pipeline for "
            "training_pipeline in run.py", param_hint="SOURCE")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise click.BadParameter(f"cannot import {module_name!r} from {cwd}: {exc}",
                                 param_hint="SOURCE") from None
    obj = getattr(module, attr, None)
    if obj is None or not hasattr(obj, "create_snapshot"):
        raise click.BadParameter(
            f"{source!r} is not a @pipeline (module {module_name} has "
            f"{'no ' + attr if obj is None else 'a ' + type(obj).__name__ + ' named ' + attr})",
            param_hint="SOURCE")
    return obj


@snapshot.command("create")
@click.argument("source")
@click.option("--name", required=True, help="The snapshot's name (to run it by).")
@output_option
@click.pass_context
def create_snapshot(ctx: click.Context, source: str, name: str, output: str) -> None:
    """Create a snapshot of the pipeline SOURCE (module.pipeline, e.g. run.my_pipeline)."""
    obj = get_client(ctx)
    pipeline_obj = import_pipeline(source)
    namespace = (ctx.find_root().obj or {}).get("namespace")
    if namespace and hasattr(pipeline_obj, "with_options"):
        pipeline_obj = pipeline_obj.with_options(namespace=namespace)
    snap = pipeline_obj.create_snapshot(name=name)
    body = getattr(snap, "object", snap)
    if output != "table":
        emit_data(body, output)
        return
    meta = body.get("metadata", {}) if isinstance(body, dict) else {}
    object_name = meta.get("name") or getattr(snap, "object_name", None) or name
    click.echo(f"Snapshot {name!r} created ({object_name}) in namespace {obj.namespace}.")
    click.echo(f"Run it: kubeline pipeline snapshot run {name} [--config run.yaml]")


@snapshot.command("run")
@click.argument("name_or_id")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Run configuration YAML (steps.<id>.parameters, ...).")
@click.option("--wait/--no-wait", default=False, help="Wait for the run to end.")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after seconds.")
@output_option
@click.pass_context
def run_snapshot(ctx: click.Context, name_or_id: str, config_path: str | None, wait: bool,
                 timeout: float | None, output: str) -> None:
    """Start a run of the snapshot NAME_OR_ID."""
    client = get_client(ctx)
    run = client.trigger_pipeline(snapshot_name_or_id=name_or_id, run_configuration=config_path)
    if wait:
        run.wait(timeout=timeout, show_progress=output == "table")
    if output != "table":
        emit_data(run.object, output)
    elif not wait:
        click.echo(f"Run {run.name} started from snapshot {run.snapshot_name}.")
        click.echo(f"Follow it: kubeline run watch {run.name}")
    if wait and run.status in UNSUCCESSFUL_RUN_PHASES:
        ctx.exit(1)


@snapshot.command("list")
@click.option("--pipeline", "-p", "pipeline_name", default=None, help="Only this pipeline's.")
@output_option
@click.pass_context
def list_snapshots(ctx: click.Context, pipeline_name: str | None, output: str) -> None:
    """List snapshots, newest first."""
    from kubeline.cli.snapshot_cmds import list_snapshots_impl

    list_snapshots_impl(ctx, pipeline_name, output)


def _add_schedule_group() -> None:
    from kubeline.cli.schedule_cmds import schedule

    pipeline.add_command(schedule, "schedule")


_add_schedule_group()
