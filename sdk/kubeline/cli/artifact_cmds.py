"""``kubeline artifact list`` and ``kubeline artifact versions NAME``."""

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


@click.group()
def artifact() -> None:
    """Artifacts and their versions."""


@artifact.command("list")
@click.option("--name", default=None, help="Only artifacts whose name contains this.")
@output_option
@click.pass_context
def list_artifacts(ctx: click.Context, name: str | None, output: str) -> None:
    """List artifacts with their version counts and latest version."""
    arts = every(get_client(ctx).list_artifacts, name=f"contains:{name}" if name else None)
    if output != "table":
        emit_data({"artifacts": [
            {"name": a.name, "versions": list(a.versions), "latest": a.latest.version}
            for a in arts]}, output)
        return
    rows = []
    for art in arts:
        latest = art.latest
        rows.append((art.name, len(art.versions), latest.version, latest.data_type,
                     ago(latest.created)))
    emit_table(None, ["NAME", "VERSIONS", "LATEST", "DATA TYPE", "UPDATED"], rows,
               "No artifacts yet.")


@artifact.command("versions")
@click.argument("name")
@output_option
@click.pass_context
def list_versions(ctx: click.Context, name: str, output: str) -> None:
    """List the versions of artifact NAME, newest first."""
    page = every(get_client(ctx).list_artifact_versions, name=name)
    if output != "table":
        emit_data(as_list([v.object for v in page]), output)
        return
    if not page:
        raise click.ClickException(
            f"no artifact {name!r} (`kubeline artifact list` shows the artifacts)")
    rows = []
    for av in page:
        prod = av.producer or {}
        size = av.run_metadata.get("storage_size")
        rows.append((av.version, av.data_type, size.value if size else None,
                     f"{prod.get('run', '-')}/{prod.get('step', '-')}", av.uri, ago(av.created)))
    emit_table(f"Artifact {name}", ["VERSION", "DATA TYPE", "SIZE", "PRODUCER", "URI", "AGE"],
               rows, "No versions.")
