"""``kubeline_api_requests_total`` in the operator's /metrics counts every request its API
client sends (a retried request counts once per attempt): the operator's state is built as
at start-up, against a real aiohttp server on loopback named by a kubeconfig."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from kubeline_operator import metrics
from kubeline_operator.api import RetryPolicy
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.state import OperatorState

pytestmark = pytest.mark.unit


def scraped(port: int) -> float:
    """``kubeline_api_requests_total`` as the operator's /metrics endpoint serves it."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith("kubeline_api_requests_total "):
            return float(line.split()[1])
    raise AssertionError("no kubeline_api_requests_total in /metrics")


def test_every_api_request_of_the_operator_is_counted_in_metrics(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path.endswith("/busy") and len(seen) == 2:  # one 429, then answered
            return web.json_response({"kind": "Status"}, status=429, headers={"Retry-After": "0"})
        return web.json_response({"items": [], "metadata": {}})

    server_http = metrics.serve(0)
    port = server_http.server_port
    try:
        async def main() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            kubeconfig = tmp_path / "kubeconfig"
            kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{str(server.make_url('')).rstrip('/')}"}}}}]
users: [{{name: u, user: {{token: t0k}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""")
            monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
            monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
            state = OperatorState.create(OperatorSettings(s3_bucket="b"))
            state.api.retry = RetryPolicy(max_seconds=5.0, base_seconds=0.01, cap_seconds=0.05)
            before = scraped(port)
            try:
                await state.api.get("pipelineruns", "ns", "a")
                await state.api.request("GET", "/busy")  # one throttled attempt, one answered
                await state.api.list_objects("pipelineruns", "ns")
            finally:
                await state.api.close()
                await server.close()
            assert len(seen) == 4
            assert await asyncio.to_thread(scraped, port) == before + 4
        asyncio.run(main())
    finally:
        server_http.shutdown()
