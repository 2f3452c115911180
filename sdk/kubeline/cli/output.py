"""Shared CLI plumbing: the Client from global options, ``-o table|json|yaml``, tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kubeline.client import Client

FORMATS = ("table", "json", "yaml")


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output table|json|yaml`` like kubectl."""
    return click.option("-o", "--output", "output", type=click.Choice(FORMATS),
                        default="table", show_default=True, help="Output format.")(func)


def get_client(ctx: click.Context) -> Client:
    """A Client for the namespace/context given on the command line."""
    from kubeline.client import Client

    obj = ctx.find_root().obj or {}
    if "client" not in obj:
        obj["client"] = Client(namespace=obj.get("namespace"), context=obj.get("context"))
    return obj["client"]


def every(list_method: Callable[..., Any], **filters: Any) -> list[Any]:
    """Every item of a ``Client.list_*`` listing: all its pages at the largest page size
    (a listing never stops at one page's worth)."""
    from kubeline.constants import PAGE_SIZE_MAXIMUM
    from kubeline.utils.pagination_utils import depaginate

    return depaginate(list_method, size=PAGE_SIZE_MAXIMUM, **filters)


def emit_data(data: Any, fmt: str) -> None:
    """Print plain data as JSON or YAML."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())


def as_list(objs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Objects wrapped as a kubectl-style ``List``."""
    return {"apiVersion": "v1", "kind": "List", "items": list(objs)}


def emit_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]],
               empty: str) -> None:
    """A rich table, or ``empty`` when there are no rows."""
    if not rows:
        click.echo(empty)
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*["-" if v is None or v == "" else str(v) for v in row])
    console().print(table)


def console() -> Any:
    """A rich console; off a terminal it never truncates (pipes, files, tests)."""
    import sys

    from rich.console import Console

    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 1000)


def ago(value: Any) -> str:
    """A datetime as a short age: ``5s``, ``3m``, ``2h``, ``4d``."""
    if value is None:
        return "-"
    from datetime import UTC, datetime

    seconds = max(0, (datetime.now(UTC) - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
