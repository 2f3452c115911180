"""``load_artifact``: load a stored artifact by id or name (and version)."""

from __future__ import annotations

from typing import Any


def load_artifact(name_or_id: str, version: str | int | None = None) -> Any:
    """Load the data of an artifact version found by uid, or by name (latest or ``version``).

    Goes through the Client (a lookup in the Kubernetes API) and the artifact
    store; pickled artifacts run code when loaded: load only what you trust.
    """
    from kubeline.client import Client

    artifact = Client().get_artifact_version(
        name_or_id, None if version is None else str(version))
    return artifact.load()


def load_artifact_from_uri(uri: str, materializer: str, data_type: str | None = None) -> Any:
    """Load the data stored at ``uri`` by ``materializer`` (no API lookup)."""
    from kubeline.materializers.registry import load_artifact_data

    return load_artifact_data(uri, materializer, data_type)
