"""Run the operator: metrics and readiness server, kopf with liveness probe, namespaces and
peering."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import kopf
from kubeline.resources.names import ENV_LOG_LEVEL, ENV_PEERING_PRIORITY

from kubeline_operator import handlers, metrics
from kubeline_operator.s3_check import S3Readiness
from kubeline_operator.settings import OperatorSettings


def main() -> None:
    logging.basicConfig(
        level=os.environ.get(ENV_LOG_LEVEL, "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = OperatorSettings.from_env()
    metrics.serve(settings.metrics_port, readiness=S3Readiness())
    namespaces = list(settings.namespaces)
    asyncio.run(kopf.operator(
        registry=handlers.registry,
        memo=kopf.Memo(settings=settings),
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
        standalone=not settings.peering,
        peering_name=settings.peering or None,
        priority=int(os.environ.get(ENV_PEERING_PRIORITY, "0") or 0),
        identity=peering_identity(),  # type: ignore[arg-type]  # kopf's Identity: a NewType of str
    ))


def peering_identity() -> str:
    """This replica's peering id: the Pod name and PID (no passwd lookup: the image's
    non-root uid has no passwd entry, and kopf's default id needs one)."""
    return f"{socket.gethostname()}@{os.getpid()}"


if __name__ == "__main__":
    main()
