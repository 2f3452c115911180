"""``kubeline model list``, ``kubeline model version list NAME``,
``kubeline model version update NAME VERSION --stage STAGE [--force]``."""

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

STAGE_CHOICES = ("none", "staging", "production", "archived")


@click.group()
def model() -> None:
    """Models, their versions and stages."""


@model.command("list")
@output_option
@click.pass_context
def list_models(ctx: click.Context, output: str) -> None:
    """List models with their latest and production versions."""
    models = every(get_client(ctx).list_models, sort_by="name")
    if output != "table":
        emit_data(as_list([m.object for m in models]), output)
        return
    rows = [(m.name, m.number_of_versions, m.latest_version_name, m.production_version_name,
             m.k8s_status.get("stagingVersion"), ago(m.created)) for m in models]
    emit_table(None, ["NAME", "VERSIONS", "LATEST", "PRODUCTION", "STAGING", "AGE"], rows,
               "No models yet.")


@model.group("version")
def version() -> None:
    """Versions of a model."""


@version.command("list")
@click.argument("name")
@click.option("--stage", type=click.Choice((*STAGE_CHOICES, "latest")), default=None,
              help="Only versions in this stage.")
@output_option
@click.pass_context
def list_versions(ctx: click.Context, name: str, stage: str | None, output: str) -> None:
    """List the versions of model NAME, oldest first."""
    versions = every(get_client(ctx).list_model_versions, model_name_or_id=name, stage=stage)
    if output != "table":
        emit_data(as_list([v.object for v in versions]), output)
        return
    rows = []
    for v in versions:
        history = v.stage_history
        last = history[-1] if history else {}
        rows.append((v.number, v.name, v.stage,
                     f"{last.get('time', '-')} {last.get('user') or ''}".strip()
                     if last else None,
                     len(v.links), v.spec.get("producerRun"), ago(v.created)))
    emit_table(f"Model {name}", ["NUMBER", "VERSION", "STAGE", "STAGE CHANGED", "ARTIFACTS",
                                 "RUN", "AGE"], rows, "No versions.")


@version.command("update")
@click.argument("name")
@click.argument("version_name")
@click.option("--stage", "-s", type=click.Choice(STAGE_CHOICES), default=None,
              help="Move the version to this stage.")
@click.option("--force", "-f", is_flag=True, default=False,
              help="Archive the version holding the stage instead of failing.")
@click.option("--description", default=None, help="New description.")
@click.option("--tag", "add_tags", multiple=True, help="Add a tag (repeatable).")
@click.option("--remove-tag", "remove_tags", multiple=True, help="Remove a tag (repeatable).")
@output_option
@click.pass_context
def update_version(ctx: click.Context, name: str, version_name: str, stage: str | None,
                   force: bool, description: str | None, add_tags: tuple[str, ...],
                   remove_tags: tuple[str, ...], output: str) -> None:
    """Update VERSION (name or number) of model NAME; `--stage production` promotes it."""
    try:
        mv = get_client(ctx).update_model_version(
            name, version_name, stage=stage, force=force, description=description,
            add_tags=list(add_tags) or None, remove_tags=list(remove_tags) or None)
    except RuntimeError as exc:  # an occupied stage without --force
        raise click.ClickException(f"{exc} Pass --force to archive it.") from None
    if output != "table":
        emit_data(mv.object, output)
        return
    click.echo(f"Model {name} version {mv.name} (number {mv.number}) is now in stage "
               f"{mv.stage}.")
