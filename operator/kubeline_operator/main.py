"""Run the operator: metrics and readiness server, kopf with liveness probe, namespaces and
peering."""

from __future__ import annotations

import asyncio
import logging
import os

import kopf
from kubeline.resources.names import ENV_LOG_LEVEL

from kubeline_operator import handlers, metrics
from kubeline_operator.peering_gate import peering_identity
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
        priority=settings.peering_priority,
        identity=peering_identity(),  # type: ignore[arg-type]  # kopf's Identity: a NewType of str
    ))



if __name__ == "__main__":
    main()
