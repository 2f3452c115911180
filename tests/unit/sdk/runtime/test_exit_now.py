"""``exit_now``: the step process ends with its code, runs atexit handlers and flushes its
streams, and still waits for a non-daemon thread as a normal exit would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from kubeline.runtime.executor import exit_now
out = sys.argv[1]
atexit.register(lambda: open(out, "a").write("atexit\\n"))
if len(sys.argv) > 2:
    def late():
        time.sleep(0.3)
        open(out, "a").write("thread\\n")
    threading.Thread(target=late).start()
print("buffered line", end="")
exit_now(3)
"""


def run(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "out.txt"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), *extra],
                          capture_output=True, text=True, timeout=60)
    return proc, out.read_text() if out.exists() else ""


def test_exit_code_atexit_handlers_and_flushed_output(tmp_path: Path) -> None:
    proc, written = run(tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "buffered line"
    assert written == "atexit\n"


def test_a_running_non_daemon_thread_is_waited_for(tmp_path: Path) -> None:
    proc, written = run(tmp_path, "thread")
    assert proc.returncode == 3, proc.stderr
    assert written.splitlines() == ["thread", "atexit"]
