"""Rate-limited, counted Kubernetes API calls for the operator (thin I/O).

The official client is synchronous; calls run in a small thread pool so the
kopf event loop never blocks, and each call first takes a token from the
client-side bucket (``KUBELINE_API_QPS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubeline.resources.names import GROUP, VERSION

from kubeline_operator.ratelimit import TokenBucket


class Conflict(Exception):
    """HTTP 409: the object changed (resourceVersion mismatch) or already exists."""


class Gone(Exception):
    """HTTP 404: the object does not exist."""


def _drained(result: Any) -> Any:
    """Read a raw (``_preload_content=False``) response to the end so its connection
    returns to the pool; other results pass through."""
    if hasattr(result, "release_conn") and hasattr(result, "data"):
        _ = result.data
        result.release_conn()
        return None
    return result


class OperatorApi:
    """The few API operations the operator needs, each one request."""

    def __init__(self, qps: float, burst: int, threads: int = 8, event_qps: float = 10.0
                 ) -> None:
        import os

        from kubernetes import client, config

        cfg = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException:
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None,
                                    client_configuration=cfg)
        cfg.connection_pool_maxsize = max(threads * 2, 16)
        self.client = client.ApiClient(cfg)
        self.custom = client.CustomObjectsApi(self.client)
        self.core = client.CoreV1Api(self.client)
        self.bucket = TokenBucket(qps, burst)
        # Events are best effort and have their own budget: a burst of them never delays
        # the Pod creations and status writes that move runs forward.
        self.event_bucket = TokenBucket(event_qps, max(int(event_qps * 2), 1))
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kubeline-api")
        self.requests = 0

    async def _call(self, fn: Any, *args: Any, bucket: TokenBucket | None = None,
                    **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        await (bucket or self.bucket).acquire()
        self.requests += 1
        kwargs.setdefault("_request_timeout", 30)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, lambda: _drained(fn(*args, **kwargs)))
        except ApiException as exc:
            if exc.status == 409:
                raise Conflict(str(exc.reason)) from None
            if exc.status == 404:
                raise Gone(str(exc.reason)) from None
            raise

    # ------------------------------------------------------------- custom objects
    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self.custom.get_namespaced_custom_object,
                                GROUP, VERSION, namespace, plural, name)

    async def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("apiVersion", f"{GROUP}/{VERSION}")
        return await self._call(self.custom.create_namespaced_custom_object,
                                GROUP, VERSION, namespace, plural, body)

    async def list_runs(self, namespace: str | None, token: str | None, limit: int = 500
                        ) -> dict[str, Any]:
        """One page of PipelineRuns (a namespace, or all with None)."""
        kwargs: dict[str, Any] = {"limit": limit, "_request_timeout": 120}
        if token:
            kwargs["_continue"] = token
        if namespace is None:
            return await self._call(self.custom.list_cluster_custom_object, GROUP, VERSION,
                                    "pipelineruns", **kwargs)
        return await self._call(self.custom.list_namespaced_custom_object, GROUP, VERSION,
                                namespace, "pipelineruns", **kwargs)

    async def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
        return await self._call(self.custom.patch_namespaced_custom_object,
                                GROUP, VERSION, namespace, plural, name, body)

    async def patch_status(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                           ) -> dict[str, Any]:
        """Merge-patch the status subresource; include metadata.resourceVersion to be safe."""
        return await self._call(self.custom.patch_namespaced_custom_object_status,
                                GROUP, VERSION, namespace, plural, name, body)

    async def delete(self, plural: str, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            await self._call(self.custom.delete_namespaced_custom_object,
                             GROUP, VERSION, namespace, plural, name)

    # ------------------------------------------------------------- pods and events
    async def create_pod(self, namespace: str, body: dict[str, Any]) -> bool:
        """Create a Pod; False when one of that name exists already (idempotent)."""
        try:
            # The response is not needed: skip deserializing a whole V1Pod.
            await self._call(self.core.create_namespaced_pod, namespace, body,
                             _preload_content=False)
            return True
        except Conflict:
            return False

    async def delete_pod(self, namespace: str, name: str) -> None:
        with contextlib.suppress(Gone):
            await self._call(self.core.delete_namespaced_pod, name, namespace,
                             propagation_policy="Background", _preload_content=False)

    async def post_event(self, involved: dict[str, Any], type_: str, reason: str,
                         message: str, now_rfc3339: str) -> None:
        meta = involved.get("metadata") or {}
        name = f"{meta.get('name', 'x')[:200]}.{uuid.uuid4().hex[:12]}"
        body = {
            "metadata": {"name": name, "namespace": meta.get("namespace")},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion", f"{GROUP}/{VERSION}"),
                "kind": involved.get("kind", "PipelineRun"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "firstTimestamp": now_rfc3339,
            "lastTimestamp": now_rfc3339,
            "count": 1,
            "source": {"component": "kubeline-operator"},
            "reportingComponent": "kubeline.dev/operator",
        }
        await self._call(self.core.create_namespaced_event, meta.get("namespace"), body,
                         bucket=self.event_bucket, _preload_content=False)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
