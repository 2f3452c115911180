"""Tell the operator that a step's outputs are committed, without waiting for the kubelet.

The kubelet notices a container's exit only at its next relist (about once a second), so
the operator learns of a finished step 0.2-1 s after the fact. Once the outputs manifest is
written, the runtime posts one core/v1 Event on its own Pod (reason
``EVENT_OUTPUTS_COMMITTED``, labelled with the run); the operator watches for exactly those
and records the step from the attempt's manifest, verified as on the Pod's exit path. It is
a hint and nothing more: best effort (any failure is logged and the exit path stays), sent
with the Pod's own projected token over plain HTTPS (no Kubernetes client is imported).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

from kubeline.resources.names import (
    ENV_API_ACCESS,
    ENV_POD_NAME,
    ENV_POD_UID,
    EVENT_OUTPUTS_COMMITTED,
    LABEL_RUN,
    SERVICE_ACCOUNT_DIR,
    label_value,
)

#: Seconds the Event may take before the runtime gives up on it (the exit path remains).
TIMEOUT_SECONDS = 2.0
SOURCE_COMPONENT = "kubeline-step"


def event_body(namespace: str, pod: str, uid: str, run: str, manifest_uri: str,
               now: datetime | None = None) -> dict[str, object]:
    """The Event a step Pod posts on itself when its manifest is written."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{pod}.", "namespace": namespace,
                     # The label selects (a value of at most 63 characters), the
                     # annotation names the run in full.
                     "labels": {LABEL_RUN: label_value(run)},
                     "annotations": {LABEL_RUN: run}},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": namespace,
                           "name": pod, "uid": uid},
        "reason": EVENT_OUTPUTS_COMMITTED, "type": "Normal",
        "message": f"outputs manifest written: {manifest_uri}"[:1024],
        "source": {"component": SOURCE_COMPONENT},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


def can_signal(env: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether this Pod has what the Event needs: API access, its token and its own name."""
    env = os.environ if env is None else env
    return (env.get(ENV_API_ACCESS, "none") != "none" and bool(env.get(ENV_POD_NAME))
            and bool(env.get(ENV_POD_UID)) and bool(env.get("KUBERNETES_SERVICE_HOST"))
            and os.path.exists(f"{SERVICE_ACCOUNT_DIR}/token"))


def post_committed(namespace: str, run: str, manifest_uri: str) -> str:
    """Post the Event; returns a short outcome for the step's log (never raises)."""
    if not can_signal():
        return "not sent (no API access)"
    started = time.monotonic()
    try:
        import http.client
        import ssl

        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = int(os.environ.get("KUBERNETES_SERVICE_PORT", "443"))
        with open(f"{SERVICE_ACCOUNT_DIR}/token") as f:
            token = f.read().strip()
        context = ssl.create_default_context(cafile=f"{SERVICE_ACCOUNT_DIR}/ca.crt")
        body = event_body(namespace, os.environ[ENV_POD_NAME], os.environ[ENV_POD_UID], run,
                          manifest_uri)
        conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT_SECONDS,
                                           context=context)
        try:
            conn.request("POST", f"/api/v1/namespaces/{namespace}/events",
                         body=json.dumps(body), headers={
                             "Authorization": f"Bearer {token}",
                             "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
    except Exception as exc:  # a hint only: the Pod's exit still completes the step
        return f"not sent ({type(exc).__name__}: {exc})"
    took = time.monotonic() - started
    if response.status >= 300:
        return f"not sent (HTTP {response.status})"
    return f"sent in {took * 1000:.0f} ms"
