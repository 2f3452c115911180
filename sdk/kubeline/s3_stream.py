"""Streaming S3 I/O on an s3fs filesystem without full-size copies.

``S3PartWriter`` is a write-only file: bytes are copied into a small pool of
part buffers, and each full buffer is uploaded as a multipart part on s3fs's
event loop while the caller keeps writing (and hashing) the next one. Memory
stays at ``part_size * (max_in_flight + 1)`` whatever the object's size. Nothing is
visible under the key until ``close()`` completes the upload; ``discard()``
(or an error) aborts it.

``read_into`` fills a caller's writable buffer (e.g. a ``np.empty`` array's
memoryview) from concurrent ranged GETs, copying each network chunk straight
to its place.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
from typing import Any

from kubeline.errors import ArtifactStoreError

PART_SIZE = 16 * 2**20  # S3 needs >= 5 MiB for every part but the last
MAX_IN_FLIGHT = 4
RANGE_SIZE = 16 * 2**20
READ_CONCURRENCY = 8  # ranged GETs in flight (each holds at most ~1 MiB)
_READ_PIECE = 2**20


class _ViewReader(io.RawIOBase):
    """A seekable read-only file over a memoryview, without copying it.

    Given as an upload's Body, the HTTP client streams it in small pieces (a bytes-like
    Body would be copied whole into the socket transport's buffer)."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._view.nbytes - self._pos)
        if n <= 0:
            return 0
        memoryview(b).cast("B")[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._view.nbytes}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self._view.nbytes


def is_s3(fs: Any) -> bool:
    """Whether ``fs`` is an s3fs filesystem (the one this module can drive)."""
    protocol = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "s3" in protocol and hasattr(fs, "_call_s3")


def _sync(fs: Any, coro: Any) -> Any:
    from fsspec.asyn import sync

    return sync(fs.loop, lambda: coro)


class S3PartWriter:
    """A write-only, non-seekable file uploading ``path`` in concurrent multipart parts."""

    def __init__(self, fs: Any, path: str, part_size: int = PART_SIZE,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:
        if part_size < 5 * 2**20:
            raise ValueError(f"part_size must be at least 5 MiB (S3's minimum), got {part_size}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.fs = fs
        self.path = path
        self.bucket, self.key, _ = fs.split_path(path)
        self.part_size = part_size
        self.max_in_flight = max_in_flight
        self._free: list[bytearray] = []
        self._allocated = 0
        self._buf: bytearray | None = None
        self._fill = 0
        self._pending: list[tuple[int, bytearray, concurrent.futures.Future[Any]]] = []
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._written = 0
        self._closed = False

    # ------------------------------------------------------------------ file API
    @property
    def closed(self) -> bool:
        return self._closed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Parts are uploaded as they fill; a partial part waits for more data or close()."""

    def write(self, data: Any) -> int:
        if self._closed:
            raise ValueError(f"write to closed file {self.path}")
        view = memoryview(data).cast("B")
        total = view.nbytes
        pos = 0
        while pos < total:
            if self._buf is None:
                self._buf = self._take_buffer()
                self._fill = 0
            n = min(self.part_size - self._fill, total - pos)
            self._buf[self._fill:self._fill + n] = view[pos:pos + n]
            self._fill += n
            pos += n
            if self._fill == self.part_size:
                self._submit()
        self._written += total
        return total

    def close(self) -> None:
        """Upload what is left and complete the upload (the object appears only now)."""
        if self._closed:
            return
        try:
            if self._upload_id is None:  # small object: one PUT
                body = bytes(self._buf[:self._fill]) if self._buf is not None else b""
                self._call("put_object", Bucket=self.bucket, Key=self.key, Body=body)
            else:
                if self._fill:
                    self._submit()
                self._wait(0)
                parts = sorted(self._parts, key=lambda p: p["PartNumber"])
                self._call("complete_multipart_upload", Bucket=self.bucket, Key=self.key,
                           UploadId=self._upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            self.discard()
            raise
        self._release()
        self._closed = True
        self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Abort: nothing is left under the key and no parts are kept."""
        if self._closed:
            return
        self._closed = True
        for _, _, future in self._pending:
            future.cancel()
        concurrent.futures.wait([f for _, _, f in self._pending])
        self._pending.clear()
        if self._upload_id is not None:
            # Best effort: a bucket lifecycle rule cleans up uploads left behind.
            with contextlib.suppress(ArtifactStoreError):
                self._call("abort_multipart_upload", Bucket=self.bucket, Key=self.key,
                           UploadId=self._upload_id)
        self._release()

    def __enter__(self) -> S3PartWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    # ------------------------------------------------------------------ internals
    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return _sync(self.fs, self.fs._call_s3(method, **kwargs))
        except (OSError, ValueError) as exc:
            raise ArtifactStoreError(f"S3 {method} for {self.path} failed: {exc}") from exc

    def _take_buffer(self) -> bytearray:
        if self._free:
            return self._free.pop()
        if self._allocated <= self.max_in_flight:  # one filling while max_in_flight upload
            self._allocated += 1
            return bytearray(self.part_size)
        self._wait(len(self._pending) - 1)  # the oldest part's buffer comes back
        return self._free.pop()

    def _submit(self) -> None:
        assert self._buf is not None
        if self._upload_id is None:
            mpu = self._call("create_multipart_upload", Bucket=self.bucket, Key=self.key)
            self._upload_id = mpu["UploadId"]
        number = len(self._parts) + len(self._pending) + 1
        buf, fill = self._buf, self._fill
        body = _ViewReader(memoryview(buf)[:fill])  # streamed from the buffer, never copied
        coro = self.fs._call_s3("upload_part", Bucket=self.bucket, Key=self.key,
                                UploadId=self._upload_id, PartNumber=number, Body=body)
        future = asyncio.run_coroutine_threadsafe(coro, self.fs.loop)
        self._pending.append((number, buf, future))
        self._buf, self._fill = None, 0

    def _wait(self, keep: int) -> None:
        """Wait until at most ``keep`` parts are in flight, recording finished ones."""
        while len(self._pending) > keep:
            number, buf, future = self._pending.pop(0)
            try:
                out = future.result()
            except (OSError, ValueError) as exc:
                raise ArtifactStoreError(
                    f"S3 upload_part {number} for {self.path} failed: {exc}") from exc
            self._parts.append({"PartNumber": number, "ETag": out["ETag"]})
            self._free.append(buf)

    def _release(self) -> None:
        self._free.clear()
        self._buf = None


def read_into(fs: Any, path: str, target: Any, offset: int = 0, range_size: int | None = None,
              concurrency: int | None = None) -> None:
    """Fill the writable buffer ``target`` with the bytes of ``path`` from ``offset`` on."""
    range_size = range_size or RANGE_SIZE
    concurrency = concurrency or READ_CONCURRENCY
    view = memoryview(target).cast("B")
    if not view.nbytes:
        return
    bucket, key, _ = fs.split_path(path)

    async def fetch(start: int, stop: int, gate: asyncio.Semaphore) -> None:
        async with gate:
            resp = await fs._call_s3("get_object", Bucket=bucket, Key=key,
                                     Range=f"bytes={offset + start}-{offset + stop - 1}")
            body = resp["Body"]
            try:
                pos = start
                while pos < stop:
                    piece = await body.read(min(_READ_PIECE, stop - pos))
                    if not piece:
                        raise ArtifactStoreError(
                            f"{path} is truncated: expected {offset + view.nbytes} bytes, "
                            f"got {offset + pos}")
                    view[pos:pos + len(piece)] = piece
                    pos += len(piece)
            finally:
                body.close()

    async def fetch_all() -> None:
        gate = asyncio.Semaphore(concurrency)
        ranges = [(s, min(s + range_size, view.nbytes))
                  for s in range(0, view.nbytes, range_size)]
        await asyncio.gather(*(fetch(a, b, gate) for a, b in ranges))

    try:
        _sync(fs, fetch_all())
    except (OSError, ValueError) as exc:
        raise ArtifactStoreError(f"reading {path} failed: {exc}") from exc
