"""The step log the runtime tees and saves beside the attempt's outputs."""

from __future__ import annotations

import io
import sys

import pytest
from kubeline.artifact_store import ArtifactStore
from kubeline.runtime.log_capture import LogCapture, log_uri, save_log

pytestmark = pytest.mark.unit


def test_log_capture_tees_and_keeps_the_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    cap = LogCapture(max_bytes=10).start()
    try:
        print("hello")
        print("world!")
    finally:
        cap.stop()
    assert out.getvalue() == "hello\nworld!\n"
    assert sys.stdout is out
    # print writes text and newline separately: whole writes are dropped, oldest first
    assert cap.text() == "[kubeline: the first 5 characters were dropped]\n\nworld!\n"
    assert log_uri("s3://b/artifacts/ns/p/r/s/1/") == "s3://b/artifacts/ns/p/r/s/1/step.log"


def test_saved_log_lands_where_the_readers_look(tmp_path: object) -> None:
    store = ArtifactStore.local(str(tmp_path))
    outputs = store.attempt_uri("ns", "pipe", "run-1", "trainer", 2)
    uri = save_log(store, outputs, "hello\n")
    assert uri == store.step_log_uri("ns", "pipe", "run-1", "trainer", 2)
    assert store.read_bytes(uri) == b"hello\n"


def test_a_failing_store_never_fails_the_step(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def write_bytes(self, uri: str, data: bytes) -> None:
            raise OSError("bucket gone")

    assert save_log(Broken(), "s3://b/x", "text") is None
    err = capsys.readouterr().err
    assert "could not save the step log to s3://b/x/step.log: bucket gone" in err
