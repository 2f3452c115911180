"""One SDK's side of the ZenML peer bench (run by ``zenml_local.py`` in that SDK's venv).

``python iris_worker.py zenml|kubeline REPEAT``: imports seed 000's iris pipeline
(examples/iris/run.py, with its imports pointed at the SDK), runs it once (uncached), then
times REPEAT fully cached reruns, REPEAT ``Client().get_pipeline(p).last_run.steps[s]
.outputs[o]`` lookups and REPEAT ``Client().get_pipeline(p).runs[1]`` lookups (each lookup
with ``Client()`` called anew, as a script would), and prints one JSON line with every
sample (seconds) and what the checks need: the runs' ids, what each lookup found and the
reruns' step statuses, and this process's peak RSS (``VmHWM``) after the lookups.
Kubeline's runs go through the cluster and real Pods; ZenML's run in this process (its
local orchestrator).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris" / "run.py"
PIPELINE, STEP, OUTPUT = "training_pipeline", "svc_trainer", "trained_model"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[Any]]:
    """Every call's wall seconds, and what each returned."""
    times, results = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        results.append(fn())
        times.append(time.perf_counter() - started)
    return times, results


def peak_rss_mib() -> float:
    """This process's peak RSS so far (``VmHWM``: its own memory since exec, unlike
    ``ru_maxrss``, which keeps the forking parent's high-water mark)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    sdk, repeat = sys.argv[1], int(sys.argv[2])
    source = IRIS.read_text()
    if sdk == "zenml":
        source = source.replace("from kubeline", "from zenml")
    workdir = Path(tempfile.mkdtemp(prefix="kl-peer-"))
    module = f"iris_{sdk}_{uuid.uuid4().hex[:6]}"
    (workdir / f"{module}.py").write_text(source)
    sys.path.insert(0, str(workdir))
    mod = __import__(module)
    client_cls = mod.Client
    started = time.perf_counter()
    first = mod.training_pipeline()
    uncached = time.perf_counter() - started
    cached, reruns = timed(mod.training_pipeline, repeat)

    def lineage() -> Any:
        return client_cls().get_pipeline(PIPELINE).last_run.steps[STEP].outputs[OUTPUT]

    def second_run() -> Any:
        return client_cls().get_pipeline(PIPELINE).runs[1]

    lineage_s, outputs = timed(lineage, repeat)
    runs1_s, older = timed(second_run, repeat)
    # ZenML 0.98's outputs[o] is a list of the output's versions (one here); Kubeline's is
    # the version itself
    versions = [out[0] if sdk == "zenml" and len(out) == 1 else out for out in outputs]
    print(json.dumps({
        "sdk": sdk, "uncached": uncached, "cached": cached, "lineage": lineage_s,
        "runs1": runs1_s,
        "run_ids": [str(run.id) for run in (first, *reruns)],
        "first_status": str(first.status),
        "cached_step_statuses": sorted({str(st.status) for run in reruns
                                        for st in run.steps.values()}),
        "runs1_ids": [str(run.id) for run in older],
        "lineage_names": [str(getattr(v, "name", v)) for v in versions],
        "peak_rss": peak_rss_mib(),
    }))


if __name__ == "__main__":
    main()
