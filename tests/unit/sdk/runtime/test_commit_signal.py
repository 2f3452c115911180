"""The runtime's outputs-committed Event: its shape (the operator's watch selects it by
reason and label, reads the run's full name from the annotation) and when it is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubeline.resources.names import EVENT_OUTPUTS_COMMITTED, LABEL_RUN
from kubeline.runtime import commit_signal

pytestmark = pytest.mark.unit


def test_the_event_names_its_own_pod_and_run() -> None:
    run = "a-run-name-" + "x" * 70  # longer than a label value may be
    body = commit_signal.event_body("ml", "p-1-train-1", "u-1", run, "s3://b/m.json",
                                    now=datetime(2026, 12, 1, 19, 0, 0, tzinfo=UTC))
    assert body["reason"] == EVENT_OUTPUTS_COMMITTED and body["type"] == "Normal"
    assert body["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "ml",
                                      "name": "p-1-train-1", "uid": "u-1"}
    meta = body["metadata"]
    assert isinstance(meta, dict)
    assert meta["annotations"] == {LABEL_RUN: run}
    assert len(meta["labels"][LABEL_RUN]) <= 63
    assert body["firstTimestamp"] == "2026-12-01T19:00:00Z"


def test_it_is_sent_only_with_api_access_and_the_pods_own_names(
        monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    full = {"KUBELINE_API_ACCESS": "read", "KUBELINE_POD_NAME": "p", "KUBELINE_POD_UID": "u",
            "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    monkeypatch.setattr(commit_signal.os.path, "exists", lambda path: True)
    assert commit_signal.can_signal(full)
    assert not commit_signal.can_signal({**full, "KUBELINE_API_ACCESS": "none"})
    assert not commit_signal.can_signal({k: v for k, v in full.items()
                                         if k != "KUBELINE_POD_UID"})
    monkeypatch.setattr(commit_signal.os.path, "exists", lambda path: False)  # no token
    assert not commit_signal.can_signal(full)


def test_without_access_nothing_is_sent_and_nothing_raises(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("KUBELINE_API_ACCESS", "none")
    assert commit_signal.post_committed("ml", "r", "s3://b/m.json") == "not sent (no API access)"


def test_the_step_tells_only_once_its_log_is_saved_and_its_output_flushed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A step recorded from its Event may be done before its Pod is readable: its saved log
    must exist (else the Pod's exit completes it), and what it printed is flushed first."""
    import io
    import sys
    from types import SimpleNamespace

    from kubeline.runtime import executor

    order: list[str] = []

    class Stream(io.StringIO):
        def flush(self) -> None:
            order.append("flush")

    monkeypatch.setattr(sys, "stdout", Stream())
    monkeypatch.setattr(sys, "stderr", Stream())
    monkeypatch.setattr(commit_signal, "post_committed",
                        lambda ns, run, uri: order.append(f"post {ns} {run} {uri}") or "sent")
    inv = SimpleNamespace(namespace="ml", run="r-1", outputs_uri="s3://b/ml/p/r-1/train/1")
    executor.tell_outputs_committed(inv, log_saved=False)  # type: ignore[arg-type]
    assert not [o for o in order if o.startswith("post")]
    order.clear()
    executor.tell_outputs_committed(inv, log_saved=True)  # type: ignore[arg-type]
    assert order[:2] == ["flush", "flush"]
    assert order[2].startswith("post ml r-1 s3://b/ml/p/r-1/train/1/")
