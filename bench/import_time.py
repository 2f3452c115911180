"""Wall time and peak RSS of `python -c "import kubeline"` and `kubeline --help`.

Usage: python bench/import_time.py [--runs N]
Goals: < 0.3 s and < 50 MiB each (ZenML 0.98 measured 1.4 s / 92 MiB here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode()[-500:] if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss / 1024


def cli_path() -> str | None:
    beside = Path(sys.executable).parent / "kubeline"
    return str(beside) if beside.exists() else shutil.which("kubeline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cases = {"python -c 'import kubeline'": [sys.executable, "-c", "import kubeline"],
             "python -c 'pass' (interpreter only)": [sys.executable, "-c", "pass"]}
    cli = cli_path()
    if cli:
        cases["kubeline --help"] = [cli, "--help"]
    else:
        print("kubeline console script not found: install the package (pip install -e .)")
    print(f"median of {args.runs} runs (goal: < 0.300 s, < 50 MiB)")
    for label, cmd in cases.items():
        measure(cmd)  # warm the page cache and .pyc files
        results = [measure(cmd) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in results)
        rss = statistics.median(r[1] for r in results)
        print(f"{label:40s} wall {wall:6.3f} s   peak RSS {rss:6.1f} MiB")


if __name__ == "__main__":
    main()
