"""Content-addressed packaging of the user's source code.

``build_archive(root)`` packs the source root into a deterministic ``.tar.gz``
(sorted entries, zero mtimes/uids, fixed modes, gzip without name or time) so
that the same files always give the same sha256. It skips version control,
virtual environments, caches, ``node_modules``, ``.env`` files and anything
matched by a ``.kubelineignore`` file (one glob per line, matched against the
relative path and the file name), and fails clearly above a size limit
(``KUBELINE_CODE_MAX_BYTES``, default 64 MiB of uncompressed files).

The archive is uploaded to ``s3://<bucket>/code/<sha256>.tar.gz`` only if
absent. Step Pods download it, verify the sha256 and only then extract it.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubeline.errors import KubelineError
from kubeline.resources.names import ENV_CODE_MAX_BYTES

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
IGNORE_FILE = ".kubelineignore"
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".ipynb_checkpoints", ".idea", ".vscode",
    ".cache", ".eggs",
})
SKIP_FILES = frozenset({".DS_Store", ".env"})
SKIP_SUFFIXES = (".pyc", ".pyo")


class CodeArchiveError(KubelineError):
    """The code could not be packaged, or a downloaded archive failed verification."""


@dataclass(frozen=True)
class CodeArchiveFile:
    """A built archive on local disk."""

    path: Path
    sha256: str
    size: int
    file_count: int
    source_bytes: int


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").exists() or (path / "conda-meta").is_dir()


def _ignore_patterns(root: Path) -> list[str]:
    file = root / IGNORE_FILE
    if not file.exists():
        return []
    lines = (line.strip() for line in file.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _ignored(rel: str, name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def collect_files(root: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every file to package, sorted by name."""
    root = root.resolve()
    patterns = _ignore_patterns(root)
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            rel = (here / d).relative_to(root).as_posix()
            if (d in SKIP_DIRS or d.endswith(".egg-info") or _is_venv(here / d)
                    or (here / d).is_symlink() or _ignored(rel, d, patterns)):
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = here / name
            rel = full.relative_to(root).as_posix()
            if (name in SKIP_FILES or name.endswith(SKIP_SUFFIXES) or full.is_symlink()
                    or not full.is_file() or _ignored(rel, name, patterns)):
                continue
            out.append((rel, full))
    out.sort(key=lambda item: item[0])
    return out


def _too_big(root: Path, files: list[tuple[str, Path]], total: int, limit: int) -> str:
    by_top: dict[str, int] = {}
    for rel, full in files:
        top = rel.split("/", 1)[0]
        by_top[top] = by_top.get(top, 0) + full.stat().st_size
    biggest = sorted(by_top.items(), key=lambda kv: -kv[1])[:5]
    listing = ", ".join(f"{name} ({size / 2**20:.1f} MiB)" for name, size in biggest)
    return (
        f"the source root {root} holds {total / 2**20:.1f} MiB of files, over the "
        f"{limit / 2**20:.1f} MiB limit for code archives. Largest entries: {listing}. Exclude "
        f"data and build outputs in {root / IGNORE_FILE}, move the pipeline into a smaller "
        "folder (or mark its root with a .kubeline file), raise KUBELINE_CODE_MAX_BYTES, or "
        "bake the code into the image (settings={'docker': {'code_in_image': True}})."
    )


def build_archive(root: Path, max_bytes: int | None = None,
                  out_dir: str | None = None) -> CodeArchiveFile:
    """Pack ``root`` into a deterministic .tar.gz in a temp file; returns its digest."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise CodeArchiveError(f"source root {root} is not a directory")
    limit = max_bytes or int(os.environ.get(ENV_CODE_MAX_BYTES) or DEFAULT_MAX_BYTES)
    files = collect_files(root)
    total = sum(full.stat().st_size for _, full in files)
    if total > limit:
        raise CodeArchiveError(_too_big(root, files, total, limit))
    fd, tmp = tempfile.mkstemp(prefix="kubeline-code-", suffix=".tar.gz", dir=out_dir)
    sha = hashlib.sha256()
    size = 0

    class _Sink:
        def write(self, data: bytes) -> int:
            nonlocal size
            sha.update(data)
            size += len(data)
            return os.write(fd, data)

        def flush(self) -> None:
            pass

    try:
        with gzip.GzipFile(filename="", mode="wb", fileobj=_Sink(), mtime=0,
                           compresslevel=6) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for rel, full in files:
                info = tarfile.TarInfo(rel)
                st = full.stat()
                info.size = st.st_size
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o755 if st.st_mode & 0o111 else 0o644
                with open(full, "rb") as fh:
                    tar.addfile(info, fh)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)  # a half-written archive is of no use to anyone
        raise
    os.close(fd)
    return CodeArchiveFile(path=Path(tmp), sha256=sha.hexdigest(), size=size,
                           file_count=len(files), source_bytes=total)


def upload_archive(store: Any, archive: CodeArchiveFile) -> str:
    """Upload to ``code/<sha256>.tar.gz`` unless already there; returns the URI."""
    uri = store.code_uri(archive.sha256)
    if not store.exists(uri):
        store.put_file(str(archive.path), uri)
    return uri


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def _safe_members(tar: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        target = (dest / m.name).resolve()
        if not (m.isfile() or m.isdir()) or not str(target).startswith(str(dest.resolve())):
            raise CodeArchiveError(f"code archive holds an unsafe entry {m.name!r}; refusing it")
        members.append(m)
    return members


def extract_verified(archive: Path, sha256: str, dest: Path) -> Path:
    """Verify ``archive`` against ``sha256``, then extract it into ``dest``."""
    actual = file_sha256(archive)
    if actual != sha256:
        raise CodeArchiveError(
            f"code archive digest mismatch: expected sha256 {sha256}, got {actual}; the archive "
            "in the bucket was altered or corrupted. Re-run the pipeline to upload it again."
        )
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(tmp, members=_safe_members(tar, tmp))
    if dest.exists():
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, dest)
    return dest


def fetch_code(store: Any, uri: str, sha256: str, cache_dir: Path) -> Path:
    """Download, verify and extract a code archive (cached by digest); returns the folder."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest = cache_dir / sha256
    if dest.is_dir():
        return dest
    fd, tmp = tempfile.mkstemp(prefix="code-", suffix=".tar.gz", dir=cache_dir)
    os.close(fd)
    try:
        store.get_file(uri, tmp)
        return extract_verified(Path(tmp), sha256, dest)
    finally:
        os.unlink(tmp)
