"""Load a bench script (``bench/...py``, not a package) as a module for its unit tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_bench_module(relative: str) -> ModuleType:
    """``bench/<relative>`` imported under its file's stem, registered in ``sys.modules``
    (once) so the module's own dataclasses and imports of it resolve."""
    path = ROOT / "bench" / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    spec.loader.exec_module(module)
    return module
