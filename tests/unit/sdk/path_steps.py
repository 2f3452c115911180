"""A step that reads a folder input (module level, importable by the step runtime)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from kubeline import step


@step
def reads_folder(folder: Path) -> Annotated[str, "seen"]:
    """What the step saw of its loaded folder: where, whether it was there, what was in it."""
    return json.dumps({"path": str(folder), "exists": folder.is_dir(),
                       "files": sorted(p.name for p in folder.iterdir())})
