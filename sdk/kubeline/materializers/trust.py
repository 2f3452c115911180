"""Whose pickles a load may run: the caller's own namespace's, and those it names.

Unpickling runs code chosen by whoever wrote the file. The content hash proves the files
are what the producing step saved, not that its author is someone the loading process
trusts. A namespace's tenants can make their steps save any pickle, so a pickle-based
materializer (cloudpickle, joblib, pandas' pickle branch, numpy object arrays) loads an
artifact of another namespace only when the caller names that namespace:
``ArtifactVersionView.load(trust_pickles_from=["team-a"])`` or the environment variable
``KUBELINE_TRUST_PICKLES_FROM=team-a`` (comma-separated). ZenML has no namespaces and no
such check (docs/authoring.md, docs/security.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

from kubeline.errors import ConfigurationError, UntrustedArtifactError
from kubeline.resources.layout import namespace_of
from kubeline.resources.names import (
    ENV_INVOCATION,
    ENV_NAMESPACE,
    ENV_TRUST_PICKLES_FROM,
    SERVICE_ACCOUNT_DIR,
    is_dns_label,
)


@dataclass(frozen=True)
class LoadOrigin:
    """Where an artifact's files come from and who loads them."""

    #: The namespace the loading process acts for (None: unknown).
    caller: str | None
    #: The ArtifactVersion's namespace and the one its URI lies in.
    namespaces: frozenset[str]
    #: Namespaces the caller opted in to unpickle from.
    trusted: frozenset[str] = frozenset()

    def foreign(self) -> list[str]:
        """The artifact's namespaces that are neither the caller's nor trusted."""
        return sorted(n for n in self.namespaces if n != self.caller and n not in self.trusted)

    def require_trusted(self, what: str, uri: str) -> None:
        """Raise :class:`UntrustedArtifactError` unless every origin is trusted."""
        foreign = self.foreign()
        if not foreign:
            return
        caller = f"namespace {self.caller}" if self.caller else "an unknown namespace"
        names = ",".join(foreign)
        raise UntrustedArtifactError(
            f"{what} at {uri} comes from namespace {names}, and this process acts for "
            f"{caller}: unpickling runs code that namespace's steps chose, so Kubeline "
            f"refuses it unless you trust {names} explicitly: "
            f'.load(trust_pickles_from=["{foreign[0]}"]) or '
            f"{ENV_TRUST_PICKLES_FROM}={names} (a Kubeline addition, see docs/security.md)")


def parse_trusted(value: str | Iterable[str] | None, source: str) -> frozenset[str]:
    """Namespace names from a comma-separated string or an iterable; a bad name is refused."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    names = {str(item).strip() for item in items} - {""}
    bad = sorted(n for n in names if not is_dns_label(n))
    if bad:
        raise ConfigurationError(
            f"{source}: {', '.join(map(repr, bad))} is not a namespace name (a DNS label; "
            "name each namespace whose pickles you trust, there is no wildcard)")
    return frozenset(names)


def trusted_namespaces(extra: str | Iterable[str] | None = None) -> frozenset[str]:
    """The caller's opt-in: ``extra`` plus ``KUBELINE_TRUST_PICKLES_FROM``."""
    return (parse_trusted(extra, "trust_pickles_from")
            | parse_trusted(os.environ.get(ENV_TRUST_PICKLES_FROM), ENV_TRUST_PICKLES_FROM))


def caller_namespace() -> str | None:
    """The namespace this process acts for when no Client says: ``KUBELINE_NAMESPACE``, a step
    Pod's invocation, or the in-cluster ServiceAccount's namespace."""
    if os.environ.get(ENV_NAMESPACE):
        return os.environ[ENV_NAMESPACE]
    raw = os.environ.get(ENV_INVOCATION)
    if raw:
        try:
            namespace = json.loads(raw).get("namespace")
        except (ValueError, AttributeError):
            namespace = None
        if isinstance(namespace, str) and namespace:
            return namespace
    try:
        with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def load_origin(uri: str, root: str | None, caller: str | None, namespace: str | None = None,
                trust: str | Iterable[str] | None = None) -> LoadOrigin:
    """The origin of the artifact at ``uri`` (``namespace``: its ArtifactVersion's)."""
    origins = {n for n in (namespace, namespace_of(root, uri) if root else None) if n}
    return LoadOrigin(caller=caller, namespaces=frozenset(origins),
                      trusted=trusted_namespaces(trust))
