"""``BaseMaterializer``: save/load one value under a URI, with content hash and metadata."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from kubeline.artifact_store import ArtifactStore, default_store
from kubeline.materializers.trust import LoadOrigin
from kubeline.materializers.verify import file_digest, stored_files
from kubeline.resources.layout import visualization_uri


class HashingWriter:
    """A write-only file wrapper feeding every byte into a sha256 (no extra copies)."""

    def __init__(self, raw: Any, on_close: Any) -> None:
        self._raw = raw
        self._on_close = on_close
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._sha.update(view)
        self._raw.write(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._raw.flush()

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def close(self) -> None:
        if not self._raw.closed:
            self._raw.close()
            self._on_close(self._sha.hexdigest(), self.size)

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:  # do not commit a half-written file
            discard = getattr(self._raw, "discard", None)
            if callable(discard):
                discard()
            else:
                self._raw.close()


class BaseMaterializer:
    """Subclass, set ``ASSOCIATED_TYPES`` and implement ``save``/``load``.

    Write files with ``self.open(name, "wb")`` (hashed: they make up the
    content hash and ``storage_size``); write visualizations with
    ``self.save_visualization(name, bytes, type)``.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    #: ZenML's artifact kind of what this materializer saves (``kubeline.enums.ArtifactType``).
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[str] = "BaseArtifact"
    #: ZenML's flag: the saved data is worth a cache lookup by content.
    SKIP_REGISTRATION: ClassVar[bool] = False
    # Built-ins name their types as strings so that nothing heavy is imported.
    ASSOCIATED_TYPE_PATHS: ClassVar[tuple[str, ...]] = ()
    #: Set by ``load_artifact_data`` once the stored files matched the recorded content
    #: hash; materializers that would unpickle refuse to unless it is set.
    verified: bool = False
    #: Set by ``load_artifact_data``: the namespaces the files come from and the caller's;
    #: materializers that would unpickle refuse a namespace the caller does not trust.
    origin: LoadOrigin | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("ASSOCIATED_TYPES"):
            from kubeline.materializers.registry import materializer_registry

            for tp in cls.ASSOCIATED_TYPES:
                materializer_registry.register_materializer_type(tp, cls)

    def __init__(self, uri: str, artifact_store: ArtifactStore | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.artifact_store = artifact_store or default_store()
        self._files: dict[str, tuple[str, int]] = {}
        self._listed = False
        self.visualizations: dict[str, str] = {}

    # ------------------------------------------------------------------ files
    def path(self, name: str) -> str:
        return f"{self.uri}/{name}"

    def open(self, name: str, mode: str = "rb", **kwargs: Any) -> Any:
        """Open a file of this artifact; writes are hashed and counted.

        ``"wb"`` streams through ``ArtifactStore.open_writer`` (on S3: concurrent multipart
        parts from a bounded buffer pool; kwargs ``part_size``, ``max_in_flight``).
        """
        if "w" not in mode:
            return self.artifact_store.open(self.path(name), mode, **kwargs)
        if mode == "wb" and set(kwargs) <= {"part_size", "max_in_flight"}:
            raw = self.artifact_store.open_writer(self.path(name), **kwargs)
        else:
            raw = self.artifact_store.open(self.path(name), mode, **kwargs)

        def done(digest: str, size: int) -> None:
            self._files[name] = (digest, size)

        return HashingWriter(raw, done)

    @property
    def storage_size(self) -> int:
        if not self._listed:
            self._track_unhashed_files()
        return sum(size for _, size in self._files.values())

    def content_hash(self) -> str:
        """sha256 over the names, digests and sizes of every file under the URI except
        ``visualizations/``, as the store holds them now (call it last, after
        ``save_visualizations``: loading recomputes it the same way)."""
        self._track_unhashed_files()
        sha = hashlib.sha256()
        for name in sorted(self._files):
            digest, size = self._files[name]
            sha.update(f"{name}\0{digest}\0{size}\n".encode())
        return sha.hexdigest()

    def _track_unhashed_files(self) -> None:
        """Bring the hashed files in line with what the store holds under the URI.

        Files written through ``self.open`` keep the digest taken while writing; any other
        file (ZenML style: ``fileio.open(os.path.join(self.uri, ...))``,
        ``self.artifact_store.open``, a visualization written beside the data) is read back
        and hashed once, and a file no longer stored is dropped. So the hash covers exactly
        the files a later load finds, however they were written."""
        self._listed = True
        try:
            found = stored_files(self.artifact_store, self.uri, missing_ok=False)
        except (FileNotFoundError, OSError, ValueError):
            return
        files = {}
        for rel, full in found:
            if rel not in self._files:
                self._files[rel] = file_digest(self.artifact_store, full)
            files[rel] = self._files[rel]
        self._files = files

    def allow_unpickling(self, what: str) -> None:
        """Refuse to unpickle ``what`` unless the files were verified against their hash and
        come from the caller's namespace or one it trusts (``kubeline.materializers.trust``)."""
        if not self.verified:
            from kubeline.errors import ArtifactIntegrityError

            raise ArtifactIntegrityError(
                f"{what} at {self.uri} would be unpickled (which runs code from the file), but "
                "the files were not verified against the artifact's recorded content hash: "
                "load it through its ArtifactVersion (Client().get_artifact_version(...).load())")
        if self.origin is not None:
            self.origin.require_trusted(what, self.uri)

    def get_temporary_directory(self, delete_at_exit: bool = True,
                                delete_after_step_execution: bool = True) -> Any:
        """A local temporary directory (a context manager yielding its path), removed on exit
        unless ``delete_at_exit`` is False; then, with ``delete_after_step_execution``, removed
        when the step that runs now ends (``kubeline.materializers.step_temp_folders``; outside
        a step it is the caller's)."""
        import contextlib
        import shutil
        import tempfile

        from kubeline.materializers.step_temp_folders import remove_after_step

        @contextlib.contextmanager
        def temporary() -> Any:
            path = tempfile.mkdtemp(prefix="kubeline-materializer-")
            if not delete_at_exit and delete_after_step_execution:
                remove_after_step(path)
            try:
                yield path
            finally:
                if delete_at_exit:
                    shutil.rmtree(path, ignore_errors=True)

        return temporary()

    def save_visualization(self, name: str, data: bytes, kind: str) -> str:
        uri = visualization_uri(self.uri, name)
        self.artifact_store.write_bytes(uri, data)
        self.visualizations[uri] = kind
        return uri

    # ------------------------------------------------------------------ API
    @classmethod
    def can_handle_type(cls, data_type: type) -> bool:
        from kubeline.materializers.registry import _mro_paths

        if cls.ASSOCIATED_TYPES and issubclass(data_type, cls.ASSOCIATED_TYPES):
            return True
        return bool(set(_mro_paths(data_type)) & set(cls.ASSOCIATED_TYPE_PATHS))

    def save(self, data: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__}.save")

    def load(self, data_type: type) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.load")

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """Type-specific metadata (storage_size is added by the caller)."""
        return {}

    def save_visualizations(self, data: Any) -> dict[str, str]:
        """Write visualizations; returns {uri: 'html'|'image'|...}."""
        return {}


class AutoMaterializer(BaseMaterializer):
    """Declared for outputs without a usable annotation: the value's type picks at save time."""
