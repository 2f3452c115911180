"""The test tree's own rule: test files are imported by their basename (pytest's default
``prepend`` import mode, no ``__init__.py``), so two files with one basename break collection
of the whole suite even when each directory passes alone."""

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_file_basenames_are_unique_across_the_tree() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name.startswith("test_") or path.name in {"conftest.py"}:
            continue
        seen[path.name].append(str(path.relative_to(TESTS)))
    for path in TESTS.rglob("test_*.py"):
        seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: where for name, where in seen.items()
               if len(where) > 1 and name != "conftest.py"}
    assert not clashes, f"test modules share a basename (rename one of each): {clashes}"


def test_no_test_module_imports_from_conftest() -> None:
    """``conftest`` names several modules in a whole-tree session; the first one imported wins,
    so ``from conftest import x`` passes alone and fails in CI. Shared helpers live in modules
    with their own names (e.g. ``tests/kubeline_release.py``)."""
    offenders = []
    for p in TESTS.rglob("*.py"):
        if "fixtures" in p.parts or p.name in {"conftest.py", Path(__file__).name}:
            continue
        text = p.read_text()
        if "from conftest import" in text or "import conftest\n" in text:
            offenders.append(str(p.relative_to(TESTS)))
    assert not offenders, f"import shared helpers from a named module, not conftest: {offenders}"
