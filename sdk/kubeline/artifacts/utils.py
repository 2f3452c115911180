"""``load_artifact``: load a stored artifact by id or name (and version)."""

from __future__ import annotations

from typing import Any

from kubeline.resources import layout


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
    """Load the data stored at ``uri`` by ``materializer`` (no API lookup, so no recorded
    content hash to verify: the caller vouches for the URI; see docs/security.md)."""
    from kubeline.materializers.registry import load_artifact_data

    return load_artifact_data(uri, materializer, data_type, verify=False)


def _manual_uri(store: Any, namespace: str, name: str) -> str:
    import uuid

    from kubeline.resources.names import dns_name

    return layout.manual_uri(store.root, namespace, dns_name(name), uuid.uuid4().hex)


def materialize(data: Any, uri: str, store: Any, materializer: Any = None,
                extract_metadata: bool = True, include_visualizations: bool = True,
                user_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save ``data`` at ``uri``: the ArtifactVersion spec fields it yields (no API call)."""
    from kubeline.materializers.registry import materializer_for_value, materializer_path_of
    from kubeline.resources.json_values import json_safe
    from kubeline.signature import type_path

    declared = materializer_path_of(materializer) if materializer is not None else None
    cls = materializer_for_value(data, declared)
    m = cls(uri, store)
    m.save(data)
    metadata: dict[str, Any] = {}
    if extract_metadata:
        metadata.update(m.extract_metadata(data))
    metadata["storage_size"] = m.storage_size
    metadata.update(user_metadata or {})
    visualizations = m.save_visualizations(data) if include_visualizations else {}
    return {
        "uri": uri, "materializer": materializer_path_of(cls),
        "dataType": type_path(type(data)) if data is not None else "builtins.NoneType",
        "contentHash": m.content_hash(), "metadata": json_safe(metadata),
        "visualizations": [{"uri": u, "type": t} for u, t in (visualizations or {}).items()],
        "artifactType": str(getattr(cls, "ASSOCIATED_ARTIFACT_TYPE", "BaseArtifact")),
    }


def _create_version(client: Any, name: str, version: str | int | None, fields: dict[str, Any],
                    save_type: str, tags: list[str], artifact_type: Any) -> Any:
    """Create the ArtifactVersion (next free number unless ``version`` is given)."""
    from kubeline.client.artifacts import ArtifactVersionView
    from kubeline.errors import AlreadyExistsError, KubelineError
    from kubeline.resources.models import ArtifactVersionSpec
    from kubeline.resources.names import (
        ANNOTATION_NAME,
        API_VERSION,
        ARTIFACT_VERSIONS,
        LABEL_ARTIFACT,
        LABEL_VERSION,
        artifact_version_name,
        label_value,
        next_version,
    )

    kind = getattr(artifact_type, "value", artifact_type) or fields.pop("artifactType", None)
    fields.pop("artifactType", None)
    for _ in range(20):
        existing = [v.version for v in client.list_artifact_versions(name=name, size=10_000)]
        chosen = str(version) if version is not None else next_version(existing)
        spec = ArtifactVersionSpec.model_validate({
            **fields, "artifactName": name, "version": chosen, "saveType": save_type,
            "tags": tags, "artifactType": None if kind == "BaseArtifact" else kind})
        body = {"apiVersion": API_VERSION, "kind": "ArtifactVersion",
                "metadata": {"name": artifact_version_name(name, chosen),
                             "labels": {LABEL_ARTIFACT: label_value(name),
                                        LABEL_VERSION: label_value(chosen)},
                             "annotations": {ANNOTATION_NAME: name}},
                "spec": spec.to_k8s()}
        try:
            return ArtifactVersionView(client, client.kube.create(ARTIFACT_VERSIONS, body))
        except AlreadyExistsError:
            if version is not None:
                raise AlreadyExistsError(
                    f"artifact {name!r} already has version {chosen!r}; give another version "
                    "or leave it unset to take the next number") from None
    raise KubelineError(f"could not allocate a version of artifact {name!r}")


def save_artifact(data: Any, name: str, version: str | int | None = None,
                  artifact_type: Any = None, tags: list[Any] | None = None,
                  extract_metadata: bool = True, include_visualizations: bool = True,
                  user_metadata: dict[str, Any] | None = None, materializer: Any = None,
                  uri: str | None = None, is_model_artifact: bool = False,
                  **kwargs: Any) -> Any:
    """Save ``data`` as a new version of artifact ``name`` and return it.

    Outside a step the version is created at once (the caller needs create rights on
    artifactversions). Inside a step the data is saved beside the step's outputs and the
    operator records the version, produced by this step, when the step ends (steps need
    no write access); the return value is then None.
    """
    from kubeline.context import _STEP_CONTEXT
    from kubeline.errors import ConfigurationError
    from kubeline.utils.tag_utils import tag_names

    if kwargs.pop("is_deployment_artifact", False) or kwargs.pop("manual_save", True) is False:
        raise ConfigurationError("save_artifact: is_deployment_artifact/manual_save=False are "
                                 "not supported")
    if kwargs:
        raise ConfigurationError(f"save_artifact: unknown argument(s) {sorted(kwargs)}")
    names_ = tag_names(tags or [], "save_artifact")
    kind = "ModelArtifact" if is_model_artifact and artifact_type is None else artifact_type
    ctx = _STEP_CONTEXT.get()
    if ctx is not None:
        from kubeline.artifact_store import default_store

        store = ctx.artifact_store or default_store()
        target = uri or layout.manual_artifact_uri(ctx.outputs_uri or "",
                                                   len(ctx.manual_artifacts))
        fields = materialize(data, target, store, materializer, extract_metadata,
                             include_visualizations, user_metadata)
        if kind is not None:
            fields["artifactType"] = str(getattr(kind, "value", kind))
        ctx.manual_artifacts.append({**fields, "artifactName": name, "tags": names_,
                                     "version": None if version is None else str(version)})
        return None
    from kubeline.artifact_store import default_store
    from kubeline.client import Client

    client = Client()
    store = default_store(client.kube)
    fields = materialize(data, uri or _manual_uri(store, client.namespace, name), store,
                         materializer, extract_metadata, include_visualizations, user_metadata)
    return _create_version(client, name, version, fields, "manual", names_, kind)


def register_artifact(folder_or_file_uri: str, name: str, version: str | int | None = None,
                      artifact_type: Any = None, tags: list[Any] | None = None,
                      has_custom_name: bool = True, is_model_artifact: bool = False,
                      is_deployment_artifact: bool = False,
                      artifact_metadata: dict[str, Any] | None = None) -> Any:
    """Register a file or folder already in the artifact store as a new artifact version;
    ``load()`` gives a local ``pathlib.Path`` copy of it."""
    from kubeline.artifact_store import default_store
    from kubeline.client import Client
    from kubeline.errors import ArtifactStoreError, ConfigurationError
    from kubeline.utils.tag_utils import tag_names

    if is_deployment_artifact:
        raise ConfigurationError("register_artifact: is_deployment_artifact is not supported")
    client = Client()
    store = default_store(client.kube)
    if not folder_or_file_uri.startswith(store.root + "/"):
        raise ConfigurationError(
            f"register_artifact: {folder_or_file_uri} is not inside the artifact store "
            f"{store.root} (Client().active_stack.artifact_store.path)")
    if not store.exists(folder_or_file_uri):
        raise ArtifactStoreError(f"register_artifact: nothing exists at {folder_or_file_uri}")
    fs = store.fs
    is_dir = bool(fs.isdir(folder_or_file_uri))
    files = fs.find(folder_or_file_uri) if is_dir else [folder_or_file_uri]
    size = sum(int(fs.size(f if "://" in f else f"s3://{f}")) for f in files) if files else 0
    from kubeline.materializers.verify import stored_content_hash

    fields = {
        "uri": folder_or_file_uri.rstrip("/"),
        # What load() verifies: the files as they are now, when they are registered.
        "contentHash": stored_content_hash(store, folder_or_file_uri.rstrip("/")),
        "materializer": "kubeline.materializers.path.PreexistingPathMaterializer",
        "dataType": "pathlib.Path",
        "metadata": {**(artifact_metadata or {}), "storage_size": size,
                     "kind": "dir" if is_dir else "file", "file_count": len(files)},
    }
    kind = "ModelArtifact" if is_model_artifact and artifact_type is None else artifact_type
    return _create_version(client, name, version, fields, "preexisting",
                           tag_names(tags or [], "register_artifact"), kind)
