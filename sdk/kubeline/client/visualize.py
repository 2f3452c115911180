"""Showing an artifact version's stored visualizations (notebook inline, else local files)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kubeline.errors import NotFoundError

if TYPE_CHECKING:
    from kubeline.client.artifacts import ArtifactVersionView

_SUFFIX = {"html": ".html", "image": ".png", "markdown": ".md", "csv": ".csv", "json": ".json"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _display(kind: str, data: bytes) -> None:
    from IPython import display

    if kind == "html":
        display.display(display.HTML(data.decode()))
    elif kind == "image":
        display.display(display.Image(data=data))
    elif kind == "markdown":
        display.display(display.Markdown(data.decode()))
    else:
        display.display(display.Pretty(data.decode(errors="replace")))


def show_visualizations(
    av: ArtifactVersionView, reader: Callable[[str], bytes], title: str | None = None,
    out_dir: Path | None = None,
) -> list[str]:
    """Display each visualization inline in a notebook; elsewhere save it to files and say where."""
    vis = av.visualizations
    if not vis:
        raise NotFoundError(
            f"artifact {av.name!r} version {av.version} has no visualizations "
            f"(data type {av.data_type or 'unknown'})"
        )
    notebook = in_notebook()
    shown: list[str] = []
    target = out_dir or Path(tempfile.mkdtemp(prefix=f"kubeline-{av.object_name}-"))
    for i, item in enumerate(vis):
        data = reader(item["uri"])
        if notebook:
            _display(item["type"], data)
            shown.append(item["uri"])
            continue
        path = target / f"visualization-{i}{_SUFFIX.get(item['type'], '')}"
        path.write_bytes(data)
        shown.append(str(path))
    if not notebook:
        header = title or f"{av.name} version {av.version}"
        print(f"Visualizations of {header} saved to:")
        for path_text in shown:
            print(f"  {path_text}")
    return shown
