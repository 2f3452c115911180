"""Kubernetes watches and log follows as async iterators (for server-sent events).

The SDK's Kubernetes client is synchronous: each stream reads in a thread and hands
items to the event loop. Closing the iterator (the browser went away) closes the HTTP
response, which ends the thread's read at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from kubeline.errors import KubelineError
from kubeline.kube import Kube, translate_api_error
from kubeline.resources.names import GROUP, VERSION

_END = object()


class ApiStream:
    """One streaming response of the API server, read in a thread, closable from the loop."""

    def __init__(self, opener: Callable[[], Any]) -> None:
        self._opener = opener
        self._response: Any = None
        self._closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop already ended (server stopped)
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def read() -> None:
            from kubernetes.client.exceptions import ApiException

            response = None
            try:
                response = self._response = self._opener()
                if self._closed:
                    return
                for chunk in response.stream(65536, decode_content=True):
                    if chunk:
                        put(chunk)
            except ApiException as exc:
                put(translate_api_error(exc, "stream"))
            except Exception as exc:  # a shut-down socket ends the read with some error
                if not self._closed:
                    put(KubelineError(f"stream ended: {exc.__class__.__name__}: {exc}"))
            finally:
                if response is not None:  # closed here, by the reading thread (see close()):
                    with contextlib.suppress(Exception):  # its connection is not reused
                        response.close()
                put(_END)

        thread = threading.Thread(target=read, name="kubeline-ui-stream", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the stream without blocking the event loop.

        Closing the response here would wait for the reading thread's buffer lock, i.e. for
        the API server's next bytes (a quiet watch: minutes), freezing every request. A
        socket shutdown instead ends the thread's blocked read at once; that thread then
        closes the response itself.
        """
        self._closed = True
        response = self._response
        if response is None:
            return
        shutdown = getattr(response, "shutdown", None)  # urllib3 >= 2.3
        if shutdown is not None:
            with contextlib.suppress(Exception):
                shutdown()
                return
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


async def lines(stream: ApiStream) -> AsyncIterator[bytes]:
    """Whole lines of a stream (a watch sends one JSON event per line)."""
    buffer = b""
    async for chunk in stream.chunks():
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


def watch_stream(kube: Kube, plural: str, resource_version: str | None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 timeout_seconds: int = 300) -> ApiStream:
    """A watch of ``plural`` in the Client's namespace, with bookmarks."""
    kw: dict[str, Any] = {"watch": True, "timeout_seconds": timeout_seconds,
                          "allow_watch_bookmarks": True, "_preload_content": False,
                          "_request_timeout": (10, timeout_seconds + 30)}
    if resource_version:
        kw["resource_version"] = resource_version
    if label_selector:
        kw["label_selector"] = label_selector
    if field_selector:
        kw["field_selector"] = field_selector
    kube.requests += 1
    return ApiStream(lambda: kube.custom.list_namespaced_custom_object(
        GROUP, VERSION, kube.namespace, plural, **kw))


async def watch_events(kube: Kube, plural: str, resource_version: str | None,
                       **selectors: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """``(type, object)`` events; ``ERROR`` (e.g. 410 Gone) raises ``WatchExpired``."""
    stream = watch_stream(kube, plural, resource_version, **selectors)
    async for line in lines(stream):
        event = json.loads(line)
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            raise WatchExpired(f"watch of {plural} ended: {obj.get('code')} {obj.get('message')}")
        yield kind, obj


class WatchExpired(KubelineError):
    """The watch's resourceVersion is too old (HTTP 410): list again and resume."""


def pod_log_stream(kube: Kube, pod: str, follow: bool = True,
                   container: str | None = None) -> ApiStream:
    """A Pod's log, followed while the container runs."""
    kw: dict[str, Any] = {"follow": follow, "_preload_content": False,
                          "_request_timeout": (10, 3600)}
    if container:
        kw["container"] = container
    kube.requests += 1
    return ApiStream(lambda: kube.core.read_namespaced_pod_log(pod, kube.namespace, **kw))
