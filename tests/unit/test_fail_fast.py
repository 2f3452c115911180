"""The suite's fail-fast rules (tests/conftest.py), run as small pytest sessions: restart
tests last, a broken cluster fails the remaining cluster tests at once with the reason, and
a cluster that breaks mid-test fails that test instead of letting it hang."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "fixtures" / "failfast"


def _pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
         "--rootdir", str(ROOT), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_cluster_restart_tests_run_after_every_other_test():
    out = _pytest("--collect-only", "-q", str(CASES / "cases_order_a.py"),
                  str(CASES / "cases_order_b.py"))
    assert out.returncode == 0, out.stdout + out.stderr
    names = [line.split("::")[-1] for line in out.stdout.splitlines() if "::" in line]
    assert names == ["test_plain_a", "test_integration_a", "test_e2e_b",
                     "test_restart_in_a", "test_restart_in_b"]


def _unreachable_kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', "
        "insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n")
    return str(path)


def test_a_broken_cluster_fails_every_cluster_test_at_once(tmp_path):
    start = time.monotonic()
    out = _pytest("-rA", "--cluster=existing", str(CASES / "cases_broken.py"), env={
        "KUBELINE_TEST_KUBECONFIG": _unreachable_kubeconfig(tmp_path),
        "KUBELINE_TEST_HEALTH_GRACE": "1"})
    took = time.monotonic() - start
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert took < 60, f"took {took:.0f}s: {text}"
    assert "1 passed, 3 errors" in text, text
    errors = [line for line in text.splitlines() if line.startswith("ERROR ")]
    assert [e.split("::")[1].split()[0] for e in errors] == [
        "test_first_cluster_test", "test_second_cluster_test", "test_third_cluster_test"]
    reason = "the cluster is broken, so this test cannot run: the API server does not answer"
    assert text.count(reason) >= 3, text


def test_a_cluster_breaking_mid_test_fails_that_test_not_at_its_timeout(tmp_path):
    start = time.monotonic()
    out = _pytest("-rA", str(CASES / "cases_watchdog.py"), env={
        "KUBELINE_TEST_HEALTH_GRACE": "1", "KUBELINE_TEST_WATCHDOG": "0.5"})
    took = time.monotonic() - start
    text = out.stdout + out.stderr
    assert took < 60, f"took {took:.0f}s: {text}"
    assert "1 failed, 2 passed, 1 error" in text, text
    assert "FAILED" in text and "the cluster broke during this test: simulated: kubelet is " \
        "stopped" in text, text
    assert "ERROR" in text and "test_later_cluster_test" in text
