"""Start, find and stop the local cluster's processes, by PID file.

A PID file records the PID and the process start time (from /proc), so a
recycled PID is never mistaken for one of ours and never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """A process this cluster started."""

    name: str
    pid: int
    start_ticks: int


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the ')' that ends the command name.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class ProcessTable:
    """PID files under one directory; logs under another."""

    def __init__(self, pid_dir: Path, log_dir: Path) -> None:
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    def _pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def get(self, name: str) -> Proc | None:
        """The live process recorded for ``name``, or None (stale files are removed)."""
        path = self._pid_file(name)
        try:
            pid_s, ticks_s = path.read_text().split()
            proc = Proc(name, int(pid_s), int(ticks_s))
        except (OSError, ValueError):
            return None
        if _start_ticks(proc.pid) != proc.start_ticks or _zombie(proc.pid):
            path.unlink(missing_ok=True)
            return None
        return proc

    def running(self) -> list[Proc]:
        if not self.pid_dir.exists():
            return []
        procs = (self.get(p.stem) for p in sorted(self.pid_dir.glob("*.pid")))
        return [p for p in procs if p]

    def start(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        """Start ``argv`` detached (own session), logging to ``logs/<name>.log``."""
        existing = self.get(name)
        if existing:
            return existing
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file(name), "ab")  # noqa: SIM115 - handed to the child
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        child = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
        log.close()
        ticks = None
        for _ in range(50):
            ticks = _start_ticks(child.pid)
            if ticks is not None:
                break
            time.sleep(0.01)
        proc = Proc(name, child.pid, ticks or 0)
        self._pid_file(name).write_text(f"{proc.pid} {proc.start_ticks}\n")
        return proc

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """SIGTERM the recorded process, SIGKILL after ``timeout``. True if one was stopped."""
        proc = self.get(name)
        if not proc:
            self._pid_file(name).unlink(missing_ok=True)
            return False
        _signal(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.get(name):
            _reap(proc.pid)
            time.sleep(0.1)
        if self.get(name):
            _signal(proc.pid, signal.SIGKILL)
            for _ in range(50):
                _reap(proc.pid)
                if not self.get(name):
                    break
                time.sleep(0.1)
        self._pid_file(name).unlink(missing_ok=True)
        return True

    def tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, interval: float = 0.2,
    alive: Callable[[], str | None] | None = None,
) -> float:
    """Poll ``check`` until true; return seconds waited. ``alive`` returns an error if a
    process we wait on died, so a crash fails at once with its log instead of timing out."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:
            pass
        if alive:
            problem = alive()
            if problem:
                raise RuntimeError(f"{what}: {problem}")
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
