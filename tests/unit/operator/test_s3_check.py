"""The operator's start-up check of its S3 Secret and the /readyz endpoint that reports it."""

from __future__ import annotations

import logging
import socket
import time
import urllib.error
import urllib.request

import pytest
from kubeline_operator import metrics
from kubeline_operator.s3_check import S3Readiness, s3_problems

pytestmark = pytest.mark.unit

FULL = {"KUBELINE_S3_SECRET": "team-s3", "KUBELINE_S3_BUCKET": "ml",
        "KUBELINE_S3_ENDPOINT": "http://192.0.2.2:7070", "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "SECRET", "KUBELINE_S3_WORKLOAD_IDENTITY": "false"}


def without(*keys: str, **extra: str) -> dict[str, str]:
    return {**{k: v for k, v in FULL.items() if k not in keys}, **extra}


def test_complete_settings_have_no_problem() -> None:
    assert s3_problems(FULL) == []
    # AWS with IRSA: no endpoint, no keys.
    assert s3_problems(without("KUBELINE_S3_ENDPOINT", "AWS_ACCESS_KEY_ID",
                               "AWS_SECRET_ACCESS_KEY", KUBELINE_S3_WORKLOAD_IDENTITY="true")) == []


def test_each_missing_key_is_named_with_the_secret() -> None:
    (problem,) = s3_problems(without("KUBELINE_S3_BUCKET"))
    assert "team-s3" in problem and "'bucket'" in problem
    (problem,) = s3_problems(without("AWS_SECRET_ACCESS_KEY"))
    assert "team-s3" in problem and "'secretAccessKey'" in problem
    assert "'accessKeyId'" not in problem
    (problem,) = s3_problems(without("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    assert "'accessKeyId'" in problem and "'secretAccessKey'" in problem
    assert "s3.workloadIdentity=true" in problem
    assert len(s3_problems({})) == 1  # started by hand with nothing: the bucket is missing


def test_keys_come_in_pairs_even_without_the_chart() -> None:
    hand = without("KUBELINE_S3_WORKLOAD_IDENTITY")
    assert s3_problems(without("KUBELINE_S3_WORKLOAD_IDENTITY", "AWS_ACCESS_KEY_ID",
                               "AWS_SECRET_ACCESS_KEY")) == []
    (problem,) = s3_problems({k: v for k, v in hand.items() if k != "AWS_ACCESS_KEY_ID"})
    assert "'accessKeyId'" in problem


def test_an_endpoint_that_is_no_url_is_named() -> None:
    (problem,) = s3_problems(without(KUBELINE_S3_ENDPOINT="192.0.2.2:7070"))
    assert "'endpoint'" in problem and "192.0.2.2:7070" in problem


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    deadline = time.monotonic() + 5
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_readiness_fails_and_logs_while_a_key_is_missing(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    with caplog.at_level(logging.ERROR, logger="kubeline.operator"):
        broken = S3Readiness(without("AWS_SECRET_ACCESS_KEY"))
    assert any("not ready" in r.message and "'secretAccessKey'" in r.message
               for r in caplog.records)
    port = _free_port()
    server = metrics.serve(port, readiness=broken)
    try:
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and "'secretAccessKey'" in body
        status, body = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "kubeline_cache_hits_total" in body
    finally:
        server.shutdown()
        server.server_close()
    healthy = _free_port()
    server = metrics.serve(healthy, readiness=S3Readiness(FULL))
    try:
        assert _get(f"http://127.0.0.1:{healthy}/readyz") == (200, "ok\n")
    finally:
        server.shutdown()
        server.server_close()
