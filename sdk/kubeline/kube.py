"""Thin access to the Kubernetes API for the SDK (Client, pipeline submission, CLI).

The official ``kubernetes`` client is imported lazily: it is slow to import and
memory-heavy, and ``import kubeline`` must stay light. Every request goes
through :class:`Kube`, which counts requests (benchmarks and tests assert on
bounded request counts) and turns API errors into :class:`KubelineError`
subclasses with messages a user can act on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubeline.errors import (
    AlreadyExistsError,
    ClusterUnreachableError,
    KubelineError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from kubeline.resources.names import (
    ENV_API_ACCESS,
    ENV_INVOCATION,
    ENV_NAMESPACE,
    GROUP,
    SERVICE_ACCOUNT_DIR,
    VERSION,
)

_IN_CLUSTER_NS = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
#: Accept header for a list of object metadata only (``PartialObjectMetadataList``).
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


@dataclass
class Kube:
    """Custom-object CRUD in one namespace, with request counting."""

    namespace: str
    context: str | None = None
    api_client: Any = None
    requests: int = field(default=0)
    #: The namespace this process acts for (``KUBELINE_NAMESPACE``, else the context's or the
    #: in-cluster ServiceAccount's), which ``namespace`` may override: the caller's own
    #: namespace for the pickle trust check (``kubeline.materializers.trust``).
    home_namespace: str | None = None

    # ------------------------------------------------------------------ setup
    @classmethod
    def connect(cls, namespace: str | None = None, context: str | None = None) -> Kube:
        """Connect using in-cluster config or the kubeconfig (``KUBECONFIG``, current context)."""
        from kubernetes import client, config

        no_access = step_without_api_access()
        if no_access:
            raise ClusterUnreachableError(no_access)
        try:
            if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(_IN_CLUSTER_NS):
                config.load_incluster_config()
                cfg = client.Configuration.get_default_copy()
                with open(_IN_CLUSTER_NS) as f:
                    default_ns = f.read().strip()
            else:
                cfg = client.Configuration()
                # Read KUBECONFIG now: the kubernetes package reads it once, at import.
                kubeconfig = os.environ.get("KUBECONFIG") or None
                config.load_kube_config(config_file=kubeconfig, context=context,
                                        client_configuration=cfg)
                contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
                if context:
                    active = next((c for c in contexts if c["name"] == context), active)
                default_ns = (active or {}).get("context", {}).get("namespace") or "default"
        except config.ConfigException as exc:
            raise ClusterUnreachableError(
                f"no Kubernetes cluster configured ({exc}). Start one with `kubeline dev up` "
                "and `export KUBECONFIG=...` as it prints, or point KUBECONFIG at your cluster."
            ) from None
        cfg.retries = 2
        api = client.ApiClient(cfg)
        home = os.environ.get(ENV_NAMESPACE) or default_ns
        return cls(namespace=namespace or home, context=context, api_client=api,
                   home_namespace=home)

    @property
    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    # ------------------------------------------------------------------ calls
    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        self.requests += 1
        kwargs.setdefault("_request_timeout", 30)
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            raise translate_api_error(exc, what) from None
        except (HTTPError, OSError) as exc:
            host = getattr(self.api_client.configuration, "host", "?")
            raise ClusterUnreachableError(
                f"cannot reach the Kubernetes API server at {host} ({exc.__class__.__name__}). "
                "Is the cluster up? (`kubeline dev status`)"
            ) from None

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self._call(
            f"{plural}/{name}", self.custom.get_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, name,
        )

    def list(
        self, plural: str, label_selector: str | None = None, limit: int | None = None,
        continue_token: str | None = None, field_selector: str | None = None,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        """One list call; ``metadata_only``: the items' metadata only (no spec or status)."""
        kw: dict[str, Any] = {"_headers": {"Accept": METADATA_ONLY}} if metadata_only else {}
        if label_selector:
            kw["label_selector"] = label_selector
        if field_selector:
            kw["field_selector"] = field_selector
        if limit:
            kw["limit"] = limit
        if continue_token:
            kw["_continue"] = continue_token
        return self._call(
            plural, self.custom.list_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, **kw,
        )

    def iter(self, plural: str, label_selector: str | None = None, page_size: int = 500,
             metadata_only: bool = False) -> Iterator[dict[str, Any]]:
        """All objects, fetched page by page with ``limit``/``continue``."""
        token: str | None = None
        while True:
            page = self.list(plural, label_selector, limit=page_size, continue_token=token,
                             metadata_only=metadata_only)
            yield from page.get("items", [])
            token = page.get("metadata", {}).get("continue")
            if not token:
                return

    def count(self, plural: str, label_selector: str | None = None, page_size: int = 500
              ) -> int:
        """How many objects match ``label_selector``: metadata-only pages (the API server
        sends no spec or status), ``limit``/``continue``. The API server gives no count of a
        label-selected list, so this reads every matching object's metadata."""
        return sum(1 for _ in self.iter(plural, label_selector, page_size, metadata_only=True))

    def watch(
        self, plural: str, name: str, resource_version: str | None = None,
        timeout_seconds: int = 60,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events ``(type, object)`` for one object, until the server ends the watch.

        Counts as one request. ``timeout_seconds`` bounds the server side; the
        client side gets a little more so a stalled watch cannot hang forever.
        """
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        self.requests += 1
        kw: dict[str, Any] = {
            "field_selector": f"metadata.name={name}",
            "timeout_seconds": timeout_seconds,
            "_request_timeout": timeout_seconds + 10,
        }
        if resource_version:
            kw["resource_version"] = resource_version
        stream = watch.Watch().stream(
            self.custom.list_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, **kw,
        )
        try:
            for event in stream:
                obj = event.get("object")
                if event.get("type") == "ERROR":
                    code = (obj or {}).get("code") if isinstance(obj, dict) else None
                    raise KubelineError(f"watch of {plural}/{name} ended: {code} {obj}")
                yield event["type"], obj
        except ApiException as exc:
            raise translate_api_error(exc, f"{plural}/{name}") from None

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("apiVersion", f"{GROUP}/{VERSION}")
        return self._call(
            f"{plural}/{body.get('metadata', {}).get('name', '?')}",
            self.custom.create_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, body,
        )

    def patch(self, plural: str, name: str, body: dict[str, Any],
              field_manager: str | None = None) -> dict[str, Any]:
        """JSON merge patch (``metadata.resourceVersion`` in ``body`` makes it conditional)."""
        kw = {"field_manager": field_manager} if field_manager else {}
        return self._call(
            f"{plural}/{name}", self.custom.patch_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, name, body, **kw,
        )

    def whoami(self) -> str | None:
        """The user name the API server authenticates these credentials as (a
        SelfSubjectReview), or None when it cannot tell."""
        from kubernetes import client

        try:
            review = self._call("selfsubjectreviews",
                                client.AuthenticationV1Api(self.api_client)
                                .create_self_subject_review,
                                {"apiVersion": "authentication.k8s.io/v1",
                                 "kind": "SelfSubjectReview"})
        except KubelineError:
            return None
        info = getattr(getattr(review, "status", None), "user_info", None)
        return getattr(info, "username", None)

    def delete(self, plural: str, name: str) -> dict[str, Any]:
        return self._call(
            f"{plural}/{name}", self.custom.delete_namespaced_custom_object,
            GROUP, VERSION, self.namespace, plural, name,
        )

    def create_or_get(self, plural: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``body``; if an object of that name exists, return it. Returns (obj, created)."""
        try:
            return self.create(plural, body), True
        except AlreadyExistsError:
            return self.get(plural, body["metadata"]["name"]), False

    def pod_logs(self, pod: str, tail_lines: int | None = None) -> str:
        kw: dict[str, Any] = {}
        if tail_lines:
            kw["tail_lines"] = tail_lines
        return self._call(f"pods/{pod}", self.core.read_namespaced_pod_log, pod,
                          self.namespace, **kw)

    def read_secret(self, name: str) -> dict[str, str]:
        import base64

        secret = self._call(f"secrets/{name}", self.core.read_namespaced_secret, name,
                            self.namespace)
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def step_without_api_access() -> str | None:
    """In a step Pod without an API token: the message saying so and what grants access."""
    access = os.environ.get(ENV_API_ACCESS)
    in_step = access is not None or bool(os.environ.get(ENV_INVOCATION))
    if not in_step or (access != "none" and os.path.exists(f"{SERVICE_ACCOUNT_DIR}/token")):
        return None
    why = ("the chart's steps.apiAccess is none" if access == "none"
           else "the step Pod has no ServiceAccount token")
    return (f"this step has no access to the Kubernetes API ({why}), so the Client cannot run "
            "inside it: install or upgrade the chart with --set steps.apiAccess=read to let "
            "steps read pipelines, runs and artifacts of their own namespace")


def _step_hint() -> str:
    """For a refusal inside a step Pod: what its ServiceAccount may do, and the chart value."""
    access = os.environ.get(ENV_API_ACCESS)
    if access is None:
        return ""
    return (f" (this step Pod's API access is {access!r}: steps may get/list/watch kubeline.dev "
            "objects of their own namespace when it is one of the chart's stepNamespaces; "
            "creating runs needs steps.allowTriggeringRuns=true; Secrets and Pods are never "
            "granted)")


def translate_api_error(exc: Any, what: str) -> KubelineError:
    """Turn a kubernetes ApiException into a specific, readable error."""
    import json

    message = exc.reason or ""
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        message = json.loads(exc.body).get("message", message)
    if exc.status == 404:
        if "the server could not find the requested resource" in message:
            return NotFoundError(
                f"{what}: the kubeline.dev CRDs are not installed in this cluster "
                "(install them: kubectl apply --server-side -f crds/, "
                "or helm install kubeline charts/kubeline)"
            )
        return NotFoundError(f"{what} not found")
    if exc.status == 409:
        return AlreadyExistsError(f"{what}: {message}")
    if exc.status == 401:
        return UnauthenticatedError(f"unauthenticated on {what}: {message or 'Unauthorized'}")
    if exc.status == 403:
        return PermissionDeniedError(f"permission denied on {what}: {message}{_step_hint()}")
    if exc.status == 422:
        return KubelineError(f"{what} rejected by the API server: {message}")
    return KubelineError(f"{what}: API error {exc.status}: {message}")
