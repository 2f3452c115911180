"""ZenML 0.98 side by side with Kubeline on seed 000's iris pipeline: the SDK-side figures.

Installs ZenML 0.98.0 (with scikit-learn and pandas) from PyPI into its own venv under
``~/.cache/kubeline/peers/zenml-0.98`` on first use. Then the two systems take turns,
strictly alternating (Z K Z K ..., ``--rounds`` turns each); a turn is:

- ``--repeat`` runs of ``python -c "import <sdk>"`` (after one that warms the page cache):
  wall time, interpreter start included, and peak RSS (the process's ``VmHWM``, printed
  after the import; ``ru_maxrss`` would include this script's RSS at the fork);
- one worker process (``iris_worker.py``, in that SDK's python) with a fresh store (a new
  namespace for Kubeline, a new ZenML config and SQLite store): the iris pipeline once
  (uncached), then ``--repeat`` each of: a fully cached rerun, call -> result;
  ``Client().get_pipeline(p).last_run.steps[s].outputs[o]``; ``Client().get_pipeline(p)
  .runs[1]`` (``Client()`` called anew each time). The worker's answer is checked: every
  rerun's steps cached, ``runs[1]`` the run before the newest, the lookup the trainer's
  ``trained_model``;
- the worker's peak RSS (its ``VmHWM`` after the lookups): interpreter, SDK, the iris
  module's imports (pandas, scikit-learn), the runs and the lookups.

The table pools every sample of a row over the turns: median (min-max, n), and the ratio of
the medians (below 1: Kubeline ahead). The 1-minute load average at each turn's start is
printed with it.

**Not the same work:** Kubeline's runs go through the API server and real step Pods (the
in-cluster operator), so its worker waits for the cluster while ZenML's local orchestrator
runs the steps in the calling process against SQLite (its peak RSS includes the training).
ZenML runs with analytics off and its config in a temporary directory.

Usage: python bench/peers/zenml_local.py [--rounds 5] [--repeat 5]
Needs the local cluster with the operator installed and the S3 settings
(eval "$(kubeline dev env)"); run it under the cluster lock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cached_rerun import make_namespace  # noqa: E402
from kwok_env import core_api  # noqa: E402
from zenml_stats import SDKS, check_worker, format_table, load_summary, table, turns  # noqa: E402

ZENML_VERSION = "0.98.0"
VENV = Path.home() / ".cache" / "kubeline" / "peers" / "zenml-0.98"
WORKER = HERE / "iris_worker.py"
# Peak RSS is the process's own VmHWM: a child's ru_maxrss (wait4, getrusage) also holds
# its parent's RSS at the fork, since Linux keeps the replaced memory's high-water mark
PRINT_HWM = ("print(next(l.split()[1] for l in open('/proc/self/status') "
             "if l.startswith('VmHWM:')))")


def zenml_python() -> Path:
    """The peer venv's python, with ZenML installed (created on first use)."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", f"import zenml; assert zenml.__version__ == '{ZENML_VERSION}'"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"installing ZenML {ZENML_VERSION} into {VENV} (PyPI) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"zenml[local]=={ZENML_VERSION}",
                    "scikit-learn", "pandas"], check=True)
    subprocess.run(check, check=True)
    return python


def measure(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, str]:
    """(wall seconds, stdout) of one run of ``cmd``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        code = subprocess.run(cmd, stdout=out, stderr=err, env=env, cwd=cwd).returncode
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} failed ({code}):\n"
                             f"{out.read().decode()[-2000:]}\n{err.read().decode()[-3000:]}")
        return wall, out.read().decode()


def import_command(python: list[str], sdk: str) -> list[str]:
    """``import <sdk>``, then the process's peak RSS (``VmHWM``) printed as the last line."""
    return [*python, "-c", f"import {sdk}\n{PRINT_HWM}"]


def sdk_envs(zenml_config: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each SDK's python and environment."""
    zenml_env = {**os.environ, "ZENML_CONFIG_PATH": zenml_config,
                 "ZENML_ANALYTICS_OPT_IN": "false", "ZENML_LOGGING_VERBOSITY": "WARN",
                 "AUTO_OPEN_DASHBOARD": "false", "ZENML_ENABLE_RICH_TRACEBACK": "false"}
    zenml_env.pop("PYTHONPATH", None)
    return {"zenml": ([str(zenml_python())], zenml_env),
            "kubeline": ([sys.executable], dict(os.environ))}


def one_turn(sdk: str, python: list[str], env: dict[str, str], repeat: int,
             cwd: str) -> dict[str, Any]:
    """One system's turn: ``repeat`` imports (after one that warms the page cache and .pyc
    files), then one worker process, whose peak RSS is the SDK row."""
    measure(import_command(python, sdk), env, cwd)
    imports = [measure(import_command(python, sdk), env, cwd) for _ in range(repeat)]
    _, stdout = measure([*python, str(WORKER), sdk, str(repeat)], env, cwd)
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    problems = check_worker(result, repeat)
    if problems:
        raise SystemExit(f"{sdk}: the worker did not measure what it should: {problems}")
    result.update(import_s=[i[0] for i in imports],
                  import_rss=[int(i[1].strip().splitlines()[-1]) / 1024 for i in imports])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="turns per system, alternating Z K Z K ... (default 5)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="samples of each timed figure per turn (default 5)")
    args = parser.parse_args()
    if not os.environ.get("KUBELINE_S3_BUCKET"):
        sys.exit('KUBELINE_S3_BUCKET is not set: eval "$(kubeline dev env)" first')
    order = turns(args.rounds)
    core = core_api()
    zenml_root = tempfile.mkdtemp(prefix="kl-zenml-")
    envs = sdk_envs(zenml_root)
    namespaces: list[str] = []
    results: dict[str, list[dict[str, Any]]] = {sdk: [] for sdk in SDKS}
    loads: list[float] = []
    try:
        for i, sdk in enumerate(order):
            python, env = envs[sdk]
            if sdk == "kubeline":  # a fresh namespace: the first run is uncached
                namespaces.append(make_namespace(core))
                # make_namespace may switch this process to the release's per-namespace
                # bucket setting: the worker uses the same
                env = {**env, "KUBELINE_NAMESPACE": namespaces[-1],
                       "KUBELINE_S3_BUCKET": os.environ["KUBELINE_S3_BUCKET"]}
            else:  # a fresh ZenML store for the same reason
                env = {**env, "ZENML_CONFIG_PATH": tempfile.mkdtemp(dir=zenml_root)}
            loads.append(os.getloadavg()[0])
            print(f"turn {i + 1}/{len(order)}: {sdk} (load {loads[-1]:.2f})", flush=True)
            result = one_turn(sdk, python, env, args.repeat, zenml_root)
            results[sdk].append(result)
            print(f"  first run (uncached) {result['uncached']:.2f} s; cached "
                  f"{[round(float(x), 3) for x in result['cached']]} s; "
                  f"peak RSS {result['peak_rss']:.0f} MiB", flush=True)
    finally:
        shutil.rmtree(zenml_root, ignore_errors=True)
        for ns in namespaces:
            with contextlib.suppress(Exception):
                core.delete_namespace(ns, propagation_policy="Background")
    print(f"\n{args.rounds} turns per system of {args.repeat} samples, alternating Z K Z K; "
          "Kubeline through the API server and real step Pods, ZenML in-process with SQLite; "
          + load_summary(loads))
    print("\n".join(format_table(table(results))))


if __name__ == "__main__":
    main()
