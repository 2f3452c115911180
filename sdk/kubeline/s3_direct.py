"""Plain S3 requests over ``http.client``, signed with AWS Signature Version 4.

The step runtime's own reads and writes are small (the code archive, the inputs of most
steps, the outputs manifest, the step log), yet s3fs costs every step Pod about 0.3 s of
CPU before its first request (importing aiobotocore, aiohttp and botocore, building the
client). :class:`S3Direct` makes those requests with the standard library alone:
path-style URLs under a configured ``http://`` endpoint (an in-cluster S3 server), static
credentials, one keep-alive connection per thread, a retry of these idempotent requests on a
dropped connection or a 5xx.

``ArtifactStore`` uses it (``direct=True``, the step runtime) only where
:func:`usable` says so; anything else (large objects, multipart uploads, listings of
user code through ``store.fs``) still goes through s3fs, created on first use.
Errors: a missing key raises ``FileNotFoundError``, a refusal ``PermissionError``, any
other failure ``OSError`` naming the request and S3's error code.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
RETRIES = 3
RETRY_STATUS = frozenset({500, 502, 503, 504})
TIMEOUT_SECONDS = 60.0
_ERROR_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


def usable(settings: Any) -> bool:
    """Whether :class:`S3Direct` can serve ``settings``: an ``http://`` endpoint and static
    keys. Anything else (AWS itself: virtual-hosted buckets, credential chains, session
    tokens; TLS and its trust store) is left to s3fs and botocore."""
    import os

    endpoint = getattr(settings, "endpoint", None) or ""
    return (endpoint.startswith("http://") and bool(settings.access_key)
            and bool(settings.secret_key) and not os.environ.get("AWS_SESSION_TOKEN"))


def _encode(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The SigV4 signing key of ``date`` (YYYYMMDD)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def authorization(method: str, path: str, query: dict[str, str], headers: dict[str, str],
                  payload_sha256: str, access_key: str, secret_key: str, region: str,
                  amz_date: str) -> str:
    """The ``Authorization`` header of a request (``headers`` as sent, all of them signed)."""
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    names = sorted(h.lower() for h in headers)
    lowered = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lowered[n]}\n" for n in names)
    signed = ";".join(names)
    canonical = "\n".join([method, path, canonical_query, canonical_headers, signed,
                           payload_sha256])
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, date, region), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
            f"Signature={signature}")


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key`` (or ``bucket/key``)."""
    bare = uri.split("://", 1)[-1]
    bucket, _, key = bare.partition("/")
    if not bucket:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return bucket, key


class S3Direct:
    """Signed S3 requests to one endpoint with one pair of static credentials."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str,
                 region: str = "us-east-1", timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"S3 endpoint {endpoint!r} is not an http:// URL")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = parts.netloc.rpartition("@")[2]
        self.base_path = parts.path.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.timeout = timeout
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Any) -> S3Direct:
        return cls(settings.endpoint, settings.access_key, settings.secret_key,
                   settings.region or "us-east-1")

    # ------------------------------------------------------------------ transport
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port,
                                                                 timeout=self.timeout)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def request(self, method: str, bucket: str, key: str = "", query: dict[str, str] | None = None,
                body: bytes = b"", headers: dict[str, str] | None = None,
                ok: tuple[int, ...] = (200,)) -> tuple[int, dict[str, str], bytes]:
        """Send a signed request; returns (status, lower-cased headers, body) for ``ok``
        statuses and raises otherwise (FileNotFoundError for 404, PermissionError for 403)."""
        query = query or {}
        path = f"{self.base_path}/{_encode(bucket)}"
        if key:
            path += "/" + _encode(key, safe="-_.~/")
        target = path + ("?" + "&".join(f"{_encode(k)}={_encode(v)}"
                                        for k, v in sorted(query.items())) if query else "")
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        for attempt in range(RETRIES):
            amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            sent = {"host": self.host_header, "x-amz-content-sha256": payload,
                    "x-amz-date": amz_date, **(headers or {})}
            sent["Authorization"] = authorization(
                method, path, query, sent, payload, self.access_key, self.secret_key,
                self.region, amz_date)
            if body or method in ("PUT", "POST"):
                sent["Content-Length"] = str(len(body))
            try:
                conn = self._connection()
                conn.request(method, target, body=body or None, headers=sent)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError) as exc:
                self._drop_connection()
                if attempt + 1 == RETRIES:
                    raise OSError(f"S3 {method} {bucket}/{key} failed: {exc}") from exc
                continue
            status = resp.status
            got = {k.lower(): v for k, v in resp.getheaders()}
            if resp.will_close:
                self._drop_connection()
            if status in ok:
                return status, got, data
            if status in RETRY_STATUS and attempt + 1 < RETRIES:
                time.sleep(0.1 * (attempt + 1))
                continue
            raise self._error(method, bucket, key, status, data)
        raise AssertionError("unreachable")

    @staticmethod
    def _error(method: str, bucket: str, key: str, status: int, data: bytes) -> OSError:
        code = _ERROR_CODE.search(data or b"")
        message = _ERROR_MESSAGE.search(data or b"")
        text = (f"S3 {method} {bucket}/{key}: HTTP {status}"
                + (f" {code.group(1).decode()}" if code else "")
                + (f": {message.group(1).decode()}" if message else ""))
        if status == 404:
            return FileNotFoundError(text)
        if status == 403:
            return PermissionError(text)
        return OSError(text)

    # ------------------------------------------------------------------ objects
    def head(self, uri: str) -> dict[str, str]:
        """The object's headers (``content-length``, ``etag``); FileNotFoundError if absent."""
        bucket, key = split_uri(uri)
        return self.request("HEAD", bucket, key)[1]

    def size(self, uri: str) -> int:
        return int(self.head(uri)["content-length"])

    def get(self, uri: str, start: int | None = None, end: int | None = None) -> bytes:
        """The object's bytes, or bytes ``start`` to ``end`` (exclusive, clipped)."""
        bucket, key = split_uri(uri)
        headers = {}
        if start is not None or end is not None:
            first = start or 0
            if end is not None and end <= first:
                return b""
            headers["range"] = f"bytes={first}-" + (str(end - 1) if end is not None else "")
        status, _, data = self.request("GET", bucket, key, headers=headers, ok=(200, 206, 416))
        if status == 416:
            return b""
        if status == 200 and headers:  # a server that ignores Range sends the whole object
            return data[start or 0:end]
        return data

    def put(self, uri: str, data: bytes) -> None:
        bucket, key = split_uri(uri)
        self.request("PUT", bucket, key, body=bytes(data))

    def exists(self, uri: str) -> bool:
        """An object at ``uri``, or any object under ``uri/`` (a "directory")."""
        try:
            self.head(uri)
            return True
        except FileNotFoundError:
            pass
        bucket, key = split_uri(uri)
        return bool(key) and bool(self.list_keys(bucket, key.rstrip("/") + "/", limit=1))

    def list_keys(self, bucket: str, prefix: str, limit: int | None = None) -> list[str]:
        """Keys under ``prefix`` (ListObjectsV2, every page unless ``limit``)."""
        from xml.etree import ElementTree

        keys: list[str] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if limit:
                query["max-keys"] = str(limit)
            if token:
                query["continuation-token"] = token
            root = ElementTree.fromstring(self.request("GET", bucket, query=query)[2])
            ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            keys += [k.text or "" for k in root.iter(f"{ns}Key")]
            truncated = (root.findtext(f"{ns}IsTruncated") or "").lower() == "true"
            token = root.findtext(f"{ns}NextContinuationToken") or ""
            if not truncated or not token or (limit and len(keys) >= limit):
                return keys[:limit] if limit else keys

    def find(self, uri: str) -> list[str]:
        """``bucket/key`` of every object under ``uri`` (s3fs's ``find``: the object itself
        when ``uri`` names one), folder markers left out."""
        bucket, key = split_uri(uri)
        key = key.rstrip("/")
        found = [k for k in self.list_keys(bucket, key + "/" if key else "")
                 if not k.endswith("/")]
        if not found and key:
            try:
                self.head(uri)
                found = [key]
            except FileNotFoundError:
                return []
        return sorted(f"{bucket}/{k}" for k in found)


class SmallObjectWriter:
    """A write-only file that PUTs its object in one request when closed, while it stays
    within ``limit`` bytes; past that it hands what it holds to ``overflow()`` (a streaming
    writer: s3fs's multipart upload) and writes through it. Nothing appears under the key
    before a successful close."""

    def __init__(self, direct: S3Direct, uri: str, limit: int, overflow: Any) -> None:
        self.direct = direct
        self.uri = uri
        self.limit = limit
        self._overflow = overflow
        self._buf = bytearray()
        self._target: Any = None
        self._written = 0
        self._closed = False

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
        if self._target is not None:
            self._target.flush()

    def write(self, data: Any) -> int:
        if self._closed:
            raise ValueError(f"write to closed file {self.uri}")
        view = memoryview(data).cast("B")
        if self._target is None and len(self._buf) + view.nbytes > self.limit:
            self._target = self._overflow()
            if self._buf:
                self._target.write(self._buf)
            self._buf = bytearray()
        if self._target is not None:
            self._target.write(view)
        else:
            self._buf += view
        self._written += view.nbytes
        return view.nbytes

    def close(self) -> None:
        if self._closed:
            return
        try:
            if self._target is not None:
                self._target.close()
            else:
                self.direct.put(self.uri, bytes(self._buf))
        except BaseException:
            self.discard()
            raise
        self._closed = True
        self._buf = bytearray()

    def discard(self) -> None:
        """Abort: nothing is written under the key."""
        if self._closed:
            return
        self._closed = True
        self._buf = bytearray()
        target = self._target
        if target is not None and not target.closed:
            discard = getattr(target, "discard", None)
            if discard is not None:
                discard()

    def __enter__(self) -> SmallObjectWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
