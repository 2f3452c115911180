"""The PipelineRun objects Kubeline creates, built once: by a pipeline call (``submit``),
``Client.trigger_pipeline`` and the operator's schedules. One object name rule, one set of
lookup labels."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubeline.resources.names import (
    API_VERSION,
    LABEL_PIPELINE,
    LABEL_SNAPSHOT,
    LABEL_TRIGGERED_BY_RUN,
    LABEL_TRIGGERED_BY_STEP,
    dns_name,
    label_value,
)


def new_run_name(pipeline: str, now: datetime | None = None) -> str:
    """A readable, unique, DNS-safe run name: ``<pipeline>-<yyyymmdd-hhmmss>-<4 hex>``."""
    now = now or datetime.now(UTC)
    suffix = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    return f"{dns_name(pipeline, 63 - len(suffix) - 1)}-{suffix}"


def run_object_name(pipeline: str, config: Mapping[str, Any]) -> str:
    """The object name of a new run: its ``runName`` as a DNS name, else a fresh name."""
    run_name = config.get("runName")
    return dns_name(str(run_name)) if run_name else new_run_name(pipeline)


def pipeline_run(name: str, config: Mapping[str, Any], *, snapshot: str | None = None,
                 pipeline: str | None = None, triggered_by: Mapping[str, str] | None = None,
                 labels: Mapping[str, str] | None = None,
                 annotations: Mapping[str, str] | None = None,
                 namespace: str | None = None) -> dict[str, Any]:
    """A PipelineRun of ``snapshot`` (or of ``pipeline``'s latest snapshot) with ``config``
    (wire form), labelled for lookups by pipeline, snapshot and triggering run."""
    all_labels: dict[str, str] = {}
    if pipeline:
        all_labels[LABEL_PIPELINE] = label_value(dns_name(pipeline))
    if snapshot:
        all_labels[LABEL_SNAPSHOT] = label_value(snapshot)
    spec: dict[str, Any] = {"config": dict(config)}
    if snapshot:
        spec["snapshot"] = snapshot
    elif pipeline:
        spec["pipeline"] = pipeline
    if triggered_by:
        spec["triggeredBy"] = {"run": triggered_by["run"], "step": triggered_by["step"]}
        all_labels[LABEL_TRIGGERED_BY_RUN] = label_value(triggered_by["run"])
        all_labels[LABEL_TRIGGERED_BY_STEP] = label_value(triggered_by["step"])
    all_labels.update(labels or {})
    metadata: dict[str, Any] = {"name": name, "labels": all_labels}
    if namespace:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": API_VERSION, "kind": "PipelineRun", "metadata": metadata,
            "spec": spec}
