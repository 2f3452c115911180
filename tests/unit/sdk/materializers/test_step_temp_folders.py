"""A folder an artifact is loaded into lives as long as the step that loaded it (as in ZenML:
``get_temporary_directory(delete_at_exit=False)`` folders go after the step's execution);
outside a step it is the caller's and stays; a load that fails leaves no folder."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from kubeline.errors import ArtifactIntegrityError
from kubeline.materializers import load_artifact_data
from kubeline.materializers.base_materializer import BaseMaterializer
from kubeline.materializers.path import PathMaterializer, PreexistingPathMaterializer
from kubeline.materializers.registry import materializer_path_of
from kubeline.materializers.step_temp_folders import begin_step_folders, remove_step_folders
from kubeline.resources.names import ENV_NAMESPACE

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def caller_in_ns_a(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NAMESPACE, "ns-a")


def _temp_folders() -> list[Path]:
    """The load folders in the temp directory (a fresh one per unit test: tests/conftest.py)."""
    return sorted(Path(tempfile.gettempdir()).glob("kubeline-*"))


def _saved_folder(s3, tmp_path: Path, name: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    folder = tmp_path / name
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    m = PathMaterializer(s3.uri("artifacts", "ns-a", name), s3)
    m.save(folder)
    return m.uri, m.content_hash()


def _load(s3, uri: str, digest: str) -> Path:  # type: ignore[no-untyped-def]
    return load_artifact_data(uri, materializer_path_of(PathMaterializer), None, s3,
                              content_hash=digest)


def test_outside_a_step_the_loaded_folder_is_the_caller_s(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert _temp_folders() == []
    loaded = _load(s3, *_saved_folder(s3, tmp_path, "data"))
    assert (loaded / "a.txt").read_text() == "a"
    assert loaded.parent.parent == Path(tempfile.gettempdir())
    assert loaded.parent.name.startswith("kubeline-artifact-")
    assert remove_step_folders() == [] and loaded.is_dir()  # no step ran: nothing removed


def test_what_a_step_loads_goes_when_the_step_ends(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri, digest = _saved_folder(s3, tmp_path, "data")
    single = s3.uri("data", "ns-a", "one.txt")
    s3.write_bytes(single, b"one")
    mat = BaseMaterializer(s3.uri("artifacts", "ns-a", "scratch"), s3)
    begin_step_folders()
    try:
        folder = _load(s3, uri, digest)
        registered = PreexistingPathMaterializer(single, s3).load(Path)
        with mat.get_temporary_directory(delete_at_exit=False) as kept_for_the_step:
            pass
        with mat.get_temporary_directory(delete_at_exit=False,
                                         delete_after_step_execution=False) as kept:
            pass
        with mat.get_temporary_directory() as gone_at_exit:
            pass
        assert folder.is_dir() and registered.read_text() == "one"
        assert Path(kept_for_the_step).is_dir() and Path(kept).is_dir()
        assert not Path(gone_at_exit).exists()
    finally:
        removed = remove_step_folders()
    assert sorted(removed) == sorted([folder.parent, registered.parent, Path(kept_for_the_step)])
    assert not folder.exists() and not registered.exists()
    assert not Path(kept_for_the_step).exists()
    assert _temp_folders() == [Path(kept)]  # delete_after_step_execution=False: the caller's
    # The step is over: a later load is the caller's again.
    after = _load(s3, uri, digest)
    assert remove_step_folders() == [] and after.is_dir()


def test_a_load_that_fails_leaves_no_folder(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri, _ = _saved_folder(s3, tmp_path, "data")
    s3.write_bytes(f"{uri}/schema.json", json.dumps(
        {"kind": "file", "name": "data", "files": ["../../a.txt"]}).encode())
    tampered = PathMaterializer(uri, s3)
    tampered.verified = True
    with pytest.raises(ArtifactIntegrityError, match="unsafe"):
        tampered.load(Path)
    missing = PreexistingPathMaterializer(s3.uri("data", "ns-a", "missing.txt"), s3)
    with pytest.raises(FileNotFoundError):
        missing.load(Path)
    assert _temp_folders() == []
