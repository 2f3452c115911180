"""The operator's API client rides out 429, 5xx and dropped connections: a real aiohttp
server on loopback injects the failures."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from kubeline_operator.api import (
    ApiError,
    Gone,
    OperatorApi,
    RetryPolicy,
    backoff_seconds,
    retry_after_seconds,
)
from kubernetes import client

pytestmark = pytest.mark.unit

FAST = RetryPolicy(max_seconds=5.0, base_seconds=0.01, cap_seconds=0.05)


def run(scenario: Callable[..., Awaitable[Any]], handler: Callable[[web.Request], Any],
        policy: RetryPolicy = FAST) -> tuple[Any, OperatorApi, list[str]]:
    """Serve ``handler`` on 127.0.0.1 and run ``scenario(api)`` against it."""
    async def main() -> tuple[Any, OperatorApi, list[str]]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        cfg = client.Configuration()
        cfg.host = str(server.make_url("")).rstrip("/")
        counted: list[str] = []
        api = OperatorApi(1000, 1000, retry=policy, on_retry=counted.append, cfg=cfg)
        try:
            return await scenario(api), api, counted
        finally:
            await api.close()
            await server.close()
    return asyncio.run(main())


def failing_then_ok(failures: list[Callable[[web.Request], Any]]) -> tuple[
        Callable[[web.Request], Any], list[float]]:
    seen: list[float] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(time.monotonic())
        if len(seen) <= len(failures):
            return await failures[len(seen) - 1](request)
        return web.json_response({"ok": len(seen)})
    return handler, seen


def status(code: int, **headers: str) -> Callable[[web.Request], Any]:
    async def respond(request: web.Request) -> web.Response:
        return web.json_response({"kind": "Status", "message": f"injected {code}"},
                                 status=code, headers=headers)
    return respond


async def drop(request: web.Request) -> web.Response:
    """Close the connection without an answer."""
    assert request.transport is not None
    request.transport.abort()
    await asyncio.sleep(0.05)
    return web.Response()


def test_429_honours_retry_after_and_is_counted() -> None:
    handler, seen = failing_then_ok([status(429, **{"Retry-After": "1"})])
    policy = RetryPolicy(max_seconds=5.0, base_seconds=0.01, cap_seconds=2.0)
    result, api, counted = run(lambda api: api.request("GET", "/x"), handler, policy)
    assert result == {"ok": 2}
    assert seen[1] - seen[0] >= 0.95, "Retry-After: 1 was not honoured"
    assert counted == ["throttled"] and api.retries == {"throttled": 1}


def test_5xx_and_dropped_connections_are_retried() -> None:
    handler, seen = failing_then_ok([status(500), status(503), drop, status(502)])
    # PATCH: aiohttp itself never repeats it on a dropped keep-alive connection.
    result, _, counted = run(lambda api: api.request("PATCH", "/x", {"a": 1}), handler)
    assert result == {"ok": 5} and len(seen) == 5
    assert counted == ["server_error", "server_error", "connection", "server_error"]


def test_a_refused_connection_is_retried_until_the_server_is_up() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on the port for a while

    async def main() -> tuple[Any, list[str]]:
        cfg = client.Configuration()
        cfg.host = f"http://127.0.0.1:{port}"
        counted: list[str] = []
        api = OperatorApi(1000, 1000, retry=RetryPolicy(5.0, 0.05, 0.2),
                          on_retry=counted.append, cfg=cfg)

        async def up(request: web.Request) -> web.Response:
            return web.json_response({"up": True})

        async def start_later() -> web.AppRunner:
            await asyncio.sleep(0.5)
            app = web.Application()
            app.router.add_get("/x", up)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            return runner
        starter = asyncio.create_task(start_later())
        try:
            return await api.request("GET", "/x"), counted
        finally:
            await (await starter).cleanup()
            await api.close()
    result, counted = asyncio.run(main())
    assert result == {"up": True}
    assert counted and set(counted) == {"connection"}


def test_retries_are_bounded_in_time() -> None:
    """Retries go on until the time budget is nearly spent (a retry waits at most cap, so it
    stops no earlier than max - cap after the first try) and no retry is scheduled past it.
    Timed from the server's view of the attempts, not around the whole run (server start
    and teardown are slow on a loaded machine); the 1 s allowance covers one late wake-up
    from the last backoff sleep. Unbounded retries would make about 1000 attempts in ~75 s."""
    handler, seen = failing_then_ok([status(503)] * 1000)
    policy = RetryPolicy(max_seconds=0.5, base_seconds=0.05, cap_seconds=0.1)
    started = time.monotonic()
    with pytest.raises(ApiError) as failed:
        run(lambda api: api.request("GET", "/x"), handler, policy)
    took = time.monotonic() - started
    assert failed.value.status == 503 and "injected 503" in failed.value.message
    span = seen[-1] - seen[0]  # first try to last retry, as the server saw them
    assert took >= policy.max_seconds - policy.cap_seconds, (took, len(seen))
    assert span <= policy.max_seconds + 1.0, (span, len(seen))
    assert 2 <= len(seen) < 100, (span, len(seen))


def test_client_errors_are_not_retried() -> None:
    for code, kind in ((404, Gone), (403, ApiError), (422, ApiError)):
        handler, seen = failing_then_ok([status(code)])
        with pytest.raises(kind):
            run(lambda api: api.request("GET", "/x"), handler)
        assert len(seen) == 1, code


def test_a_create_is_never_repeated_after_the_server_may_have_acted() -> None:
    body = {"metadata": {"generateName": "run-"}}
    handler, seen = failing_then_ok([status(500)])
    with pytest.raises(ApiError):
        run(lambda api: api.request("POST", "/runs", body), handler)
    assert len(seen) == 1
    handler, seen = failing_then_ok([drop])
    with pytest.raises(aiohttp.ClientError):
        run(lambda api: api.request("POST", "/runs", body), handler)
    assert len(seen) == 1
    # 429 means the server did nothing: retried.
    handler, seen = failing_then_ok([status(429)])
    result, _, counted = run(lambda api: api.request("POST", "/runs", body), handler)
    assert result == {"ok": 2} and counted == ["throttled"]
    # A named create too: a repeat would answer 409 to our own first create.
    handler, seen = failing_then_ok([status(503)])
    with pytest.raises(ApiError):
        run(lambda api: api.request("POST", "/pods", {"metadata": {"name": "p"}}), handler)
    assert len(seen) == 1


def test_backoff_is_jittered_exponential_and_capped() -> None:
    rng = random.Random(7)
    policy = RetryPolicy(max_seconds=60, base_seconds=0.2, cap_seconds=10)
    for attempt in range(10):
        bound = min(10, 0.2 * 2 ** attempt)
        delays = [backoff_seconds(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.8 and len(set(delays)) > 150  # spread, not fixed
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_retries_reach_the_metrics_endpoint() -> None:
    from kubeline_operator import metrics
    from prometheus_client import generate_latest

    before = metrics.API_RETRIES.labels("throttled")._value.get()
    handler, _ = failing_then_ok([status(429)])

    async def scenario(api: OperatorApi) -> Any:
        return await api.request("GET", "/x")

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        cfg = client.Configuration()
        cfg.host = str(server.make_url("")).rstrip("/")
        api = OperatorApi(1000, 1000, retry=FAST, cfg=cfg, on_retry=metrics.count_api_retry)
        try:
            await scenario(api)
        finally:
            await api.close()
            await server.close()
    asyncio.run(main())
    assert metrics.API_RETRIES.labels("throttled")._value.get() == before + 1
    assert b'kubeline_api_retries_total{reason="throttled"}' in generate_latest()
