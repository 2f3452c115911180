"""Files and directories (``pathlib.Path`` values)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from kubeline.errors import ArtifactIntegrityError
from kubeline.materializers.base import BaseMaterializer
from kubeline.materializers.step_temp_folders import remove_after_step

SCHEMA = "schema.json"
FILES = "files"
COPY_CHUNK = 8 * 1024 * 1024


def _plain_name(name: str) -> bool:
    """One path component: no separators, not empty, not ``.`` or ``..``."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def load_into_temp_folder(fill: Callable[[Path], Path]) -> Path:
    """``fill(folder)`` with a fresh local folder; returns what it returns. The folder is removed
    when the step that runs now ends (outside a step it is the caller's, under the temp
    directory: ``kubeline.materializers.step_temp_folders``), and at once when ``fill`` fails."""
    folder = Path(tempfile.mkdtemp(prefix="kubeline-artifact-"))
    try:
        loaded = fill(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    remove_after_step(folder)
    return loaded


class PathMaterializer(BaseMaterializer):
    """A local file or folder: copied under ``files/``; loads into a fresh temp folder, removed
    when the step that loaded it ends (outside a step: the caller's)."""

    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ("pathlib.PurePath", "pathlib.Path")

    def _copy_in(self, local: Path, rel: str) -> None:
        with open(local, "rb") as src, self.open(f"{FILES}/{rel}", "wb") as dst:
            while chunk := src.read(COPY_CHUNK):
                dst.write(chunk)

    def save(self, data: Any) -> None:
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"output path {path} does not exist")
        files: list[str] = []
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    full = Path(dirpath) / name
                    rel = full.relative_to(path).as_posix()
                    self._copy_in(full, rel)
                    files.append(rel)
        else:
            self._copy_in(path, path.name)
            files.append(path.name)
        schema = {"kind": "dir" if path.is_dir() else "file", "name": path.name, "files": files}
        with self.open(SCHEMA, "wb") as f:
            f.write(json.dumps(schema, sort_keys=True).encode())

    def load(self, data_type: type) -> Path:
        with self.open(SCHEMA, "rb") as f:
            schema = json.loads(f.read())
        name = schema.get("name")
        if not isinstance(name, str) or not _plain_name(name):
            raise ArtifactIntegrityError(
                f"unsafe name {name!r} in {self.uri}/{SCHEMA}: not a plain file or folder "
                "name; refusing to write outside the target folder")

        def fill(target: Path) -> Path:
            for rel in schema["files"]:
                local = (target / name / rel if schema["kind"] == "dir" else target / rel)
                if (not isinstance(rel, str) or rel.startswith("/") or ".." in Path(rel).parts
                        or not local.resolve().is_relative_to(target.resolve())):
                    raise ArtifactIntegrityError(
                        f"unsafe file name {rel!r} in {self.uri}/{SCHEMA}: it leaves the target "
                        "folder; refusing to write it")
                local.parent.mkdir(parents=True, exist_ok=True)
                self.artifact_store.get_file(self.path(f"{FILES}/{rel}"), str(local))
            if schema["kind"] == "dir":
                (target / name).mkdir(exist_ok=True)
            return target / name

        return load_into_temp_folder(fill)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        path = Path(data)
        count = sum(len(f) for _, _, f in os.walk(path)) if path.is_dir() else 1
        return {"kind": "dir" if path.is_dir() else "file", "file_count": count}


class PreexistingPathMaterializer(BaseMaterializer):
    """A file or folder registered where it already is (``register_artifact``): loads it
    into a fresh temp folder (removed as :class:`PathMaterializer`'s); never writes."""

    def save(self, data: Any) -> None:
        raise TypeError("a registered (pre-existing) artifact is never saved again")

    def load(self, data_type: type) -> Path:
        fs = self.artifact_store.fs
        name = self.uri.rstrip("/").rsplit("/", 1)[-1]

        def fill(folder: Path) -> Path:
            target = folder / name
            if fs.isdir(self.uri):
                target.mkdir(parents=True)
                base = self.uri.split("://", 1)[-1].rstrip("/") + "/"
                for found in sorted(fs.find(self.uri)):
                    rel = found.split("://", 1)[-1]
                    rel = rel[len(base):] if rel.startswith(base) else rel.rsplit("/", 1)[-1]
                    if rel.startswith("/") or ".." in Path(rel).parts:
                        raise ValueError(f"unsafe file name {rel!r} in {self.uri}")
                    local = target / rel
                    local.parent.mkdir(parents=True, exist_ok=True)
                    self.artifact_store.get_file(self.path(rel), str(local))
            else:
                self.artifact_store.get_file(self.uri, str(target))
            return target

        return load_into_temp_folder(fill)
