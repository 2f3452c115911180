"""Schedules on the local cluster: real API server, real step Pods, real S3.

Most tests run the operator as a subprocess (``python -m kubeline_operator``) with its own
operator class, watching only the test's namespace and started with the test flag that
allows second-level intervals, so that a test takes seconds instead of minutes; it is the
same code as the in-cluster operator, and it can be killed with SIGKILL and started again.
One test schedules through the SDK (``with_options(schedule=...)``) on a minutely cron with
the in-cluster operator installed by the chart.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubeline.resources import names as n
from polling import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SubprocessOperator:
    """``python -m kubeline_operator`` for one namespace and operator class."""

    def __init__(self, cluster: Any, namespace: str, klass: str, log_dir: Path) -> None:
        self.cluster, self.namespace, self.klass = cluster, namespace, klass
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, **extra_env: str) -> subprocess.Popen[bytes]:
        env = {**os.environ,
               "KUBECONFIG": self.cluster.kubeconfig,
               "KUBELINE_OPERATOR_CLASS": self.klass,
               "KUBELINE_WATCH_NAMESPACES": self.namespace,
               "KUBELINE_SCHEDULE_TEST_INTERVALS": "true",
               "KUBELINE_IMAGE_PULL_POLICY": "Never",
               "KUBELINE_SNAPSHOT_GRACE_SECONDS": "5",
               "KUBELINE_HEALTH_PORT": str(free_port()),
               "KUBELINE_METRICS_PORT": str(free_port()),
               "KUBELINE_PEERING": "",
               "PYTHONPATH": f"{ROOT / 'sdk'}:{ROOT / 'operator'}", **extra_env}
        env.setdefault("KUBELINE_S3_BUCKET", self.cluster.s3.get("bucket", "kubeline"))
        log = open(self.log_dir / f"operator-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "kubeline_operator"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean-up, no last status write (a crash)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(proc)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.log_dir.glob("operator-*.log")))

    def log_of(self, index: int) -> str:
        return (self.log_dir / f"operator-{index}.log").read_text(errors="replace")


@pytest.fixture
def ns(step_namespace: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Not the shared ``ns``: these tests run their own operator (``sub_operator``)."""
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    monkeypatch.setenv("KUBELINE_SCHEDULE_TEST_INTERVALS", "true")
    return step_namespace


@pytest.fixture
def sub_operator(crds: Any, ns: str, tmp_path: Path) -> Iterator[SubprocessOperator]:
    op = SubprocessOperator(crds, ns, f"sched-{uuid.uuid4().hex[:6]}", tmp_path)
    try:
        yield op
    finally:
        op.stop_all()
        print(op.logs()[-6000:])


def load_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> Any:
    module = f"sched_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "import time\n\nfrom kubeline import pipeline, step\n\n" + source)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)


QUICK = ("@step\ndef tick(x: int = 1) -> int:\n    return x + 1\n\n"
         "@pipeline(enable_cache=False)\ndef ticking():\n    tick()\n")
SLOW = ("@step\ndef nap(seconds: int = 20) -> int:\n    time.sleep(seconds)\n    return seconds\n\n"
        "@pipeline(enable_cache=False)\ndef napping():\n    nap()\n")


def snapshot_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, attr: str) -> str:
    """Create the pipeline's Snapshot through the SDK (code in S3); returns its name."""
    mod = load_pipeline(tmp_path, monkeypatch, source)
    snap = getattr(mod, attr).create_snapshot(name=f"{attr}-{uuid.uuid4().hex[:4]}")
    return str(snap.object_name)


def apply_schedule(cluster: Any, namespace: str, name: str, klass: str, **spec: Any) -> None:
    """A Schedule as it would come from Git: plain YAML/JSON through kubectl apply."""
    body = {"apiVersion": n.API_VERSION, "kind": "Schedule",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {n.LABEL_OPERATOR_CLASS: klass}},
            "spec": spec}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def schedule(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    return json.loads(cluster.kubectl("get", "schedule", name, "-n", namespace, "-o",
                                      "json").stdout)


def runs_of(cluster: Any, namespace: str, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "pipelineruns", "-n", namespace, "-l",
                          f"{n.LABEL_SCHEDULE}={name}", "-o", "json").stdout
    items = json.loads(out)["items"]
    return sorted(items, key=lambda r: r["metadata"]["annotations"][n.ANNOTATION_SCHEDULED_TIME])


def phase(run: dict[str, Any]) -> str:
    return str((run.get("status") or {}).get("phase") or "initialized")


def due_times(runs: list[dict[str, Any]]) -> list[str]:
    return [r["metadata"]["annotations"][n.ANNOTATION_SCHEDULED_TIME] for r in runs]


# ----------------------------------------------------------------------------- tests


def test_schedule_from_git_runs_complete_point_back_and_suspend_stops_them(
        crds: Any, ns: str, sub_operator: SubprocessOperator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    snap = snapshot_of(tmp_path, monkeypatch, QUICK, "ticking")
    sub_operator.start()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    apply_schedule(crds, ns, "every6", sub_operator.klass, snapshot=snap, intervalSeconds=6,
                   startTime=rfc3339(start), catchUp="latest",
                   config={"steps": {"tick": {"parameters": {"x": 41}}}})

    def two_completed() -> list[dict[str, Any]] | None:
        done = [r for r in runs_of(crds, ns, "every6") if phase(r) == "completed"]
        return done[:2] if len(done) >= 2 else None

    completed = wait_for("two completed scheduled runs", two_completed, timeout=180, interval=1)
    for run in completed:
        meta = run["metadata"]
        when = datetime.fromisoformat(
            meta["annotations"][n.ANNOTATION_SCHEDULED_TIME].replace("Z", "+00:00"))
        assert meta["name"] == n.schedule_run_name("every6", when.timestamp())
        made = datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00"))
        assert timedelta(0) <= made - when <= timedelta(seconds=3), (made, when)  # on time
        assert (when - start).total_seconds() % 6 == 0
        assert meta["labels"][n.LABEL_SCHEDULE] == "every6"
        assert meta["labels"][n.LABEL_PIPELINE] == n.dns_name("ticking")  # added by the operator
        assert run["spec"]["config"]["steps"]["tick"]["parameters"]["x"] == 41
    from kubeline.client import Client

    view = Client(namespace=ns).get_pipeline_run(completed[0]["metadata"]["name"])
    assert view.schedule is not None and view.schedule.name == "every6"
    assert view.steps["tick"].output.load() == 42
    status = schedule(crds, ns, "every6")["status"]
    assert status["lastScheduleTime"] >= due_times(completed)[-1]
    assert status["nextScheduleTime"] > status["lastScheduleTime"]
    assert status["conditions"][0]["type"] == "Ready"
    table = crds.kubectl("get", "schedules", "-n", ns).stdout
    for column in ("SCHEDULE", "TIMEZONE", "SUSPENDED", "LAST", "NEXT", "ACTIVE"):
        assert column in table

    # Suspend: no new run while suspended, the skipped times are counted and explained.
    crds.kubectl("patch", "schedule", "every6", "-n", ns, "--type=merge",
                 "-p", '{"spec": {"suspend": true}}')
    wait_for("the operator to see the suspension", lambda: (
        schedule(crds, ns, "every6")["status"]["conditions"][0]["reason"] == "Suspended"),
        timeout=30)
    before = {r["metadata"]["name"] for r in runs_of(crds, ns, "every6")}
    time.sleep(15)  # two or three due times pass
    after = {r["metadata"]["name"] for r in runs_of(crds, ns, "every6")}
    assert after == before, f"runs created while suspended: {sorted(after - before)}"
    status = schedule(crds, ns, "every6")["status"]
    assert "nextScheduleTime" not in status
    assert any(s["reason"] == "Suspended" for s in status["recentSkips"]), status
    assert status["skippedCount"] >= 2
    # Resume: runs start again from the next due time (nothing from the suspended period).
    resumed_at = rfc3339(datetime.now(UTC))
    crds.kubectl("patch", "schedule", "every6", "-n", ns, "--type=merge",
                 "-p", '{"spec": {"suspend": false}}')
    new = wait_for("a run after resuming", lambda: [
        r for r in runs_of(crds, ns, "every6") if r["metadata"]["name"] not in after],
        timeout=30)
    assert all(t > resumed_at for t in due_times(new)), (due_times(new), resumed_at)


def test_forbid_skips_a_time_while_a_slow_run_is_active(
        crds: Any, ns: str, sub_operator: SubprocessOperator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    snap = snapshot_of(tmp_path, monkeypatch, SLOW, "napping")
    sub_operator.start()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    apply_schedule(crds, ns, "forbid", sub_operator.klass, snapshot=snap, intervalSeconds=5,
                   startTime=rfc3339(start), concurrencyPolicy="Forbid")
    max_active = 0

    def skipped_while_active() -> dict[str, Any] | None:
        nonlocal max_active
        active = [r for r in runs_of(crds, ns, "forbid")
                  if phase(r) not in ("completed", "failed", "cached", "cancelled")]
        max_active = max(max_active, len(active))
        status = schedule(crds, ns, "forbid").get("status") or {}
        skips = [s for s in status.get("recentSkips") or []
                 if s["reason"] == "ConcurrencyForbidden"]
        return status if skips else None

    status = wait_for("a time skipped by Forbid", skipped_while_active, timeout=120, interval=1)
    skipped = next(c for c in status["conditions"] if c["type"] == "Skipped")
    assert skipped["reason"] == "ConcurrencyForbidden" and skipped["status"] == "True"
    assert "concurrencyPolicy is Forbid" in skipped["message"]
    first = runs_of(crds, ns, "forbid")[0]["metadata"]["name"]
    assert first in skipped["message"]  # names the run that was still active
    assert status["skippedCount"] >= 1
    # The slow run finishes; a later due time runs; never two at once.
    wait_for("a second run after the first finished", lambda: (
        len(runs_of(crds, ns, "forbid")) >= 2 or None), timeout=120, interval=1)
    runs = runs_of(crds, ns, "forbid")
    assert phase(runs[0]) == "completed", runs[0].get("status")
    assert max_active <= 1
    events = crds.kubectl("get", "events", "-n", ns, "--field-selector",
                          "involvedObject.kind=Schedule", "-o", "json").stdout
    assert "TimeSkipped" in events and "RunCreated" in events


def test_operator_killed_across_a_due_time_creates_that_run_once(
        crds: Any, ns: str, sub_operator: SubprocessOperator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    snap = snapshot_of(tmp_path, monkeypatch, QUICK, "ticking")
    proc = sub_operator.start()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    apply_schedule(crds, ns, "once", sub_operator.klass, snapshot=snap, runAt=rfc3339(due))
    wait_for("the schedule's next time", lambda: (
        (schedule(crds, ns, "once").get("status") or {}).get("nextScheduleTime")
        == rfc3339(due)), timeout=30)
    sub_operator.kill(proc)  # SIGKILL before the due time
    wait_for("the due time to pass", lambda: datetime.now(UTC) > due + timedelta(seconds=5),
             timeout=60)
    assert runs_of(crds, ns, "once") == []  # nobody ran it while the operator was down
    sub_operator.start()
    run = wait_for("the missed run after the restart", lambda: runs_of(crds, ns, "once"),
                   timeout=60)
    assert [r["metadata"]["name"] for r in run] == [n.schedule_run_name("once", due.timestamp())]
    status = wait_for("the run recorded in status", lambda: (
        lambda st: st if st.get("runCount") == 1 else None)(
            schedule(crds, ns, "once").get("status") or {}), timeout=30)
    assert status["lastScheduleTime"] == rfc3339(due)
    assert status.get("missedCount", 0) == 0
    # A second crash and restart after the run exists changes nothing.
    sub_operator.kill(sub_operator.procs[-1])
    sub_operator.start()
    time.sleep(8)
    assert len(runs_of(crds, ns, "once")) == 1
    assert (schedule(crds, ns, "once").get("status") or {}).get("runCount") == 1
    done = wait_for("the run to complete", lambda: (
        phase(runs_of(crds, ns, "once")[0]) in ("completed", "failed")) or None, timeout=180)
    assert done and phase(runs_of(crds, ns, "once")[0]) == "completed"


def test_two_operator_replicas_fire_each_due_time_once(
        crds: Any, ns: str, sub_operator: SubprocessOperator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two replicas of the same operator class, both acting (no peering at all, the worst
    case): every due time still gets exactly one run and status counts each once."""
    snap = snapshot_of(tmp_path, monkeypatch, QUICK, "ticking")
    sub_operator.start()
    sub_operator.start()
    time.sleep(3)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    end = start + timedelta(seconds=24)
    apply_schedule(crds, ns, "twins", sub_operator.klass, snapshot=snap, intervalSeconds=3,
                   startTime=rfc3339(start), endTime=rfc3339(end))
    wait_for("the end time", lambda: datetime.now(UTC) > end + timedelta(seconds=4), timeout=60)
    runs = runs_of(crds, ns, "twins")
    expected = [rfc3339(start + timedelta(seconds=3 * k)) for k in range(9)]  # start..end
    assert due_times(runs) == expected, sub_operator.logs()[-3000:]
    status = wait_for("status to settle", lambda: (
        lambda st: st if st.get("runCount") == len(expected) else None)(
            schedule(crds, ns, "twins").get("status") or {}), timeout=20)
    assert status.get("skippedCount", 0) == 0 and status.get("missedCount", 0) == 0
    assert "nextScheduleTime" not in status  # past endTime
    assert next(c for c in status["conditions"] if c["type"] == "Ready")["reason"] == "Finished"


def test_peered_replicas_only_the_active_one_schedules_and_the_other_takes_over(
        crds: Any, ns: str, sub_operator: SubprocessOperator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two replicas with kopf peering (priorities 10 and 0): only the higher one creates
    runs; killed, the other one takes over once the peer's keep-alive expires."""
    snap = snapshot_of(tmp_path, monkeypatch, QUICK, "ticking")
    crds.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "kopf.dev/v1", "kind": "KopfPeering",
        "metadata": {"name": "sched-peer", "namespace": ns}}))
    high = sub_operator.start(KUBELINE_PEERING="sched-peer", KUBELINE_PEERING_PRIORITY="10")
    sub_operator.start(KUBELINE_PEERING="sched-peer", KUBELINE_PEERING_PRIORITY="0")
    wait_for("both peers in the peering object", lambda: len(json.loads(crds.kubectl(
        "get", "kopfpeering", "sched-peer", "-n", ns, "-o", "json").stdout).get(
            "status") or {}) >= 2, timeout=60, interval=1)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    apply_schedule(crds, ns, "peered", sub_operator.klass, snapshot=snap, intervalSeconds=3,
                   startTime=rfc3339(start))
    wait_for("five runs", lambda: len(runs_of(crds, ns, "peered")) >= 5, timeout=60)
    times = due_times(runs_of(crds, ns, "peered"))
    assert len(times) == len(set(times))
    assert "created run" in sub_operator.log_of(0)
    assert "created run" not in sub_operator.log_of(1)  # paused by the higher-priority peer
    sub_operator.kill(high)
    killed_at = rfc3339(datetime.now(UTC))

    def runs_after_kill() -> list[str] | None:
        later = [t for t in due_times(runs_of(crds, ns, "peered")) if t > killed_at]
        return later or None

    later = wait_for("the remaining replica to take over", runs_after_kill, timeout=150,
                     interval=2)
    assert "created run" in sub_operator.log_of(1)
    runs = runs_of(crds, ns, "peered")
    assert len(due_times(runs)) == len(set(due_times(runs)))  # never a due time twice
    assert later


def test_sdk_schedule_runs_on_the_in_cluster_operator(
        cluster: Any, ns: str, operator: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.client import Client
    from kubeline.config.schedule import Schedule

    mod = load_pipeline(tmp_path, monkeypatch, QUICK)
    created = mod.ticking.with_options(schedule=Schedule(
        name="Every Minute", cron_expression="* * * * *", time_zone="Europe/Berlin"))()
    assert created.name == "Every Minute" and created.cron_expression == "* * * * *"
    client = Client(namespace=ns)
    assert [s.name for s in client.list_schedules()] == ["Every Minute"]
    assert client.list_pipeline_runs(pipeline="ticking").total == 0  # a schedule, no run

    def completed_run() -> Any:
        runs = client.get_schedule("Every Minute").runs
        return runs[0] if runs and runs[0].status == "completed" else None

    run = wait_for("the first minutely run to complete", completed_run, timeout=200, interval=2)
    assert run.schedule is not None and run.schedule.name == "Every Minute"
    assert run.scheduled_time is not None and run.scheduled_time.second == 0
    assert run.steps["tick"].output.load() == 2
    out = subprocess.run([sys.executable, "-m", "kubeline.cli.main", "-n", ns, "schedule",
                          "list", "-o", "json"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": f"{ROOT / 'sdk'}"})
    assert json.loads(out.stdout)["items"][0]["metadata"]["name"] == created.object_name
    client.deactivate_schedule("Every Minute")
    assert not client.get_schedule("Every Minute").active
    client.delete_schedule("Every Minute")
    assert client.list_schedules().total == 0
    assert client.get_pipeline_run(run.name).schedule_name == created.object_name  # runs stay
