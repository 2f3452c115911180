"""One SDK's side of the ZenML peer bench (run by ``zenml_local.py`` in that SDK's venv).

``python iris_worker.py zenml|kubeline REPEAT``: imports seed 000's iris pipeline
(examples/iris/run.py, with its imports pointed at the SDK), runs it once (uncached), then
times REPEAT fully cached reruns, REPEAT ``last_run.steps[s].outputs[o]`` lookups and
REPEAT ``runs[1]`` lookups, each with a fresh Client, and prints one JSON line with the
medians (seconds) and the process's peak RSS (MiB). Kubeline's runs go through the cluster
and real Pods; ZenML's run in this process (its local orchestrator).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris" / "run.py"


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


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
    cached, run = timed(mod.training_pipeline, repeat)
    status = str(getattr(run, "status", ""))
    step_statuses = sorted({str(getattr(st, "status", "")) for st in run.steps.values()})

    def lineage() -> object:
        pipe = client_cls().get_pipeline("training_pipeline")
        return pipe.last_run.steps["svc_trainer"].outputs["trained_model"]

    def second_run() -> object:
        return client_cls().get_pipeline("training_pipeline").runs[1]

    lineage_s, output = timed(lineage, repeat)
    runs1_s, older = timed(second_run, repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "sdk": sdk, "uncached": uncached, "cached": cached, "cached_status": status,
        "cached_step_statuses": step_statuses,
        "first_status": str(getattr(first, "status", "")),
        "lineage": lineage_s, "lineage_found": output is not None,
        "runs1": runs1_s, "runs1_found": older is not None, "peak_rss_mib": peak,
    }))


if __name__ == "__main__":
    main()
