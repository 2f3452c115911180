"""Prometheus metrics of the operator (served on :9090/metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
API_REQUESTS = Counter("kubeline_api_requests_total", "Kubernetes API requests by the operator")
RECONCILE_ERRORS = Counter("kubeline_reconcile_errors_total", "Reconcile passes that raised")


def serve(port: int) -> None:
    """Start the /metrics HTTP server in a background thread."""
    start_http_server(port)
