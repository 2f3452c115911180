"""``kubeline schedule ...`` (also ``kubeline pipeline schedule ...``): list, describe,
suspend/resume (ZenML's deactivate/activate), update the cron expression, delete."""

from __future__ import annotations

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


@click.group()
def schedule() -> None:
    """Schedules: pipelines that run themselves on a cron expression."""


def _when(view: Any) -> str:
    if view.cron_expressions:
        return ", ".join(view.cron_expressions)
    if view.interval_second is not None:
        return f"every {int(view.interval_second.total_seconds())}s"
    if view.run_once_start_time is not None:
        return f"once at {view.run_once_start_time:%Y-%m-%dT%H:%M:%SZ}"
    return "-"


def _time(value: Any) -> str:
    return "-" if value is None else f"{value:%Y-%m-%dT%H:%M:%SZ}"


@schedule.command("list")
@click.option("--pipeline", "-p", "pipeline_name", default=None, help="Only this pipeline's.")
@output_option
@click.pass_context
def list_schedules(ctx: click.Context, pipeline_name: str | None, output: str) -> None:
    """List schedules, newest first."""
    page = every(get_client(ctx).list_schedules, pipeline=pipeline_name)
    if output != "table":
        emit_data(as_list([s.object for s in page]), output)
        return
    rows = [(s.name, _when(s), s.time_zone, "no" if s.active else "yes",
             _time(s.last_schedule_time), _time(s.next_schedule_time),
             len(s.active_run_names), s.skipped_count + s.missed_count, ago(s.created))
            for s in page]
    emit_table(None, ["NAME", "SCHEDULE", "TIMEZONE", "SUSPENDED", "LAST", "NEXT", "ACTIVE",
                      "SKIPPED", "AGE"], rows,
               "No schedules: run a pipeline with_options(schedule=Schedule(...)), or "
               "kubectl apply a Schedule.")


@schedule.command("describe")
@click.argument("name_or_id")
@output_option
@click.pass_context
def describe_schedule(ctx: click.Context, name_or_id: str, output: str) -> None:
    """Show a schedule: timing, policies, recent runs and skipped times."""
    view = get_client(ctx).get_schedule(name_or_id)
    if output != "table":
        emit_data(view.object, output)
        return
    target = (f"snapshot {view.snapshot_name}" if view.snapshot_name
              else f"latest snapshot of pipeline {view.spec.get('pipeline')}")
    lines = [
        f"Schedule:     {view.name} (namespace {view.metadata.get('namespace')})",
        f"Runs:         {target}",
        f"When:         {_when(view)} in {view.time_zone}",
        f"Window:       {_time(view.start_time)} .. {_time(view.end_time)}",
        f"Policy:       concurrency {view.concurrency_policy}, catch-up {view.catch_up}"
        + (f" (limit {view.catch_up_limit})" if view.catch_up_limit else "")
        + (f", starting deadline {view.starting_deadline_seconds}s"
           if view.starting_deadline_seconds is not None else ""),
        f"Suspended:    {'no' if view.active else 'yes'}",
        f"Last / next:  {_time(view.last_schedule_time)} / {_time(view.next_schedule_time)}",
        f"Runs created: {view.run_count}; skipped {view.skipped_count}, missed "
        f"{view.missed_count}",
    ]
    for cond in view.conditions.values():
        lines.append(f"{cond.get('type')}: {cond.get('status')} ({cond.get('reason')}) "
                     f"{cond.get('message', '')}")
    click.echo("\n".join(lines))
    runs = view.k8s_status.get("recentRuns") or []
    if runs:
        emit_table("Recent runs", ["RUN", "DUE", "STATUS"],
                   [(r["name"], r["scheduledTime"], r.get("phase")) for r in runs], "")
    skips = view.recent_skips
    if skips:
        emit_table("Recent skipped or missed times", ["DUE", "REASON"],
                   [(s["time"], s["reason"]) for s in skips], "")


def _changed(ctx: click.Context, view: Any, output: str, what: str) -> None:
    if output != "table":
        emit_data(view.object, output)
    else:
        click.echo(f"Schedule {view.name} {what}.")


@schedule.command("suspend")
@click.argument("name_or_id")
@output_option
@click.pass_context
def suspend_schedule(ctx: click.Context, name_or_id: str, output: str) -> None:
    """Suspend a schedule: no new runs (times due meanwhile are skipped, and counted)."""
    _changed(ctx, get_client(ctx).deactivate_schedule(name_or_id), output, "suspended")


@schedule.command("resume")
@click.argument("name_or_id")
@output_option
@click.pass_context
def resume_schedule(ctx: click.Context, name_or_id: str, output: str) -> None:
    """Resume a suspended schedule (from the next due time on; nothing is run retroactively)."""
    _changed(ctx, get_client(ctx).activate_schedule(name_or_id), output, "resumed")


@schedule.command("deactivate")
@click.argument("name_or_id")
@output_option
@click.pass_context
def deactivate_schedule(ctx: click.Context, name_or_id: str, output: str) -> None:
    """ZenML's name for suspend."""
    _changed(ctx, get_client(ctx).deactivate_schedule(name_or_id), output, "suspended")


@schedule.command("activate")
@click.argument("name_or_id")
@output_option
@click.pass_context
def activate_schedule(ctx: click.Context, name_or_id: str, output: str) -> None:
    """ZenML's name for resume."""
    _changed(ctx, get_client(ctx).activate_schedule(name_or_id), output, "resumed")


@schedule.command("update")
@click.argument("name_or_id")
@click.option("--cron-expression", "-c", default=None, help="The new cron expression.")
@click.option("--time-zone", default=None, help="The new IANA time zone.")
@click.option("--concurrency-policy", type=click.Choice(["Allow", "Forbid", "Replace"]),
              default=None, help="The new concurrency policy.")
@output_option
@click.pass_context
def update_schedule(ctx: click.Context, name_or_id: str, cron_expression: str | None,
                    time_zone: str | None, concurrency_policy: str | None, output: str) -> None:
    """Change a schedule's cron expression, time zone or concurrency policy."""
    changes: dict[str, Any] = {k: v for k, v in (("time_zone", time_zone),
                                 ("concurrency_policy", concurrency_policy)) if v is not None}
    if cron_expression is None and not changes:
        raise click.UsageError("nothing to change: give --cron-expression, --time-zone or "
                               "--concurrency-policy")
    view = get_client(ctx).update_schedule(name_or_id, cron_expression=cron_expression,
                                           **changes)
    _changed(ctx, view, output, "updated")


@schedule.command("delete")
@click.argument("name_or_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@click.pass_context
def delete_schedule(ctx: click.Context, name_or_id: str, yes: bool, output: str) -> None:
    """Delete a schedule (its runs stay)."""
    client = get_client(ctx)
    view = client.get_schedule(name_or_id)
    if not yes and not click.confirm(f"Delete schedule {view.name}? Its runs stay.",
                                     default=False):
        click.echo("Schedule deletion cancelled.")
        return
    client.delete_schedule(view.object_name)
    if output != "table":
        emit_data({"deleted": view.object_name, "namespace": view.metadata.get("namespace")},
                  output)
    else:
        click.echo(f"Deleted schedule {view.name}; its runs stay.")
