"""The artifact store: S3 through s3fs (or a local folder in tests).

Configuration (see docs/contracts.md): environment variables ``KUBELINE_S3_*``
and ``AWS_*`` first; outside a Pod, the chart's Secret ``kubeline-s3`` in the
current namespace as a fallback. A bucket containing ``{namespace}`` names one bucket per
namespace (``layout.namespace_bucket``; docs/security.md): the settings are resolved for
the namespace in use, and ``default_store`` keeps one store per namespace. When that
Secret names an in-cluster Service (key ``inClusterService``: the chart's embedded store)
and this process runs outside the cluster, the store is reached through a port-forward
(``kubeline.port_forward``). Listing caches are disabled: other processes (step
Pods) write the same bucket. The step runtime's store is *direct*
(``from_settings(direct=True)``): objects up to ``DIRECT_MAX_BYTES`` are read and written
with plain signed requests (``kubeline.s3_direct``), and s3fs is imported only when
something larger, or user code through ``store.fs``, needs it.

Layout: ``kubeline.resources.layout`` builds every URI; an attempt writes only
under its own prefix and its ``manifest.json`` last, so a partial write never
looks like a saved artifact.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass, replace
from typing import Any

from kubeline.errors import ArtifactStoreError
from kubeline.resources import layout
from kubeline.resources.names import (
    ENV_AWS_ACCESS_KEY_ID,
    ENV_AWS_SECRET_ACCESS_KEY,
    ENV_S3_BUCKET,
    ENV_S3_ENDPOINT,
    ENV_S3_REGION,
    S3_SECRET,
    S3_SECRET_KEY_IN_CLUSTER_SERVICE,
)

SECRET_NAME = S3_SECRET
#: The step's own log (stdout and stderr), saved beside an attempt's outputs when it ends.
STEP_LOG = layout.STEP_LOG
#: Objects up to this size go through ``kubeline.s3_direct`` on a direct store (one request
#: each, in memory); larger ones stream through s3fs.
DIRECT_MAX_BYTES = 8 * 1024 * 1024
_lock = threading.Lock()
_default: ArtifactStore | None = None
_by_namespace: dict[str | None, ArtifactStore] = {}


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to authenticate."""

    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    #: ``<namespace>/<service>:<port>`` of an in-cluster S3 server (Secret key inClusterService).
    in_cluster_service: str | None = None

    @property
    def per_namespace(self) -> bool:
        """Whether the bucket is still a ``{namespace}`` pattern (see ``for_namespace``)."""
        return layout.NAMESPACE_PLACEHOLDER in self.bucket

    def for_namespace(self, namespace: str) -> S3Settings:
        """These settings with the bucket of ``namespace`` (``layout.namespace_bucket``)."""
        try:
            bucket = layout.namespace_bucket(self.bucket, namespace)
        except ValueError as exc:
            raise ArtifactStoreError(str(exc)) from None
        return self if bucket == self.bucket else replace(self, bucket=bucket)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Settings | None:
        """``KUBELINE_S3_*`` and ``AWS_*`` (a ``{namespace}`` bucket stays unresolved)."""
        env = dict(os.environ if env is None else env)
        bucket = env.get(ENV_S3_BUCKET)
        if not bucket:
            return None
        return cls(
            bucket=bucket, endpoint=env.get(ENV_S3_ENDPOINT) or None,
            region=env.get(ENV_S3_REGION) or "us-east-1",
            access_key=env.get(ENV_AWS_ACCESS_KEY_ID) or None,
            secret_key=env.get(ENV_AWS_SECRET_ACCESS_KEY) or None,
        )

    @classmethod
    def from_secret(cls, data: dict[str, str]) -> S3Settings:
        if not data.get("bucket"):
            raise ArtifactStoreError(
                f"Secret {SECRET_NAME} has no 'bucket' key; reinstall the chart with s3.bucket set"
            )
        return cls(
            bucket=data["bucket"], endpoint=data.get("endpoint") or None,
            region=data.get("region") or "us-east-1",
            access_key=data.get("accessKeyId") or None,
            secret_key=data.get("secretAccessKey") or None,
            in_cluster_service=data.get(S3_SECRET_KEY_IN_CLUSTER_SERVICE) or None,
        )

    @classmethod
    def resolve(cls, kube: Any = None) -> S3Settings:
        """The environment, else the ``kubeline-s3`` Secret via ``kube`` (or a new connection)."""
        settings = cls.from_env()
        if settings is not None:
            if not settings.per_namespace:
                return settings
            if kube is None:
                from kubeline.kube import Kube

                kube = Kube.connect()
            return settings.for_namespace(kube.namespace)
        if kube is None:
            from kubeline.kube import Kube

            kube = Kube.connect()
        from kubeline.errors import KubelineError

        try:
            settings = cls.from_secret(kube.read_secret(SECRET_NAME)).for_namespace(
                kube.namespace)
        except KubelineError as exc:
            raise ArtifactStoreError(
                "no artifact store configured: set KUBELINE_S3_BUCKET (and KUBELINE_S3_ENDPOINT, "
                f"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or install the chart so the Secret "
                f"{SECRET_NAME} exists in namespace {kube.namespace} ({exc})"
            ) from None
        return settings.reachable_from_here(kube)

    def reachable_from_here(self, kube: Any) -> S3Settings:
        """These settings, with the endpoint replaced by a local port-forward when they name
        an in-cluster Service and this process runs outside the cluster."""
        if not self.in_cluster_service or os.environ.get("KUBERNETES_SERVICE_HOST"):
            return self
        from kubeline.port_forward import ServiceRef, tunnel

        forward = tunnel(kube.api_client, ServiceRef.parse(self.in_cluster_service))
        return replace(self, endpoint=forward.endpoint)


def _s3fs(settings: S3Settings) -> Any:
    """An s3fs filesystem with these credentials (listing caches off)."""
    import s3fs

    client_kwargs: dict[str, Any] = {"region_name": settings.region}
    if settings.endpoint:
        client_kwargs["endpoint_url"] = settings.endpoint
    return s3fs.S3FileSystem(
        key=settings.access_key, secret=settings.secret_key,
        anon=False, client_kwargs=client_kwargs,
        use_listings_cache=False, skip_instance_cache=True,
    )


class ArtifactStore:
    """A filesystem (s3fs or local) plus the bucket/root under which Kubeline writes."""

    def __init__(self, fs: Any, root: str, settings: S3Settings | None = None,
                 direct: Any = None) -> None:
        self._fs = fs
        self._fs_lock = threading.Lock()
        self.root = root.rstrip("/")
        self.settings = settings
        #: ``kubeline.s3_direct.S3Direct`` for small objects, or None (everything via ``fs``).
        self.direct = direct

    @classmethod
    def from_settings(cls, settings: S3Settings, direct: bool = False) -> ArtifactStore:
        """A store with these credentials; with a ``{namespace}`` bucket still unresolved
        (the operator's) it reads and writes by full URI only.

        ``direct`` (the step runtime): small objects go through ``kubeline.s3_direct`` when
        it can serve these settings, and s3fs is created only when something needs it."""
        root = layout.bucket_root(settings.bucket)
        if direct:
            from kubeline import s3_direct

            if s3_direct.usable(settings):
                return cls(None, root, settings, s3_direct.S3Direct.from_settings(settings))
        return cls(_s3fs(settings), root, settings)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (s3fs on S3), created on first use for a direct store."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    assert self.settings is not None
                    self._fs = _s3fs(self.settings)
        return self._fs

    @classmethod
    def local(cls, root: str) -> ArtifactStore:
        """A store over a local folder (tests, debugging)."""
        from fsspec.implementations.local import LocalFileSystem

        os.makedirs(root, exist_ok=True)
        return cls(LocalFileSystem(auto_mkdir=True), os.path.abspath(root))

    # ------------------------------------------------------------------ paths
    def uri(self, *parts: str) -> str:
        """Join ``parts`` under the store's root."""
        return layout.join(self.root, *parts)

    def code_uri(self, sha256: str) -> str:
        """``layout.code_uri`` under this store's root."""
        return layout.code_uri(self.root, sha256)

    def attempt_uri(self, namespace: str, pipeline: str, run: str, step: str,
                    attempt: int) -> str:
        """``layout.attempt_uri`` under this store's root."""
        return layout.attempt_uri(self.root, namespace, pipeline, run, step, attempt)

    def step_log_uri(self, namespace: str, pipeline: str, run: str, step: str,
                     attempt: int) -> str:
        """Where an attempt's log is kept after its Pod is gone (docs/contracts.md)."""
        return layout.step_log_uri(self.attempt_uri(namespace, pipeline, run, step, attempt))

    # ------------------------------------------------------------------ I/O
    def _call(self, what: str, uri: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise ArtifactStoreError(f"{what} {uri} failed: {exc}") from exc

    def open(self, uri: str, mode: str = "rb", **kwargs: Any) -> Any:
        if self.direct is not None and not kwargs and mode in ("rb", "wb"):
            if mode == "wb":
                return self._small_writer(uri, lambda: self.fs.open(uri, "wb"))
            size = self._call("sizing", uri, self.direct.size, uri)
            if size <= DIRECT_MAX_BYTES:
                return io.BytesIO(self._call("reading", uri, self.direct.get, uri))
        return self._call("opening", uri, self.fs.open, uri, mode, **kwargs)

    def _small_writer(self, uri: str, overflow: Any) -> Any:
        from kubeline.s3_direct import SmallObjectWriter

        return SmallObjectWriter(self.direct, uri, DIRECT_MAX_BYTES, overflow)

    def open_writer(self, uri: str, part_size: int | None = None,
                    max_in_flight: int | None = None) -> Any:
        """A write-only file for ``uri`` that appears complete or not at all.

        On S3 it streams concurrent multipart parts from a small buffer pool (see
        ``kubeline.s3_stream``); elsewhere it is the filesystem's own file.
        """
        def part_writer() -> Any:
            from kubeline import s3_stream

            return s3_stream.S3PartWriter(self.fs, uri, part_size or s3_stream.PART_SIZE,
                                          max_in_flight or s3_stream.MAX_IN_FLIGHT)

        if self.direct is not None:
            return self._small_writer(uri, part_writer)
        from kubeline import s3_stream

        if not s3_stream.is_s3(self.fs):
            return self.open(uri, "wb")
        return part_writer()

    def read_range(self, uri: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive; clipped at the end of the file)."""
        if self.direct is not None:
            return self._call("reading", uri, self.direct.get, uri, start, end)
        return self._call("reading", uri, self.fs.cat_file, uri, start=start, end=end)

    def read_into(self, uri: str, target: Any, offset: int = 0) -> None:
        """Fill the writable buffer ``target`` with the file's bytes from ``offset`` on.

        On S3: concurrent ranged GETs written straight into ``target``.
        """
        view = memoryview(target).cast("B")
        if self.direct is not None and view.nbytes <= DIRECT_MAX_BYTES:
            data = self.read_range(uri, offset, offset + view.nbytes)
            if len(data) != view.nbytes:
                raise ArtifactStoreError(
                    f"{uri} is truncated: expected {offset + view.nbytes} bytes, "
                    f"got {offset + len(data)}")
            view[:] = data
            return
        from kubeline import s3_stream

        if s3_stream.is_s3(self.fs):
            s3_stream.read_into(self.fs, uri, target, offset)
            return
        with self.open(uri, "rb") as f:
            f.seek(offset)
            pos = 0
            while pos < view.nbytes:
                n = f.readinto(view[pos:])
                if not n:
                    raise ArtifactStoreError(
                        f"{uri} is truncated: expected {offset + view.nbytes} bytes, "
                        f"got {offset + pos}")
                pos += n

    def exists(self, uri: str) -> bool:
        if self.direct is not None:
            return bool(self._call("checking", uri, self.direct.exists, uri))
        return bool(self._call("checking", uri, self.fs.exists, uri))

    def read_bytes(self, uri: str) -> bytes:
        if self.direct is not None:
            return self._call("reading", uri, self.direct.get, uri)
        return self._call("reading", uri, self.fs.cat_file, uri)

    def write_bytes(self, uri: str, data: bytes) -> None:
        if self.direct is not None and len(data) <= DIRECT_MAX_BYTES:
            self._call("writing", uri, self.direct.put, uri, data)
            return
        self._call("writing", uri, self.fs.pipe_file, uri, data)

    def put_file(self, local: str, uri: str) -> None:
        if self.direct is not None and os.path.getsize(local) <= DIRECT_MAX_BYTES:
            with open(local, "rb") as fh:
                self._call("uploading to", uri, self.direct.put, uri, fh.read())
            return
        self._call("uploading to", uri, self.fs.put_file, local, uri)

    def get_file(self, uri: str, local: str) -> None:
        if self.direct is not None and self.size(uri) <= DIRECT_MAX_BYTES:
            data = self._call("downloading", uri, self.direct.get, uri)
            with open(local, "wb") as fh:
                fh.write(data)
            return
        self._call("downloading", uri, self.fs.get_file, uri, local)

    def find(self, uri: str) -> list[str]:
        if self.direct is not None:
            return list(self._call("listing", uri, self.direct.find, uri))
        return list(self._call("listing", uri, self.fs.find, uri))

    def size(self, uri: str) -> int:
        if self.direct is not None:
            return int(self._call("sizing", uri, self.direct.size, uri))
        return int(self._call("sizing", uri, self.fs.size, uri))

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (dev setups)."""
        if self.settings is None:
            return
        if not self.fs.exists(self.root):
            self._call("creating bucket", self.root, self.fs.mkdir, self.root)


def set_default_store(store: ArtifactStore | None) -> None:
    """Use ``store`` for all artifact I/O in this process (runtime, tests); ``None`` forgets
    it and every store configured so far."""
    global _default
    with _lock:
        _default = store
        _by_namespace.clear()


def default_store(kube: Any = None) -> ArtifactStore:
    """The store set with ``set_default_store``, else the one of ``kube``'s namespace (its
    credentials and bucket), configured from the environment or the Secret on first use."""
    with _lock:
        if _default is not None:
            return _default
        key = getattr(kube, "namespace", None)
        store = _by_namespace.get(key)
        if store is None:
            store = _by_namespace[key] = ArtifactStore.from_settings(S3Settings.resolve(kube))
        return store
