"""kubeline.dev.scratch_namespaces picks a scratch namespace only when the process that made it
provably no longer runs: never one of a live process, of another machine, boot or PID
namespace, an unlabelled one, one being deleted, or one made after the caller started."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubeline.dev.scratch_namespaces import (
    ANNOTATION_SCRATCH_OWNER,
    LABEL_SCRATCH,
    ProcessIdentity,
    current_process,
    owner_metadata,
    process_start,
    stale_scratch_namespaces,
)

ME = ProcessIdentity(boot="boot-1", pidns="pid:[1]", pid=100, start=5000, host="here")
STARTED = datetime(2026, 12, 1, 19, 0, 0, tzinfo=UTC)
EARLIER = "2026-12-01T18:30:00Z"
# What runs now on the machine: PID -> its start time.
RUNNING = {100: 5000, 200: 4000, 300: 9999}


def _ns(name: str, owner: ProcessIdentity | str | None, created: str = EARLIER,
        label: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created,
                            "labels": {LABEL_SCRATCH: "test"} if label else {}}
    if owner is not None:
        meta["annotations"] = {ANNOTATION_SCRATCH_OWNER: owner if isinstance(owner, str)
                               else owner.to_annotation()}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T18:59:00Z"
    return {"metadata": meta}


def _owner(pid: int, start: int, **kw: str) -> ProcessIdentity:
    return ProcessIdentity(**{"boot": ME.boot, "pidns": ME.pidns, "pid": pid, "start": start,
                              "host": "here", **kw})  # type: ignore[arg-type]


def test_only_namespaces_of_processes_that_are_gone_are_picked() -> None:
    namespaces = [
        _ns("t-gone", _owner(150, 4500)),  # PID 150 runs no more
        _ns("t-reused", _owner(300, 1234)),  # PID 300 runs, but a later process
        _ns("t-mine", _owner(100, 5000)),  # this process
        _ns("t-live", _owner(200, 4000)),  # a concurrent session
        _ns("t-other-boot", _owner(150, 4500, boot="boot-0")),
        _ns("t-other-container", _owner(150, 4500, pidns="pid:[2]")),
        _ns("t-unlabelled", _owner(150, 4500), label=False),
        _ns("t-no-owner", None),
        _ns("t-bad-owner", '{"pid": "x"}'),
        _ns("t-deleting", _owner(150, 4500), deleting=True),
        _ns("t-after-start", _owner(150, 4500), created="2026-12-01T19:00:00Z"),
        _ns("t-no-time", _owner(150, 4500), created=""),
    ]
    picked = stale_scratch_namespaces(namespaces, ME, RUNNING.get, STARTED)
    assert picked == ["t-gone", "t-reused"]


def test_a_bench_namespace_counts_like_a_test_one() -> None:
    bench = _ns("kl-cached-abc123", _owner(151, 1))
    bench["metadata"]["labels"][LABEL_SCRATCH] = "bench"
    assert stale_scratch_namespaces([bench], ME, RUNNING.get, STARTED) == ["kl-cached-abc123"]


def test_the_owner_annotation_round_trips() -> None:
    me = current_process()
    assert me.pid == os.getpid() and me.start == process_start(os.getpid())
    meta = owner_metadata("test")
    assert meta["labels"] == {LABEL_SCRATCH: "test"}
    assert ProcessIdentity.from_annotation(meta["annotations"][ANNOTATION_SCRATCH_OWNER]) == me
    assert ProcessIdentity.from_annotation("not json") is None
    assert ProcessIdentity.from_annotation(None) is None


def test_process_start_tells_a_finished_process_from_a_running_one() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        start = process_start(child.pid)
        assert isinstance(start, int) and start >= (process_start(os.getpid()) or 0)
    finally:
        child.kill()
        child.wait()
    assert process_start(child.pid) is None
    # The running process's real identity, from the next session's point of view.
    me = current_process()
    gone = ProcessIdentity(me.boot, me.pidns, child.pid, start or 0)
    later = STARTED + timedelta(days=365 * 100)
    ns = _ns("t-real", gone, created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert stale_scratch_namespaces([ns], me, process_start, later) == ["t-real"]
    alive = _ns("t-alive", me, created=ns["metadata"]["creationTimestamp"])
    assert stale_scratch_namespaces([alive], me, process_start, later) == []


def test_a_comm_with_spaces_and_parentheses_is_read(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    fields = ["S", "1"] + ["0"] * 17 + ["777", "0"]
    (tmp_path / "42" / "stat").write_text(f"42 (a (b) c) {' '.join(fields)}\n")
    assert process_start(42, proc=tmp_path) == 777
    assert process_start(43, proc=tmp_path) is None
