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
    # The reason reached the terminal once, when the check tripped: before the first test's
    # error was reported, not only in the errors at the end.
    banner = "[fail-fast] the cluster is broken: the API server does not answer"
    assert text.count(banner) == 1, text
    assert text.index(banner) < text.index("= ERRORS =") < text.index(reason), text


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
    banner = "[fail-fast] the cluster is broken: simulated: kubelet is stopped"
    assert text.count(banner) == 1, text
    assert text.index(banner) < text.index("= FAILURES ="), text


def test_a_failed_session_fixture_shows_its_error_once_then_fails_the_rest_at_once():
    out = _pytest("-rA", str(CASES / "cases_session_fixture.py"))
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "1 passed, 3 errors" in text, text
    assert text.count("crds: set up") == 1, text  # the fixture ran once
    cause = "the server has asked for the client to provide credentials"
    # At once on the terminal, with the cause, before the reports at the end.
    banner = ("[fail-fast] session fixture 'crds' failed in "
              "tests/unit/fixtures/failfast/cases_session_fixture.py::test_first_needs_crds")
    assert text.count(banner) == 1, text
    assert text.index(banner) < text.index(cause) < text.index("= ERRORS ="), text
    sections = text.split("= ERRORS =", 1)[1].split("short test summary info")[0]
    first, *later = [part for part in sections.split("ERROR at setup of ")[1:]]
    assert first.startswith("test_first_needs_crds") and cause in first, first
    assert "raise AssertionError" in first, first  # the full error, with its traceback
    assert [p.split()[0] for p in later] == ["test_second_needs_crds", "test_third_needs_crds"]
    for part in later:  # short, naming the fixture and where it failed
        assert "session fixture 'crds' failed earlier, so this test cannot run: " \
            "AssertionError: kubectl apply --server-side -f crds failed: (in " \
            "tests/unit/fixtures/failfast/cases_session_fixture.py::test_first_needs_crds)" \
            in part, part
        assert "raise AssertionError" not in part and cause not in part, part


def test_sigterm_stops_the_session_and_still_runs_the_finalizers(tmp_path):
    """A CI run stopped with SIGTERM tears down its fixtures (helm uninstall and the like) as
    Ctrl-C does, instead of leaving their releases and namespaces to the next session."""
    marker = tmp_path / "finalized"
    start = time.monotonic()
    out = _pytest(str(CASES / "cases_sigterm.py"), env={"KUBELINE_TEST_MARKER": str(marker)})
    text = out.stdout + out.stderr
    assert time.monotonic() - start < 40, text
    assert out.returncode == 2, text  # interrupted
    assert "stopped by signal 15" in text, text
    assert marker.read_text() == "torn down", text
