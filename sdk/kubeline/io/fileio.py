"""ZenML's ``fileio`` functions over ``s3://`` URIs (the artifact store) and local paths.

``s3://`` paths go through the process's artifact store (its credentials and endpoint);
anything else is the local file system. Names and arguments follow ``zenml.io.fileio``.
"""

from __future__ import annotations

import builtins
import glob as _glob
import os
import shutil
from collections.abc import Callable, Iterable
from typing import Any

PathType = str | bytes


def _str(path: PathType) -> str:
    return path.decode() if isinstance(path, bytes) else str(path)


def _fs(path: PathType) -> Any:
    """The fsspec file system for ``path``: the artifact store's for s3://, else None."""
    if _str(path).startswith("s3://"):
        from kubeline.artifact_store import default_store

        return default_store().fs
    return None


def _s3(path: str) -> str:
    return path if path.startswith("s3://") else f"s3://{path}"


def open(path: PathType, mode: str = "r") -> Any:
    """Open a file (text or binary mode)."""
    fs = _fs(path)
    if fs is None:
        return builtins.open(_str(path), mode)
    return fs.open(_str(path), mode)


def exists(path: PathType) -> bool:
    fs = _fs(path)
    return os.path.exists(_str(path)) if fs is None else bool(fs.exists(_str(path)))


def isdir(path: PathType) -> bool:
    fs = _fs(path)
    return os.path.isdir(_str(path)) if fs is None else bool(fs.isdir(_str(path)))


def listdir(path: PathType, only_file_in_dir: bool = False) -> list[str]:
    """Names (not paths) of the entries in a directory."""
    fs = _fs(path)
    if fs is None:
        return sorted(os.listdir(_str(path)))
    base = _str(path).split("://", 1)[1].rstrip("/")
    names = []
    for entry in fs.ls(_str(path), detail=False):
        entry = entry.rstrip("/")
        if entry != base:
            names.append(entry.rsplit("/", 1)[-1])
    return sorted(names)


def glob(pattern: PathType) -> list[str]:
    fs = _fs(pattern)
    if fs is None:
        return sorted(_glob.glob(_str(pattern)))
    return sorted(_s3(p) for p in fs.glob(_str(pattern)))


def makedirs(path: PathType) -> None:
    """Create a directory and its parents (object stores have no directories: a no-op)."""
    fs = _fs(path)
    if fs is None:
        os.makedirs(_str(path), exist_ok=True)
    else:
        fs.makedirs(_str(path), exist_ok=True)


def mkdir(path: PathType) -> None:
    fs = _fs(path)
    if fs is None:
        os.mkdir(_str(path))
    else:
        fs.makedirs(_str(path), exist_ok=True)


def remove(path: PathType) -> None:
    """Remove a file."""
    fs = _fs(path)
    if fs is None:
        os.remove(_str(path))
    else:
        fs.rm_file(_str(path))


def rmtree(dir_path: str) -> None:
    """Remove a directory and everything under it."""
    fs = _fs(dir_path)
    if fs is None:
        shutil.rmtree(dir_path)
    else:
        fs.rm(dir_path, recursive=True)


def copy(src: PathType, dst: PathType, overwrite: bool = False) -> None:
    """Copy a file, between local paths and s3:// in any direction."""
    if not overwrite and exists(dst):
        raise FileExistsError(f"Destination file '{_str(dst)}' already exists and "
                              "`overwrite` is false.")
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)


def rename(src: PathType, dst: PathType, overwrite: bool = False) -> None:
    if not overwrite and exists(dst):
        raise FileExistsError(f"Destination file '{_str(dst)}' already exists and "
                              "`overwrite` is false.")
    fs_src, fs_dst = _fs(src), _fs(dst)
    if fs_src is None and fs_dst is None:
        os.replace(_str(src), _str(dst))
    elif fs_src is not None and fs_dst is not None:
        fs_src.mv(_str(src), _str(dst))
    else:
        copy(src, dst, overwrite=True)
        remove(src)


def size(path: PathType) -> int:
    """Size of a file in bytes, or of everything under a directory."""
    fs = _fs(path)
    if fs is None:
        p = _str(path)
        if os.path.isdir(p):
            return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs_ in os.walk(p)
                       for f in fs_)
        return os.path.getsize(p)
    return int(fs.du(_str(path)))


def stat(path: PathType) -> Any:
    fs = _fs(path)
    return os.stat(_str(path)) if fs is None else fs.info(_str(path))


def walk(top: PathType, topdown: bool = True,
         onerror: Callable[..., None] | None = None) -> Iterable[tuple[str, list[str], list[str]]]:
    """(directory, subdirectories, files) for every directory under ``top``."""
    fs = _fs(top)
    if fs is None:
        yield from os.walk(_str(top), topdown=topdown, onerror=onerror)
        return
    for root, dirs, files in fs.walk(_str(top), topdown=topdown):
        yield _s3(root), list(dirs), list(files)


__all__ = ["copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir", "open", "remove",
           "rename", "rmtree", "size", "stat", "walk"]
