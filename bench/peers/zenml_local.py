"""ZenML 0.98 side by side with Kubeline on seed 000's iris pipeline: the SDK-side figures.

Installs ZenML 0.98.0 (with scikit-learn and pandas) from PyPI into its own venv under
``~/.cache/kubeline/peers/zenml-0.98`` on first use, then measures, alternating the two
SDKs round by round (A B A B):

- ``import`` time and peak RSS (``python -c "import zenml"`` / ``"import kubeline"``);
- a fully cached rerun of the iris pipeline, call -> result;
- ``Client().get_pipeline(p).last_run.steps[s].outputs[o]``;
- ``Client().get_pipeline(p).runs[1]``;
- the SDK process's peak RSS over a run, its cached reruns and those lookups.

**Not the same work:** Kubeline's runs go through the API server and real step Pods (the
in-cluster operator); ZenML's local orchestrator runs the steps in the calling process with
a SQLite store. ZenML runs with analytics off and its config in a temporary directory.

Usage: python bench/peers/zenml_local.py [--rounds 2] [--repeat 5]
Needs the local cluster with the operator installed and the S3 settings
(eval "$(kubeline dev env)"); run it under the cluster lock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cached_rerun import make_namespace  # noqa: E402
from kwok_env import core_api  # noqa: E402

ZENML_VERSION = "0.98.0"
VENV = Path.home() / ".cache" / "kubeline" / "peers" / "zenml-0.98"
WORKER = HERE / "iris_worker.py"
ROWS = (("import time", "import_s", "s"), ("import peak RSS", "import_rss", "MiB"),
        ("fully cached iris rerun, call -> result", "cached", "s"),
        ("last_run.steps[s].outputs[o]", "lineage", "s"), ("runs[1]", "runs1", "s"),
        ("SDK peak RSS (run, reruns, lookups)", "peak_rss_mib", "MiB"))


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


def measure(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode()[-800:] if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_maxrss / 1024


def sdk_envs(zenml_config: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each SDK's python and environment."""
    zenml_env = {**os.environ, "ZENML_CONFIG_PATH": zenml_config,
                 "ZENML_ANALYTICS_OPT_IN": "false", "ZENML_LOGGING_VERBOSITY": "WARN",
                 "AUTO_OPEN_DASHBOARD": "false", "ZENML_ENABLE_RICH_TRACEBACK": "false"}
    zenml_env.pop("PYTHONPATH", None)
    return {"zenml": ([str(zenml_python())], zenml_env),
            "kubeline": ([sys.executable], dict(os.environ))}


def one_round(sdk: str, python: list[str], env: dict[str, str], repeat: int,
              cwd: str) -> dict[str, float]:
    imports = [measure([*python, "-c", f"import {sdk}"], env, cwd) for _ in range(repeat + 1)]
    imports = imports[1:]  # the first warms the page cache and .pyc files
    out = subprocess.run([*python, str(WORKER), sdk, str(repeat)], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{sdk} worker failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not (result["lineage_found"] and result["runs1_found"]):
        raise SystemExit(f"{sdk}: a lookup found nothing: {result}")
    print(f"  {sdk}: {json.dumps(result)}", flush=True)
    result["import_s"] = statistics.median(i[0] for i in imports)
    result["import_rss"] = statistics.median(i[1] for i in imports)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("KUBELINE_S3_BUCKET"):
        sys.exit('KUBELINE_S3_BUCKET is not set: eval "$(kubeline dev env)" first')
    core = core_api()
    zenml_root = tempfile.mkdtemp(prefix="kl-zenml-")
    envs = sdk_envs(zenml_root)
    namespaces = []
    results: dict[str, list[dict[str, float]]] = {"kubeline": [], "zenml": []}
    try:
        for r in range(args.rounds):
            order = ("zenml", "kubeline") if r % 2 == 0 else ("kubeline", "zenml")
            for sdk in order:
                python, env = envs[sdk]
                if sdk == "kubeline":  # a fresh namespace: the first run is uncached
                    namespaces.append(make_namespace(core))
                    # make_namespace may switch this process to the release's per-namespace
                    # bucket setting: the worker uses the same
                    env = {**env, "KUBELINE_NAMESPACE": namespaces[-1],
                           "KUBELINE_S3_BUCKET": os.environ["KUBELINE_S3_BUCKET"]}
                else:  # a fresh ZenML store for the same reason
                    env = {**env, "ZENML_CONFIG_PATH": tempfile.mkdtemp(dir=zenml_root)}
                print(f"round {r + 1}: {sdk}", flush=True)
                results[sdk].append(one_round(sdk, python, env, args.repeat, zenml_root))
    finally:
        shutil.rmtree(zenml_root, ignore_errors=True)
        for ns in namespaces:
            with contextlib.suppress(Exception):
                core.delete_namespace(ns, propagation_policy="Background")
    print(f"\nmedians over {args.rounds} rounds of {args.repeat} (Kubeline through real Pods "
          "and the API server; ZenML in-process, SQLite)")
    print(f"{'figure':<42} {'Kubeline':>10} {'ZenML 0.98':>11} {'Kubeline/ZenML':>15}")
    for label, key, unit in ROWS:
        k = statistics.median(x[key] for x in results["kubeline"])
        z = statistics.median(x[key] for x in results["zenml"])
        scale = 1000 if unit == "s" else 1
        shown = "ms" if unit == "s" else unit
        print(f"{label:<42} {k * scale:>7.0f} {shown:<3}{z * scale:>7.0f} {shown:<3} "
              f"{k / z:>14.2f}x")
    for sdk in ("kubeline", "zenml"):
        spread = [round(x["cached"], 3) for x in results[sdk]]
        print(f"{sdk} cached rerun per round (s): {spread}; first run uncached (s): "
              f"{[round(x['uncached'], 2) for x in results[sdk]]}")


if __name__ == "__main__":
    main()
