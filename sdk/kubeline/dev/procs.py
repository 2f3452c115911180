"""Start, find and stop the local cluster's processes, by PID file.

A PID file records the PID and the process start time (from /proc), so a
recycled PID is never mistaken for one of ours and never signalled. Next to it
a spec file keeps the command line, so a process that died can be started
again exactly as before (``restart``). A PID file whose process is gone marks
a crash (``stop`` removes the file, so a deliberate stop leaves none).
"""

from __future__ import annotations

import contextlib
import json
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
    """True when ``pid`` has exited (or is gone). A zombie thread-group leader whose other
    threads still run is not done: its files and sockets stay open until they exit."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            return False
        return len(os.listdir(f"/proc/{pid}/task")) <= 1
    except OSError:
        return True


class ProcessTable:
    """PID files under one directory; logs under another."""

    def __init__(self, pid_dir: Path, log_dir: Path) -> None:
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    def _pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.pid"

    def _spec_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.spec.json"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def recorded(self, name: str) -> Proc | None:
        """The process recorded for ``name``, alive or not."""
        try:
            pid_s, ticks_s = self._pid_file(name).read_text().split()
            return Proc(name, int(pid_s), int(ticks_s))
        except (OSError, ValueError):
            return None

    def get(self, name: str) -> Proc | None:
        """The live process recorded for ``name``, or None."""
        proc = self.recorded(name)
        if proc is None or _start_ticks(proc.pid) != proc.start_ticks or _zombie(proc.pid):
            if proc is not None:
                _reap(proc.pid)
            return None
        return proc

    def crashed(self, name: str) -> bool:
        """True when ``name`` was started and died without being stopped."""
        return self.recorded(name) is not None and self.get(name) is None

    def running(self) -> list[Proc]:
        if not self.pid_dir.exists():
            return []
        procs = (self.get(p.stem) for p in sorted(self.pid_dir.glob("*.pid")))
        return [p for p in procs if p]

    def recorded_argv(self, name: str) -> list[str] | None:
        """The command line ``name`` was last started with (None if never)."""
        spec = self._spec_file(name)
        if not spec.exists():
            return None
        return list(json.loads(spec.read_text())["argv"])

    def restart(self, name: str, why: str = "") -> Proc:
        """Start ``name`` again with the command line it was last started with."""
        spec = json.loads(self._spec_file(name).read_text())
        self._pid_file(name).unlink(missing_ok=True)
        return self.start(name, spec["argv"], env=spec["env"],
                          cwd=Path(spec["cwd"]) if spec["cwd"] else None, note=why)

    def start(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None,
        cwd: Path | None = None, note: str = "",
    ) -> Proc:
        """Start ``argv`` detached (own session), logging to ``logs/<name>.log``."""
        existing = self.get(name)
        if existing:
            return existing
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        spec = self._spec_file(name)
        spec.write_text(json.dumps({"argv": list(argv), "env": env or {},
                                    "cwd": str(cwd) if cwd else None}))
        spec.chmod(0o600)  # the env may hold credentials (the S3 server's keys)
        log = open(self.log_file(name), "ab")  # noqa: SIM115 - handed to the child
        header = f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')}{' ' + note if note else ''}"
        log.write(f"\n{header} {' '.join(argv)}\n".encode())
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
        """The last ``lines`` lines of ``name``'s log (its current run's, read from the end)."""
        try:
            with open(self.log_file(name), "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


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
