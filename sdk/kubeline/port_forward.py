"""A local TCP port tunnelled to a Service's Pod through the API server (as `kubectl port-forward`).

The SDK uses it to reach an in-cluster S3 server (the chart's embedded store) from
outside the cluster: the S3 Secret names the Service (key ``inClusterService``,
``<namespace>/<service>:<port>``), and the client talks to ``http://127.0.0.1:<local>``.
Each accepted connection gets its own port-forward stream to a Ready Pod behind the
Service; the Pod is looked up again when a stream cannot be opened (the Pod was replaced).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

from kubeline.errors import ArtifactStoreError

log = logging.getLogger("kubeline")

_lock = threading.Lock()
_tunnels: dict[tuple[str, str, str, int], PortForward] = {}


@dataclass(frozen=True)
class ServiceRef:
    """``<namespace>/<service>:<port>`` as written in the S3 Secret."""

    namespace: str
    name: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ServiceRef:
        ns, _, rest = text.strip().partition("/")
        name, _, port = rest.partition(":")
        if not ns or not name or not port.isdigit():
            raise ArtifactStoreError(
                f"inClusterService {text!r} in the S3 Secret is not <namespace>/<service>:<port>")
        return cls(ns, name, int(port))

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"


def _ready(pod: Any) -> bool:
    conditions = (pod.status and pod.status.conditions) or []
    return (pod.metadata.deletion_timestamp is None and pod.status.phase == "Running"
            and any(c.type == "Ready" and c.status == "True" for c in conditions))


class PortForward:
    """Listens on 127.0.0.1 and forwards every connection to the Service's Pod."""

    def __init__(self, api_client: Any, service: ServiceRef) -> None:
        self.api_client = api_client
        self.service = service
        self._target: tuple[str, int] | None = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name=f"kubeline port-forward {service}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PortForward:
        """Check that a Ready Pod serves the Service, then accept connections."""
        self._target = self._resolve()
        self._thread.start()
        log.info("port-forwarding %s to %s (pod %s)", self.endpoint, self.service,
                 self._target[0])
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    # ------------------------------------------------------------------ internals
    def _resolve(self) -> tuple[str, int]:
        """A Ready Pod behind the Service and the container port the Service targets."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        core = client.CoreV1Api(self.api_client)
        svc_ref = self.service
        try:
            svc: Any = core.read_namespaced_service(svc_ref.name, svc_ref.namespace,
                                               _request_timeout=30)
            port = next((p for p in svc.spec.ports or [] if p.port == svc_ref.port), None)
            if port is None or not svc.spec.selector:
                raise ArtifactStoreError(
                    f"Service {svc_ref} has no port {svc_ref.port} or no selector")
            selector = ",".join(f"{k}={v}" for k, v in sorted(svc.spec.selector.items()))
            pods: list[Any] = core.list_namespaced_pod(svc_ref.namespace, label_selector=selector,
                                            _request_timeout=30).items
        except ApiException as exc:
            raise ArtifactStoreError(
                f"cannot reach the in-cluster S3 server {svc_ref} from here: API error "
                f"{exc.status} {exc.reason}. The SDK needs get on services and list on pods "
                f"and create on pods/portforward in namespace {svc_ref.namespace}; or set "
                "KUBELINE_S3_ENDPOINT (and the other KUBELINE_S3_* variables) to reach it "
                "another way") from None
        pod = next((p for p in pods if _ready(p)), None)
        if pod is None:
            raise ArtifactStoreError(
                f"the in-cluster S3 server {svc_ref} has no Ready Pod (of {len(pods)}); "
                f"check `kubectl -n {svc_ref.namespace} get pods -l {selector}`")
        target = port.target_port if port.target_port is not None else port.port
        if isinstance(target, str) and not target.isdigit():
            named = [cp.container_port for c in pod.spec.containers for cp in c.ports or []
                     if cp.name == target]
            if not named:
                raise ArtifactStoreError(f"Pod {pod.metadata.name} has no port named {target}")
            target = named[0]
        return pod.metadata.name, int(target)

    def _open_stream(self) -> Any:
        """A socket connected to the Pod's port through a new port-forward stream."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import portforward

        core = client.CoreV1Api(self.api_client)
        for attempt in (1, 2):
            assert self._target is not None
            pod, port = self._target
            try:
                pf = portforward(core.connect_get_namespaced_pod_portforward, pod,
                                 self.service.namespace, ports=str(port))
                return pf, pf.socket(port)
            except (ApiException, OSError) as exc:
                if attempt == 2:
                    raise ArtifactStoreError(
                        f"port-forward to {self.service.namespace}/{pod}:{port} failed: "
                        f"{exc}") from None
                self._target = self._resolve()  # the Pod may have been replaced
        raise AssertionError("unreachable")

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name=f"kubeline port-forward {self.service} conn").start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            pf, remote = self._open_stream()
        except ArtifactStoreError as exc:
            log.warning("%s", exc)
            conn.close()
            return
        back = threading.Thread(target=_pump, args=(remote, conn), daemon=True)
        back.start()
        _pump(conn, remote)
        back.join()
        for end in (pf, remote, conn):
            with contextlib.suppress(OSError):
                end.close()


def _pump(src: Any, dst: Any) -> None:
    """Copy bytes from ``src`` to ``dst`` until ``src`` ends, then end ``dst``'s writes."""
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def tunnel(api_client: Any, service: ServiceRef) -> PortForward:
    """The process-wide tunnel to ``service`` through this API server, started on first use."""
    host = str(getattr(api_client.configuration, "host", ""))
    key = (host, service.namespace, service.name, service.port)
    with _lock:
        existing = _tunnels.get(key)
        if existing is None or existing._closed.is_set():
            existing = _tunnels[key] = PortForward(api_client, service).start()
        return existing


@atexit.register
def close_all() -> None:
    """Stop every tunnel (at exit; tests call it to clean up)."""
    with _lock:
        for t in _tunnels.values():
            t.close()
        _tunnels.clear()
