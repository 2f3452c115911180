"""Imports run one way: no import cycle among ``kubeline`` modules (function-local imports
count; ``if TYPE_CHECKING:`` ones do not), and every module has a place in the SDK layers
of ``.importlinter`` (``lint-imports`` checks the layers themselves)."""

from __future__ import annotations

import configparser
from pathlib import Path

import grimp
import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("kubeline", include_external_packages=False,
                             exclude_type_checking_imports=True)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_among_kubeline_modules(graph: grimp.ImportGraph) -> None:
    cycles = import_cycles(graph)
    details = [
        f"{' <-> '.join(group)}: "
        + "; ".join(f"{a} imports {b} (line {d['line_number']})"
                    for a in group for b in group
                    for d in graph.get_import_details(importer=a, imported=b))
        for group in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(details)


def test_the_cycle_finder_finds_a_cycle() -> None:
    g = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        g.add_module(module)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.a")
    g.add_import(importer="p.c", imported="p.a")
    assert import_cycles(g) == [["p.a", "p.b"]]


def test_every_module_has_a_layer(graph: grimp.ImportGraph) -> None:
    """A new module gets a place in the layers (a package whose modules have places and
    that imports only them, such as ``kubeline.artifacts``, needs none itself)."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = [name.strip() for line in config["importlinter:contract:sdk-layers"]["layers"]
              .splitlines() for name in line.split("|") if name.strip()]

    def placed(module: str) -> bool:
        if any(module == layer or module.startswith(layer + ".") for layer in layers):
            return True
        children = graph.find_children(module)
        return bool(children) and all(placed(c) for c in children) and all(
            i.startswith(module + ".") for i in graph.find_modules_directly_imported_by(module))

    unplaced = sorted(m for m in graph.modules if m != "kubeline" and not placed(m))
    assert not unplaced, f"modules in no layer of .importlinter: {unplaced}"
