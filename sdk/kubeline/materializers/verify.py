"""Check an artifact's stored files against its recorded content hash before loading.

The hash is :meth:`BaseMaterializer.content_hash`: sha256 over the sorted ``name\\0sha256\\0
size`` lines of every file under the artifact's URI except its visualizations. Loading
recomputes it from the store and refuses a mismatch before any materializer reads a byte,
so a file changed (or added, or removed) after the save is never deserialized.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubeline.errors import ArtifactIntegrityError
from kubeline.resources.layout import VISUALIZATIONS_DIR

READ_CHUNK = 8 * 2**20


def stored_files(store: Any, uri: str, missing_ok: bool = True) -> list[tuple[str, str]]:
    """(relative name, full URI) of the artifact's files, visualizations excluded, sorted by
    name; a URI naming one file gives that file under its base name. A listing that fails
    gives no files (or raises, without ``missing_ok``)."""
    scheme = uri.split("://", 1)[0] + "://" if "://" in uri else ""
    prefix = uri.split("://", 1)[-1].rstrip("/") + "/"
    try:
        found = store.find(uri)
    except (FileNotFoundError, OSError, ValueError):
        if not missing_ok:
            raise
        return []
    files = []
    for path in found:
        bare = path.split("://", 1)[-1]
        rel = bare[len(prefix):] if bare.startswith(prefix) else bare.rsplit("/", 1)[-1]
        if not rel.startswith(f"{VISUALIZATIONS_DIR}/"):
            files.append((rel, path if "://" in path else scheme + bare))
    return sorted(files)


def file_digest(store: Any, full: str) -> tuple[str, int]:
    """(sha256 hex digest, size) of one stored file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with store.open(full, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def stored_content_hash(store: Any, uri: str) -> str:
    """The content hash of what the store holds under ``uri`` now."""
    sha = hashlib.sha256()
    for name, full in stored_files(store, uri.rstrip("/")):
        digest, size = file_digest(store, full)
        sha.update(f"{name}\0{digest}\0{size}\n".encode())
    return sha.hexdigest()


def verify_content(store: Any, uri: str, expected: str | None, what: str = "") -> None:
    """Raise :class:`ArtifactIntegrityError` unless the stored files hash to ``expected``."""
    label = what or uri
    if not expected:
        raise ArtifactIntegrityError(
            f"artifact {label} has no recorded content hash (spec.contentHash), so its files "
            "cannot be verified: refusing to deserialize them (versions saved before content "
            "hashes were recorded have none: run the producing step again with "
            "enable_cache=False, or save_artifact the data again, to get a verified version)")
    actual = stored_content_hash(store, uri)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"artifact {label} at {uri} does not match its recorded content hash "
            f"(recorded {expected[:16]}..., stored files hash to {actual[:16]}...): the files "
            "changed after it was saved; refusing to deserialize them")
