"""Code archive: deterministic digest, skipped folders, size limit, verification."""

from __future__ import annotations

import os
import tarfile
import time
from pathlib import Path

import pytest
from kubeline.artifact_store import ArtifactStore
from kubeline.code_archive import (
    CodeArchiveError,
    build_archive,
    extract_verified,
    fetch_code,
    upload_archive,
)

pytestmark = pytest.mark.unit


def make_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "run.py").write_text("print('hi')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "steps.py").write_text("X = 1\n")
    for skipped in (".git", "__pycache__", "node_modules", ".pytest_cache", "pkg/__pycache__"):
        (root / skipped).mkdir(parents=True, exist_ok=True)
        (root / skipped / "junk.txt").write_text("junk")
    (root / "myenv").mkdir()
    (root / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "myenv" / "lib.py").write_text("")
    (root / ".env").write_text("SECRET=1\n")
    (root / "pkg" / "steps.pyc").write_bytes(b"\0")
    (root / "data").mkdir()
    (root / "data" / "big.csv").write_text("1,2\n")
    (root / ".kubelineignore").write_text("# data stays out\ndata\n")
    return root


def names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def test_same_code_same_digest_despite_mtimes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    a = build_archive(root, out_dir=str(tmp_path))
    future = time.time() + 1000
    for p in root.rglob("*"):
        os.utime(p, (future, future))
    b = build_archive(root, out_dir=str(tmp_path))
    assert a.sha256 == b.sha256 and a.size == b.size
    (root / "pkg" / "steps.py").write_text("X = 2\n")
    assert build_archive(root, out_dir=str(tmp_path)).sha256 != a.sha256


def test_skips_vcs_venvs_caches_secrets_and_ignored(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    archive = build_archive(root, out_dir=str(tmp_path))
    assert names(archive.path) == [".kubelineignore", "pkg/__init__.py", "pkg/steps.py", "run.py"]
    assert archive.file_count == 4
    with tarfile.open(archive.path) as tar:
        info = tar.getmember("run.py")
        assert (info.mtime, info.uid, info.gid, info.uname) == (0, 0, 0, "")


def test_size_limit_error_is_actionable(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.bin").write_bytes(b"\0" * 5000)
    (root / "run.py").write_text("")
    with pytest.raises(CodeArchiveError) as info:
        build_archive(root, max_bytes=1000, out_dir=str(tmp_path))
    msg = str(info.value)
    assert "over the" in msg and "models" in msg and ".kubelineignore" in msg


def test_digest_verified_before_extracting(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "src")
    archive = build_archive(root, out_dir=str(tmp_path))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(CodeArchiveError, match="digest mismatch"):
        extract_verified(archive.path, "0" * 64, dest / "x")
    assert not (dest / "x").exists()
    extract_verified(archive.path, archive.sha256, dest / "ok")
    assert (dest / "ok" / "pkg" / "steps.py").read_text() == "X = 1\n"


def test_upload_once_and_fetch(tmp_path: Path) -> None:
    store = ArtifactStore.local(str(tmp_path / "bucket"))
    archive = build_archive(make_tree(tmp_path / "src"), out_dir=str(tmp_path))
    uri = upload_archive(store, archive)
    assert uri.endswith(f"code/{archive.sha256}.tar.gz") and store.exists(uri)
    before = os.stat(uri).st_mtime_ns
    assert upload_archive(store, archive) == uri and os.stat(uri).st_mtime_ns == before
    root = fetch_code(store, uri, archive.sha256, tmp_path / "cache")
    assert (root / "run.py").exists()
    Path(uri).write_bytes(b"tampered")
    with pytest.raises(CodeArchiveError):
        fetch_code(store, uri, archive.sha256, tmp_path / "cache2")


def test_a_failed_build_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    root = make_tree(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()

    def broken(self, info, fileobj=None):
        raise OSError("disk full")
    monkeypatch.setattr(tarfile.TarFile, "addfile", broken)
    with pytest.raises(OSError, match="disk full"):
        build_archive(root, out_dir=str(out))
    assert list(out.iterdir()) == []
