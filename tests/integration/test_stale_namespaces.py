"""Against the real API server: a scratch namespace whose session was killed is deleted at the
next session's start; one of a session that still runs, one of another machine and an
unlabelled one stay."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubeline.dev.scratch_namespaces import (
    ANNOTATION_SCRATCH_OWNER,
    LABEL_SCRATCH,
    ProcessIdentity,
    current_process,
    process_start,
)
from leftover_namespaces import create_scratch_namespace, remove_leftover_namespaces
from polling import wait_for

pytestmark = pytest.mark.integration


def _create(cluster: Any, name: str, owner: ProcessIdentity | None) -> None:
    meta: dict[str, Any] = {"name": name}
    if owner is not None:
        meta["labels"] = {LABEL_SCRATCH: "test"}
        meta["annotations"] = {ANNOTATION_SCRATCH_OWNER: owner.to_annotation()}
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}))


def _state(cluster: Any, name: str) -> str:
    """``active``, ``deleting`` or ``gone``."""
    got = cluster.kubectl("get", "namespace", name, "-o", "json", check=False)
    if got.returncode != 0:
        assert "NotFound" in got.stderr, got.stderr
        return "gone"
    return "deleting" if json.loads(got.stdout)["metadata"].get("deletionTimestamp") \
        else "active"


def test_a_killed_session_s_namespace_goes_and_the_others_stay(cluster: Any) -> None:
    # A stand-in for a session killed with SIGKILL: a process that made a namespace and died.
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    me = current_process()
    killed = ProcessIdentity(me.boot, me.pidns, victim.pid, process_start(victim.pid) or -1)
    victim.kill()
    victim.wait()
    suffix = uuid.uuid4().hex[:6]
    gone, live = f"t-killed-{suffix}", f"t-live-{suffix}"
    elsewhere, plain = f"t-elsewhere-{suffix}", f"t-plain-{suffix}"
    made = [gone, live, elsewhere, plain]
    try:
        _create(cluster, gone, killed)
        create_scratch_namespace(cluster, live, wait_for_account=False)  # this session's
        _create(cluster, elsewhere, ProcessIdentity("another-machine", me.pidns, victim.pid,
                                                    killed.start))
        _create(cluster, plain, None)
        logged: list[str] = []
        removed = remove_leftover_namespaces(
            cluster, datetime.now(UTC) + timedelta(seconds=1), log=logged.append)
        assert gone in removed, removed
        assert not {live, elsewhere, plain} & set(removed), removed
        assert any(gone in line for line in logged), logged
        wait_for(f"namespace {gone} deleted", lambda: _state(cluster, gone) != "active",
                 timeout=30)
        assert [_state(cluster, n) for n in (live, elsewhere, plain)] == ["active"] * 3
    finally:
        for name in made:
            cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found",
                            check=False)
