"""Scratch namespaces: the ones test sessions and benches make for themselves on a cluster.

A process that makes such a namespace gives it :func:`owner_metadata`: the label
``kubeline.dev/scratch`` (what made it: ``test`` or ``bench``) and the annotation
``kubeline.dev/scratch-owner`` naming the process (machine boot, PID namespace, PID and the
PID's start time). It deletes the namespace when done; a process killed with SIGKILL cannot,
and its namespaces stay. :func:`stale_scratch_namespaces` picks those: a namespace is stale
only when the process that made it provably no longer runs, that is when

- it has the label and a readable owner annotation,
- it was made on this machine since its last boot, in this PID namespace (so the PID means
  the same process here),
- that PID is gone, or belongs to a later process (another start time),
- it was created before ``before`` (the caller's own start), and it is not being deleted.

A namespace of a process that still runs (a concurrent test session), of another machine or
container, or without the label, is never picked. Pure: the caller reads the namespaces and
the processes (:func:`process_start`) and deletes what is picked.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from kubeline.resources.names import GROUP

#: Label on a scratch namespace; its value says what made it (``test``, ``bench``).
LABEL_SCRATCH = f"{GROUP}/scratch"
#: Annotation on a scratch namespace: the :class:`ProcessIdentity` (JSON) of its maker.
ANNOTATION_SCRATCH_OWNER = f"{GROUP}/scratch-owner"


@dataclass(frozen=True)
class ProcessIdentity:
    """A process, told apart from any later one with the same PID."""

    boot: str  # /proc/sys/kernel/random/boot_id: this machine, this boot
    pidns: str  # the PID namespace (/proc/self/ns/pid), in which ``pid`` is meant
    pid: int
    start: int  # when the PID's process started (clock ticks after boot, /proc/<pid>/stat)
    host: str = ""  # for people reading the annotation; not compared

    def to_annotation(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_annotation(cls, text: str | None) -> ProcessIdentity | None:
        """The identity in an owner annotation; None when it is missing or not one."""
        try:
            data = json.loads(text or "")
            return cls(boot=str(data["boot"]), pidns=str(data["pidns"]), pid=int(data["pid"]),
                       start=int(data["start"]), host=str(data.get("host", "")))
        except (ValueError, TypeError, KeyError):
            return None


def process_start(pid: int, proc: Path = Path("/proc")) -> int | None:
    """The start time of process ``pid`` (clock ticks after boot); None when there is none."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last
    # ")"; starttime is field 22 of the whole line, the 20th after comm.
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@cache
def _machine() -> tuple[str, str]:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return boot, os.readlink("/proc/self/ns/pid")


def current_process() -> ProcessIdentity:
    """This process's identity."""
    boot, pidns = _machine()
    pid = os.getpid()
    start = process_start(pid)
    if start is None:
        raise RuntimeError(f"cannot read /proc/{pid}/stat: scratch namespaces need Linux /proc")
    return ProcessIdentity(boot=boot, pidns=pidns, pid=pid, start=start,
                           host=socket.gethostname())


def owner_metadata(purpose: str) -> dict[str, dict[str, str]]:
    """``labels`` and ``annotations`` for a namespace this process makes for ``purpose``
    (``test``, ``bench``): merge them into the namespace's metadata when creating it."""
    return {"labels": {LABEL_SCRATCH: purpose},
            "annotations": {ANNOTATION_SCRATCH_OWNER: current_process().to_annotation()}}


def _created(meta: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None


def owner_is_gone(owner: ProcessIdentity, me: ProcessIdentity,
                  start_of: Callable[[int], int | None]) -> bool:
    """True when ``owner`` provably no longer runs, as seen from ``me``'s machine and PID
    namespace (``start_of(pid)``: that PID's start time now, None when there is none)."""
    if owner.boot != me.boot or owner.pidns != me.pidns:
        return False  # another machine, boot or container: its PIDs mean nothing here
    if owner.pid == me.pid and owner.start == me.start:
        return False
    return start_of(owner.pid) != owner.start


def stale_scratch_namespaces(namespaces: Iterable[Mapping[str, Any]], me: ProcessIdentity,
                             start_of: Callable[[int], int | None],
                             before: datetime) -> list[str]:
    """The names among ``namespaces`` (Namespace objects as the API returns them) that are
    scratch namespaces of a process that no longer runs, created before ``before``."""
    stale = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        if LABEL_SCRATCH not in (meta.get("labels") or {}) or meta.get("deletionTimestamp"):
            continue
        owner = ProcessIdentity.from_annotation(
            (meta.get("annotations") or {}).get(ANNOTATION_SCRATCH_OWNER))
        created = _created(meta)
        if owner is None or created is None or created >= before:
            continue
        if owner_is_gone(owner, me, start_of):
            stale.append(str(meta["name"]))
    return sorted(stale)
