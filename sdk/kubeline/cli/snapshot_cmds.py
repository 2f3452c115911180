"""``kubeline snapshot list``."""

from __future__ import annotations

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


def list_snapshots_impl(ctx: click.Context, pipeline_name: str | None, output: str) -> None:
    page = every(get_client(ctx).list_snapshots, pipeline=pipeline_name)
    if output != "table":
        emit_data(as_list([s.object for s in page]), output)
        return
    rows = [(s.name, s.object_name if s.name != s.object_name else "", s.pipeline_name,
             len(s.steps), "yes" if s.runnable else "no", s.run_count, ago(s.created))
            for s in page]
    emit_table(None, ["NAME", "OBJECT", "PIPELINE", "STEPS", "RUNNABLE", "RUNS", "AGE"], rows,
               "No snapshots yet.")


@click.group()
def snapshot() -> None:
    """Snapshots: immutable, runnable pipelines."""


@snapshot.command("list")
@click.option("--pipeline", "-p", "pipeline_name", default=None, help="Only this pipeline's.")
@output_option
@click.pass_context
def list_snapshots(ctx: click.Context, pipeline_name: str | None, output: str) -> None:
    """List snapshots, newest first."""
    list_snapshots_impl(ctx, pipeline_name, output)
