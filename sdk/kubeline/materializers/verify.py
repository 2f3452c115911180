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


def stored_files(store: Any, uri: str) -> list[str]:
    """Relative names of the artifact's files (visualizations excluded), sorted."""
    prefix = uri.split("://", 1)[-1].rstrip("/") + "/"
    try:
        found = store.find(uri)
    except (FileNotFoundError, OSError, ValueError):
        return []
    names = []
    for path in found:
        rel = path.split("://", 1)[-1]
        rel = rel[len(prefix):] if rel.startswith(prefix) else rel.rsplit("/", 1)[-1]
        if not rel.startswith(f"{VISUALIZATIONS_DIR}/"):
            names.append(rel)
    return sorted(names)


def stored_content_hash(store: Any, uri: str) -> str:
    """The content hash of what the store holds under ``uri`` now."""
    base = uri.rstrip("/")
    sha = hashlib.sha256()
    for name in stored_files(store, base):
        digest, size = hashlib.sha256(), 0
        with store.open(f"{base}/{name}", "rb") as f:
            while chunk := f.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        sha.update(f"{name}\0{digest.hexdigest()}\0{size}\n".encode())
    return sha.hexdigest()


def verify_content(store: Any, uri: str, expected: str | None, what: str = "") -> None:
    """Raise :class:`ArtifactIntegrityError` unless the stored files hash to ``expected``."""
    label = what or uri
    if not expected:
        raise ArtifactIntegrityError(
            f"artifact {label} has no recorded content hash (spec.contentHash), so its files "
            "cannot be verified: refusing to deserialize them")
    actual = stored_content_hash(store, uri)
    if actual != expected:
        raise ArtifactIntegrityError(
            f"artifact {label} at {uri} does not match its recorded content hash "
            f"(recorded {expected[:16]}..., stored files hash to {actual[:16]}...): the files "
            "changed after it was saved; refusing to deserialize them")
