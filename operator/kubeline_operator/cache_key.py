"""The step cache key and the choice of a cache hit (pure).

The key is a sha256 over the digests of its parts; the parts' digests are kept
in the step status (``CacheInfo.parts``) so that a user comparing two runs can
see which part changed and why a step did or did not hit the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeline.resources.json_values import digest
from kubeline.resources.models import CacheInfo, StepSpec

KEY_VERSION = 1

#: Parts of the key, in the order they are hashed.
PARTS = ("code", "image", "parameters", "inputs", "outputs", "env", "cacheVersion")


@dataclass(frozen=True)
class InputIdentity:
    """What identifies an input artifact for caching: its content hash, else its id."""

    content_hash: str | None = None
    id: str | None = None
    unmaterialized: bool = False

    def token(self) -> str:
        base = f"sha256:{self.content_hash}" if self.content_hash else f"id:{self.id}"
        return f"{base}:unmaterialized" if self.unmaterialized else base


@dataclass(frozen=True)
class CacheCandidate:
    """An earlier completed step run with the same key."""

    run: str
    step: str  # step invocation id
    outputs: Mapping[str, str]  # output name -> ArtifactVersion object name
    end_time: float  # epoch seconds
    key: str


def compute_cache_info(
    step: StepSpec,
    image: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, InputIdentity],
) -> CacheInfo:
    """The cache key of one step invocation and the digest of each part."""
    parts = {
        "code": digest(step.code_hash),
        "image": digest(image),
        "parameters": digest(dict(parameters)),
        "inputs": digest({name: ident.token() for name, ident in inputs.items()}),
        "outputs": digest([[o.name, o.materializer] for o in step.outputs]),
        "env": digest(dict(step.env)),
        "cacheVersion": digest(step.cache_version),
    }
    key = digest({"v": KEY_VERSION, "parts": [[p, parts[p]] for p in PARTS]})
    return CacheInfo(key=key, parts=parts)


def changed_parts(a: CacheInfo, b: CacheInfo) -> list[str]:
    """Names of the parts whose digests differ between two keys (why a step missed)."""
    return [p for p in PARTS if a.parts.get(p) != b.parts.get(p)]


def choose_hit(
    candidates: Iterable[CacheCandidate],
    key: str,
    output_names: Iterable[str],
    now: float,
    expires_after_seconds: int | None,
    exists: Callable[[str], bool],
) -> CacheCandidate | None:
    """The newest usable earlier result for ``key``, or None.

    Usable: same full key, not older than the expiry, and every declared output
    recorded and its ArtifactVersion still present (``exists``).
    """
    wanted = list(output_names)
    best: CacheCandidate | None = None
    for cand in candidates:
        if cand.key != key:
            continue
        if expires_after_seconds is not None and now - cand.end_time > expires_after_seconds:
            continue
        if not all(name in cand.outputs and exists(cand.outputs[name]) for name in wanted):
            continue
        if best is None or cand.end_time > best.end_time:
            best = cand
    return best
