"""Stopping a stream (the browser left) returns at once and ends its reading thread, even when
the server sends nothing more: a quiet watch must not freeze the UI server's event loop."""

from __future__ import annotations

import asyncio
import http.server
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
from kubeline.ui.streams import ApiStream, lines

pytestmark = pytest.mark.unit


class _Quiet(http.server.BaseHTTPRequestHandler):
    """A chunked response: two lines, then silence (like a watch without events)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        data = b'{"type":"ADDED"}\n{"type":"MODIFIED"}\n'
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
        time.sleep(3)  # then end the response, so a blocked close() shows as slow, not hung
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def quiet_url() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Quiet)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_stopping_a_quiet_stream_is_immediate(quiet_url: str) -> None:
    import urllib3

    pool = urllib3.PoolManager()
    stream = ApiStream(lambda: pool.request("GET", quiet_url, preload_content=False))

    async def main() -> tuple[list[bytes], float]:
        got: list[bytes] = []

        async def consume() -> None:
            async for line in lines(stream):
                got.append(line)

        task = asyncio.create_task(consume())
        while len(got) < 2:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return got, time.monotonic() - started

    got, took = asyncio.run(main())
    assert got == [b'{"type":"ADDED"}', b'{"type":"MODIFIED"}']
    assert took < 0.5, f"cancelling took {took:.1f}s"
    deadline = time.monotonic() + 2
    while any(t.name == "kubeline-ui-stream" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the reading thread is still blocked"
        time.sleep(0.02)
