"""Shared fixtures: a real cluster for integration and e2e tests.

``cluster`` uses the cluster in ``KUBELINE_TEST_KUBECONFIG`` (or ``KUBECONFIG``
with ``--cluster=existing``) when pointed at one; otherwise it brings up the
local cluster (``kubeline dev up``) and, if it started it, stops it again at the
end of the session. ``--cluster=kind`` uses pytest-kind for users with Docker.

A broken cluster fails the suite fast instead of letting each test time out:

- tests marked ``cluster_restart`` (they stop, kill or break the cluster) run after
  every other test, whatever their file or directory;
- before each test that uses the cluster, a health check (components running, node
  Ready, its kubelet renewing the node Lease) runs; a problem that lasts
  ``KUBELINE_TEST_HEALTH_GRACE`` seconds (30) marks the cluster broken for the rest of
  the session, and every later cluster test fails at once with the reason;
- a watchdog thread runs the same check every ``KUBELINE_TEST_WATCHDOG`` seconds (15; 0
  turns it off) during a cluster test and, when the cluster breaks mid-test, fails that
  test with the reason;
- the moment the cluster is found broken, the reason is printed to the terminal once;
- a session-scoped fixture (``cluster``, ``crds``, ``operator``, ...) that raised prints its
  error to the terminal once, the test that set it up shows the full error, and every later
  test that needs it fails at once saying which fixture failed where (not the same
  traceback again);
- SIGTERM stops the session as Ctrl-C does, so fixtures' finalizers (helm uninstall,
  namespace deletion, scaling the shared operator back) still run.

Every namespace a test makes is labelled as this session's (``tests/leftover_namespaces.py``);
once the cluster is reachable, those a killed session left are deleted, and logged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubeline_release import (
    OPERATOR_NAMESPACE,
    OPERATOR_RELEASE,
    grant_step_pods,
    wait_operator_ready,
)
from leftover_namespaces import create_scratch_namespace, remove_leftover_namespaces

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cluster", default=os.environ.get("KUBELINE_TEST_CLUSTER", "dev"),
        choices=["dev", "existing", "kind"],
        help="dev: the local cluster (kubeline dev up); existing: the cluster in KUBECONFIG; "
             "kind: a kind cluster via pytest-kind (needs Docker).",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/unit" in str(item.fspath) and not item.get_closest_marker("unit"):
            item.add_marker(pytest.mark.unit)
    items[:] = cluster_restart_last(items)


@pytest.fixture(autouse=True)
def _tempfiles_in_pytest_tmp(tmp_path_factory: pytest.TempPathFactory,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test creates in this process through ``tempfile`` (a loaded path artifact or
    saved visualizations: files the SDK hands its caller to keep; a code archive) goes to a
    folder of the test's own under pytest's basetemp, which pytest prunes, instead of piling
    up in /tmp. Session and module fixtures are set up before it and keep the real temp
    directory; subprocesses do too (``TMPDIR`` is unchanged)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("tempfile")))


def cluster_restart_last(items: Sequence[Any]) -> list[Any]:
    """``items`` with those marked ``cluster_restart`` moved to the end (order kept)."""
    restart = [i for i in items if i.get_closest_marker("cluster_restart")]
    return [i for i in items if not i.get_closest_marker("cluster_restart")] + restart


# ----------------------------------------------------------------------------- fail fast


class ClusterHealth:
    """The session's view of the cluster: healthy until a check fails for ``grace`` seconds,
    then broken (with the reason) for the rest of the session."""

    def __init__(self, grace: float, interval: float = 2.0) -> None:
        self.grace, self.interval = grace, interval
        self.check: Callable[[], str | None] | None = None  # set once a cluster is up
        self.broken: str | None = None
        self.lock = threading.Lock()

    def verify(self) -> str | None:
        """Run the check, waiting up to ``grace`` for a problem to clear (a supervised
        component coming back); return the reason when the cluster is (now) broken."""
        if self.broken or self.check is None:
            return self.broken
        with self.lock:
            if self.broken:
                return self.broken
            deadline = time.monotonic() + self.grace
            while (problem := _safe(self.check)) is not None:
                if time.monotonic() >= deadline:
                    self.broken = f"{problem} (for {self.grace:.0f}s)"
                    break
                time.sleep(self.interval)
            return self.broken


def _safe(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as exc:
        return f"health check failed: {type(exc).__name__}: {exc}"


_HEALTH = pytest.StashKey[ClusterHealth]()
_REPORTED = pytest.StashKey[set[str]]()  # what announce() has printed
_FAILED_FIXTURES = pytest.StashKey[dict[str, str]]()  # session fixture -> what it raised
_SIGTERM = pytest.StashKey[Any]()  # the SIGTERM handler before ours
_STARTED = pytest.StashKey[datetime]()  # when this session started


def announce(config: pytest.Config, key: str, message: str) -> None:
    """Print ``message`` to the terminal now (past output capture, flushed), once per
    ``key``; on the main thread only (capture is suspended there)."""
    reported = config.stash.setdefault(_REPORTED, set())
    if key in reported:
        return
    reported.add(key)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message, red=True, bold=True)
            reporter.flush()
        else:
            print(message, file=sys.stderr, flush=True)


def _broken(config: pytest.Config, reason: str) -> str:
    """Announce (once) that the cluster is broken; the message for the test's failure."""
    announce(config, "cluster-broken",
             f"[fail-fast] the cluster is broken: {reason}. Every remaining test that uses "
             "the cluster fails at once; the others still run.")
    return f"the cluster is broken, so this test cannot run: {reason}"


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}: tearing down the fixtures")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STARTED] = datetime.now(UTC)
    config.stash[_HEALTH] = ClusterHealth(
        grace=float(os.environ.get("KUBELINE_TEST_HEALTH_GRACE", "30")))
    config.stash[_FAILED_FIXTURES] = {}
    config.pluginmanager.register(_SessionFixtures(), "kubeline-session-fixtures")
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        config.stash[_SIGTERM] = signal.signal(signal.SIGTERM, _terminate)


class _SessionFixtures:
    """Remembers a session fixture that raised, and prints its error at once. A plugin of
    its own: pytest runs a session fixture's setup hook with the hooks of the rootdir, which
    do not include this conftest's."""

    def __init__(self) -> None:
        self.test: str | None = None  # nodeid of the test that runs now

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.test = nodeid

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any],
                             request: pytest.FixtureRequest) -> Iterator[Any]:
        try:
            return (yield)
        except (Exception, pytest.fail.Exception) as exc:
            if fixturedef.scope == "session" and not isinstance(exc, pytest.skip.Exception):
                self._failed(request.config, fixturedef.argname, exc)
            raise

    def _failed(self, config: pytest.Config, name: str, exc: BaseException) -> None:
        lines = str(exc).strip().splitlines() or [""]
        where = self.test or "session setup"
        config.stash[_FAILED_FIXTURES].setdefault(
            name, f"{type(exc).__name__}: {lines[0][:300]} (in {where})")
        if str(exc).startswith("the cluster is broken"):  # announced already
            return
        detail = "\n".join(f"    {line}" for line in lines[:12])
        announce(config, f"fixture:{name}",
                 f"[fail-fast] session fixture {name!r} failed in {where}:\n"
                 f"    {type(exc).__name__}\n{detail}\n"
                 "Every later test that needs it fails at once.")


def _uses_cluster(item: pytest.Item) -> bool:
    return "cluster" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a test at once, before its fixtures, when the cluster it uses is broken or a
    session fixture it needs has already failed."""
    if _uses_cluster(item):
        broken = item.config.stash[_HEALTH].verify()
        if broken:
            pytest.fail(_broken(item.config, broken), pytrace=False)
    failed = item.config.stash[_FAILED_FIXTURES]
    for name in getattr(item, "fixturenames", ()):
        if name in failed:
            pytest.fail(f"session fixture {name!r} failed earlier, so this test cannot run: "
                        f"{failed[name]}; its full error is in that test's report",
                        pytrace=False)


class _Watchdog:
    """Checks the cluster every ``period`` seconds while a cluster test runs; when it broke,
    interrupts the test (SIGUSR1 to the main thread) so it fails now, not at its timeout."""

    def __init__(self, health: ClusterHealth, period: float = 15.0,
                 config: pytest.Config | None = None) -> None:
        self.health, self.period, self.config = health, period, config
        self.current: str | None = None  # nodeid of the cluster test in its call phase
        self.fired_for: str | None = None
        self.stop = threading.Event()
        self.main = threading.main_thread().ident
        signal.signal(signal.SIGUSR1, self._interrupt)
        threading.Thread(target=self._loop, name="cluster-watchdog", daemon=True).start()

    def _loop(self) -> None:
        while not self.stop.wait(self.period):
            test = self.current
            if test is None or self.health.check is None:
                continue
            if self.health.verify() and self.current == test and self.main is not None:
                self.fired_for = test
                signal.pthread_kill(self.main, signal.SIGUSR1)

    def _interrupt(self, signum: int, frame: Any) -> None:
        if self.current is not None and self.current == self.fired_for:
            self.current = None
            if self.config is not None:
                _broken(self.config, str(self.health.broken))
            pytest.fail(f"the cluster broke during this test: {self.health.broken}",
                        pytrace=False)


_WATCHDOG = pytest.StashKey[_Watchdog]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    dog = item.config.stash.get(_WATCHDOG, None)
    watched = dog is not None and _uses_cluster(item) and \
        not item.get_closest_marker("cluster_restart")
    if watched:
        dog.current = item.nodeid
    try:
        return (yield)
    finally:
        if watched:
            dog.current = None


def start_watching(config: pytest.Config, check: Callable[[], str | None]) -> None:
    """Check the cluster from now on (before each cluster test, and during it); fail now
    when it is already broken."""
    health = config.stash[_HEALTH]
    health.check = check
    period = float(os.environ.get("KUBELINE_TEST_WATCHDOG", "15"))
    if period > 0 and _WATCHDOG not in config.stash:
        config.stash[_WATCHDOG] = _Watchdog(health, period, config)
    broken = health.verify()
    if broken:
        pytest.fail(_broken(config, broken), pytrace=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    dog = config.stash.get(_WATCHDOG, None)
    if dog is not None:
        dog.stop.set()
    if _SIGTERM in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_SIGTERM])


def dev_health_check() -> Callable[[], str | None]:
    """The local cluster's check: every component running, node Ready, Lease renewed."""
    from kubeline.dev.cluster import DevCluster

    dev = DevCluster(log=lambda m: None)
    return dev.health_problem


def api_health_check(kubeconfig: str) -> Callable[[], str | None]:
    """Any cluster's check: some node Ready whose kubelet renews its Lease."""
    from kubeline.dev.health import node_problem
    from kubernetes import client, config

    conf = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=conf)
    conf.retries = False  # one attempt per check: the check itself is retried
    api = client.ApiClient(conf)
    core, coord = client.CoreV1Api(api), client.CoordinationV1Api(api)

    def check() -> str | None:
        try:
            nodes = core.list_node(_request_timeout=5).items
        except Exception as exc:
            return f"the API server does not answer: {type(exc).__name__}: {exc}"
        problems = []
        for node in nodes:
            name = node.metadata.name
            try:
                lease = api.sanitize_for_serialization(coord.read_namespaced_lease(
                    name, "kube-node-lease", _request_timeout=5))
            except Exception:
                lease = None
            problem = node_problem(api.sanitize_for_serialization(node), lease)
            if problem is None:
                return None
            problems.append(problem)
        return "; ".join(problems) or "the cluster has no nodes"
    return check


def _is_dev_kubeconfig(kubeconfig: str) -> bool:
    from kubeline.dev.paths import DevPaths

    try:
        return Path(kubeconfig).resolve() == DevPaths.default().kubeconfig.resolve()
    except OSError:
        return False


@dataclass
class Cluster:
    """A reachable cluster and the tools to drive it."""

    kubeconfig: str
    kubectl_bin: str
    helm_bin: str | None
    image: str
    node_ip: str
    #: The shared S3 settings (the dev cluster's root account: the operator's and tests').
    s3: dict[str, str] = field(default_factory=dict)
    #: The dev S3 server's admin API: each step namespace gets an identity of its own there.
    s3_admin: Any = None

    @property
    def step_bucket(self) -> str:
        """The operator's bucket setting: one bucket per namespace with ``s3_admin``."""
        from kubeline.dev.cluster import S3_NAMESPACE_BUCKET

        return S3_NAMESPACE_BUCKET if self.s3_admin is not None else self.s3.get("bucket", "")

    def give_namespace_s3(self, namespace: str) -> dict[str, str]:
        """The ``kubeline-s3`` Secret of ``namespace``: its own S3 account and bucket on the
        dev cluster (``kubeline.dev.s3_identities``), else a copy of the shared settings."""
        if self.s3_admin is not None:
            from kubeline.dev.s3_identities import ensure_namespace_identity

            settings = ensure_namespace_identity(self.s3_admin, namespace, self.step_bucket)
        else:
            settings = dict(self.s3)
        if settings:
            self.kubectl("create", "secret", "generic", "kubeline-s3", "-n", namespace,
                         *[f"--from-literal={k}={v}" for k, v in settings.items()])
        return settings

    def drop_namespace_s3(self, namespace: str) -> None:
        """Remove what ``give_namespace_s3`` made in the S3 server (best effort)."""
        if self.s3_admin is None:
            return
        from kubeline.dev.s3_identities import delete_namespace_identity

        try:
            delete_namespace_identity(self.s3_admin, namespace, self.step_bucket)
        except Exception as exc:  # a Pod still writing: the next cleanup is the namespace's
            print(f"[s3] could not remove the identity of {namespace}: {exc}", flush=True)

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": self.kubeconfig}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [self.kubectl_bin, *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True,
                                env=self._env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def helm(self, *args: str, check: bool = True, timeout: float = 300
             ) -> subprocess.CompletedProcess[str]:
        if not self.helm_bin:
            raise AssertionError("helm is not available: run `kubeline dev build helm`")
        result = subprocess.run([self.helm_bin, *args], capture_output=True, text=True,
                                env=self._env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result


def _remove_leftovers(config: pytest.Config, cluster: Cluster) -> None:
    """Delete the namespaces killed sessions left (``tests/leftover_namespaces.py``) and say
    which; a problem doing so is reported, and the session goes on."""
    def log(message: str) -> None:
        announce(config, "leftover-namespaces", message)

    try:
        remove_leftover_namespaces(cluster, config.stash[_STARTED], log=log)
    except Exception as exc:
        log(f"[cleanup] could not remove the namespaces killed sessions left: "
            f"{type(exc).__name__}: {exc}")


def _dev_cluster(config: pytest.Config) -> Iterator[Cluster]:
    from kubeline.dev.cluster import DevCluster
    from kubeline.dev.gobuild import tool_path
    from kubeline.dev.images import ensure_kubeline_image

    dev = DevCluster(log=lambda m: print(f"[dev] {m}", flush=True))
    started = not dev.procs.get("kube-apiserver")
    st = dev.up(timeout=240)
    start_watching(config, dev.health_problem)
    image = ensure_kubeline_image(dev, log=lambda m: print(f"[image] {m}", flush=True))
    s3 = st.s3_settings()
    from kubeline.dev.cluster import S3_NAMESPACE_BUCKET

    # The tests' Client is an admin: the root account, each namespace's own bucket.
    env = {
        "KUBECONFIG": str(dev.paths.kubeconfig), "KUBELINE_S3_ENDPOINT": s3["endpoint"],
        "KUBELINE_S3_BUCKET": S3_NAMESPACE_BUCKET, "KUBELINE_S3_REGION": s3["region"],
        "AWS_ACCESS_KEY_ID": s3["accessKeyId"], "AWS_SECRET_ACCESS_KEY": s3["secretAccessKey"],
        "KUBELINE_IMAGE": image,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    kubectl = dev.write_shims() / "kubectl"
    try:
        cluster = Cluster(kubeconfig=str(dev.paths.kubeconfig), kubectl_bin=str(kubectl),
                          helm_bin=str(tool_path("helm")), image=image, node_ip=st.node_ip,
                          s3=s3, s3_admin=st.s3_admin())
        _remove_leftovers(config, cluster)
        yield cluster
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if started and not os.environ.get("KUBELINE_TEST_KEEP_CLUSTER"):
            dev.down()


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    mode = request.config.getoption("--cluster")
    if mode == "kind":
        if not shutil.which("docker") or subprocess.run(
                ["docker", "info"], capture_output=True).returncode != 0:
            pytest.skip("--cluster=kind needs a running Docker engine (pytest-kind creates the "
                        "cluster in Docker); none is available here: use --cluster=dev")
        pytest_kind = pytest.importorskip("pytest_kind", reason="pip install pytest-kind")
        kind = pytest_kind.KindCluster(f"kubeline-{uuid.uuid4().hex[:6]}")
        kind.create()
        try:
            yield Cluster(kubeconfig=str(kind.kubeconfig_path), kubectl_bin=str(kind.kubectl_path),
                          helm_bin=shutil.which("helm"),
                          image=os.environ.get("KUBELINE_IMAGE", "localhost/kubeline:0.1.0"),
                          node_ip="")
        finally:
            kind.delete()
        return
    if mode == "existing" or os.environ.get("KUBELINE_TEST_KUBECONFIG"):
        kubeconfig = os.environ.get("KUBELINE_TEST_KUBECONFIG") or os.environ.get("KUBECONFIG")
        if not kubeconfig:
            pytest.fail("--cluster=existing needs KUBECONFIG or KUBELINE_TEST_KUBECONFIG")
        start_watching(request.config, dev_health_check() if _is_dev_kubeconfig(kubeconfig)
                        else api_health_check(kubeconfig))
        existing = Cluster(kubeconfig=kubeconfig,
                           kubectl_bin=shutil.which("kubectl") or "kubectl",
                           helm_bin=shutil.which("helm"),
                           image=os.environ.get("KUBELINE_IMAGE", "localhost/kubeline:0.1.0"),
                           node_ip=os.environ.get("KUBELINE_TEST_NODE_IP", ""))
        _remove_leftovers(request.config, existing)
        yield existing
        return
    yield from _dev_cluster(request.config)


@pytest.fixture(scope="session")
def crds(cluster: Cluster) -> Cluster:
    """The kubeline.dev CRDs applied server-side and Established."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f",
                    str(ROOT / "crds"))
    return cluster


def _new_namespace(cluster: Cluster) -> str:
    return create_scratch_namespace(cluster, f"t-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh, empty namespace, deleted afterwards."""
    name = _new_namespace(cluster)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture
def make_step_namespace(crds: Cluster) -> Iterator[Callable[[], str]]:
    """Makes fresh namespaces ready for step Pods: each with its own S3 identity in the
    kubeline-s3 Secret, the kubeline-step ServiceAccount and the shared operator's Role for
    step Pods there (as the chart grants it); all deleted afterwards.

    Each enforces the ``restricted`` Pod Security level, so every step Pod an e2e test
    creates there proves it passes it (the API server refuses any that does not)."""
    cluster = crds
    made: list[str] = []

    def make() -> str:
        name = _new_namespace(cluster)
        made.append(name)
        cluster.kubectl("label", "namespace", name, f"{PSA_ENFORCE}=restricted",
                        f"{PSA_ENFORCE}-version=latest", "--overwrite")
        cluster.give_namespace_s3(name)
        cluster.kubectl("create", "serviceaccount", "kubeline-step", "-n", name)
        grant_step_pods(cluster, name)
        return name

    yield make
    for name in made:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
        cluster.drop_namespace_s3(name)


@pytest.fixture
def step_namespace(make_step_namespace: Callable[[], str]) -> str:
    """A fresh namespace ready for step Pods (``make_step_namespace``)."""
    return make_step_namespace()




@pytest.fixture(scope="session")
def operator(crds: Cluster) -> Iterator[Cluster]:
    """The Kubeline operator running in-cluster from the Helm chart and the locally built image.

    Installs (or upgrades, rolling to the current image) release ``kubeline`` in
    ``kubeline-system``, watching all namespaces; uninstalls it afterwards only if
    this session installed it.
    """
    cluster = crds
    existed = OPERATOR_RELEASE in cluster.helm("list", "-q", "-n", OPERATOR_NAMESPACE).stdout
    repo, _, tag = cluster.image.rpartition(":")
    args = [
        "upgrade", "--install", OPERATOR_RELEASE, str(ROOT / "charts" / "kubeline"),
        "-n", OPERATOR_NAMESPACE, "--create-namespace",
        "--set", f"image.repository={repo}", "--set", f"image.tag={tag}",
        "--set-json", "stepNamespaces=[]",
        # --set-string: a hex id of digits only (2% of them) is a number to --set, which the
        # chart's schema refuses for an annotation (helm: "got number, want string").
        "--set-string", f"podAnnotations.kubeline\\.dev/test-session={uuid.uuid4().hex[:8]}",
    ]
    for key, value in cluster.s3.items():
        args += ["--set-string", f"s3.{key}={value}"]
    if cluster.s3:
        args += ["--set-string", f"s3.bucket={cluster.step_bucket}"]
        # Each step namespace has its own identity (make_step_namespace), or, on a cluster
        # without the dev S3 server's accounts, a copy of the tests' keys: shared, said so.
        args += ["--set", "s3.stepCredentials=" + (
            "perNamespace" if cluster.s3_admin is not None else "shared")]
    cluster.helm(*args, timeout=120)
    wait_operator_ready(cluster, OPERATOR_NAMESPACE)
    yield cluster
    if not existed:
        cluster.helm("uninstall", OPERATOR_RELEASE, "-n", OPERATOR_NAMESPACE, "--wait",
                     check=False)
