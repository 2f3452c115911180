"""Which ArtifactVersion a step's by-name input took (pure; the Client and the UI use it).

A step input ``ExternalArtifact(name=...)`` / ``get_artifact_version(name)`` without a version
takes the newest version of that artifact when the operator resolves the step, just before
it starts, and the operator labels the run ``input.kubeline.dev/<uid>`` with the version it
took. The run's input labels name every version its steps took, so a by-name input took
the newest of those versions of its artifact that existed when its step started: the newest
version at that moment is one of them, and every version newer than it came later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kubeline.resources.names import LABEL_PREFIX_INPUT_ARTIFACT


def input_version_uids(labels: Mapping[str, str]) -> set[str]:
    """The uids of the ArtifactVersions a run's input labels name."""
    prefix = f"{LABEL_PREFIX_INPUT_ARTIFACT}/"
    return {key[len(prefix):] for key in labels if key.startswith(prefix)}


def newest_first_key(obj: Mapping[str, Any]) -> tuple[str, int, str]:
    """Sort key of an ArtifactVersion object, oldest first: creation time, then numeric
    versions numerically, then the version text (the operator's "newest version")."""
    version = str((obj.get("spec") or {}).get("version") or "")
    number = int(version) if re.fullmatch(r"\d{1,18}", version) else -1
    return str((obj.get("metadata") or {}).get("creationTimestamp") or ""), number, version


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def version_taken_by_name(candidates: Iterable[Mapping[str, Any]], artifact: str,
                          started: str | None) -> Mapping[str, Any] | None:
    """Of ``candidates`` (the ArtifactVersion objects a run's input labels name), the version
    of ``artifact`` a by-name input without a version took in a step that started at
    ``started``: the newest one created by then (creation times have whole seconds, so a
    version made in the same second as the start counts as made before it). None when no
    candidate is a version of ``artifact`` or the step has not started (nothing resolved)."""
    start = _time(started)
    if start is None:
        return None
    made_by_then = []
    for obj in candidates:
        if (obj.get("spec") or {}).get("artifactName") != artifact:
            continue
        made = _time((obj.get("metadata") or {}).get("creationTimestamp"))
        if made is not None and made <= start:
            made_by_then.append(obj)
    return max(made_by_then, key=newest_first_key) if made_by_then else None
