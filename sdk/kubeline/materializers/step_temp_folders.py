"""Local temporary folders that live as long as the step that runs now.

What a materializer loads into a local folder (a ``pathlib.Path`` artifact, what
``get_temporary_directory(delete_at_exit=False)`` makes) must outlive ``load()``: the step
function reads it. As in ZenML, such a folder is removed when the step's execution ends (its
function returned or raised, its outputs saved): the step runtime calls
:func:`begin_step_folders` before loading the inputs and :func:`remove_step_folders` at the end.
Outside a step (``Client().get_artifact_version(...).load()`` in a script or notebook) nothing
removes it: the folder, under the temp directory, is the caller's to delete.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

_LOCK = threading.Lock()
_FOLDERS: list[Path] | None = None  # while a step runs: the folders to remove at its end


def begin_step_folders() -> None:
    """A step starts in this process: folders registered from now on go at its end."""
    global _FOLDERS
    with _LOCK:
        _FOLDERS = []


def remove_after_step(folder: str | Path) -> bool:
    """Have ``folder`` removed when the step that runs now ends; False when no step runs in
    this process (the folder is then the caller's)."""
    with _LOCK:
        if _FOLDERS is None:
            return False
        _FOLDERS.append(Path(folder))
        return True


def remove_step_folders() -> list[Path]:
    """The step ended: remove the folders registered since :func:`begin_step_folders`;
    return them."""
    global _FOLDERS
    with _LOCK:
        folders, _FOLDERS = _FOLDERS or [], None
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return folders
