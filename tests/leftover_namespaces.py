"""The tests' own namespaces: made as scratch namespaces of this session, and those a killed
session left removed at the start of the next.

Every namespace a test makes goes through :func:`create_scratch_namespace`, which labels it
and names this pytest process as its owner (``kubeline.dev.scratch_namespaces``). A finalizer
deletes it; a SIGKILLed session runs none, so its namespaces (``t-*``, ``t-trig-*``, ...)
stay, with their Pods and S3 identities. At the start of each session
:func:`remove_leftover_namespaces` deletes the scratch namespaces whose process is provably
gone (the benches' too: they label theirs the same way) and logs them. A namespace of a
session that still runs, of another machine, or without the label is never touched."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubeline.dev.scratch_namespaces import (
    LABEL_SCRATCH,
    current_process,
    owner_metadata,
    process_start,
    stale_scratch_namespaces,
)


def create_scratch_namespace(cluster: Any, name: str, wait_for_account: bool = True,
                             labels: dict[str, str] | None = None) -> str:
    """Create namespace ``name`` labelled as this session's scratch namespace (in one request,
    so a kill cannot leave it unlabelled); wait for its default ServiceAccount (Pods cannot be
    created before it exists)."""
    meta = owner_metadata("test")
    meta["labels"].update(labels or {})
    cluster.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, **meta}}))
    deadline = time.monotonic() + 30
    while wait_for_account and cluster.kubectl("get", "serviceaccount", "default", "-n", name,
                                               check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"namespace {name} got no default ServiceAccount in 30s")
        time.sleep(0.2)
    return name


def remove_leftover_namespaces(cluster: Any, before: datetime,
                               start_of: Callable[[int], int | None] = process_start,
                               log: Callable[[str], None] = print) -> list[str]:
    """Delete (without waiting) the scratch namespaces created before ``before`` whose
    process no longer runs, and their S3 identities; log and return their names."""
    listed = cluster.kubectl("get", "namespaces", "-l", LABEL_SCRATCH, "-o", "json",
                             "--request-timeout=10s", timeout=30).stdout
    stale = stale_scratch_namespaces(json.loads(listed)["items"], current_process(),
                                     start_of, before)
    for name in stale:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found",
                        "--request-timeout=10s", timeout=30)
    for name in stale:
        cluster.drop_namespace_s3(name)
    if stale:
        log(f"[cleanup] deleted {len(stale)} namespace(s) left by test sessions or benches "
            f"that no longer run: {', '.join(stale)}")
    return stale
