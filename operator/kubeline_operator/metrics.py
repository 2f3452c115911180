"""Prometheus metrics of the operator (served on :9090/metrics), and its readiness (/readyz)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from kubeline.resources.reasons import Reason
from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from kubeline_operator import actions as A

RUNS_BY_PHASE = Gauge(
    "kubeline_pipelineruns", "PipelineRuns known to the operator, by phase", ["phase"])
RUNS_FINISHED = Counter(
    "kubeline_pipelineruns_finished_total", "Runs that reached a terminal phase", ["phase"])
RECONCILE_SECONDS = Histogram(
    "kubeline_reconcile_duration_seconds", "Wall time of one reconcile pass of a run",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CACHE_HITS = Counter("kubeline_cache_hits_total", "Steps served from the cache")
CACHE_MISSES = Counter("kubeline_cache_misses_total", "Steps that ran because no cache hit")
PODS_CREATED = Counter("kubeline_step_pods_created_total", "Step Pods created")
POD_REFUSALS = Counter(
    "kubeline_step_pods_refused_total",
    "Step Pod creations a ResourceQuota or admission check refused (the step waits)")
API_REQUESTS = Counter("kubeline_api_requests_total", "Kubernetes API requests by the operator")
API_RETRIES = Counter(
    "kubeline_api_retries_total",
    "Kubernetes API requests retried, by reason (throttled, server_error, connection)",
    ["reason"])
RECONCILE_ERRORS = Counter("kubeline_reconcile_errors_total", "Reconcile passes that raised")


def count_api_retry(reason: str) -> None:
    """``OperatorApi``'s ``on_retry``: one more retry of that reason in /metrics."""
    API_RETRIES.labels(reason).inc()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes are not worth a log line each."""


def serve(port: int, readiness: Callable[[], list[str]] = list) -> WSGIServer:
    """Start the HTTP server of /metrics and /readyz in a background thread; returns it
    (``shutdown()`` stops it).

    /readyz answers 200 when ``readiness()`` returns no problems, else 503 with them.
    """
    metrics_app = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/readyz":
            problems = readiness()
            body = ("\n".join(problems) if problems else "ok").encode() + b"\n"
            start_response("503 Service Unavailable" if problems else "200 OK",
                           [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
            return [body]
        return metrics_app(environ, start_response)

    httpd = make_server("0.0.0.0", port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True, name="metrics").start()
    return httpd


def count_changes(changes: Iterable[A.Action]) -> None:
    """Count the cache hits and misses and the finished runs among a pass's status changes
    (a miss whose Pod a quota refused is counted when its Pod is created)."""
    changes = list(changes)
    refused = {(a.step, a.attempt) for a in changes if isinstance(a, A.WaitForPod)}
    for a in changes:
        if isinstance(a, A.WaitForPod):
            POD_REFUSALS.inc()
        elif isinstance(a, A.MarkStepRunning) and a.reason == Reason.CACHE_MISS:
            if (a.step, a.attempt) not in refused:
                CACHE_MISSES.inc()
        elif isinstance(a, A.MarkCached):
            CACHE_HITS.inc()
        elif isinstance(a, A.FinishRun):
            RUNS_FINISHED.labels(a.phase).inc()
