"""The step runtime's own cost, without the cluster: ``python -m kubeline.runtime`` as a process.

Runs one step of a trivial chain (``add_one(x: int) -> int``, its input from the chain's
first step, its code from a code archive) as a fresh process against the artifact store
in the environment (``KUBELINE_S3_*``, ``AWS_*``), each time with an empty code cache, as
in a new step Pod. Reported, medians over ``--repeat`` runs (the runs alternate between
the images given with ``--python``, for A/B of runtime changes):

- process start -> runtime entered (interpreter start);
- runtime entered -> code ready (imports, S3 client, code archive fetch + verify);
- code ready -> user function entered (the step's module, its inputs);
- outputs written -> process exited (manifest, step log, exit);
- process start -> exited: what the runtime adds to a step outside the container runtime
  and the kubelet.

Usage: python bench/runtime_start.py [--repeat 9] [--python PY[:PYTHONPATH]]...
Needs an S3 server (eval "$(kubeline dev env)", or any local S3 endpoint) and its bucket;
the runs write under ``artifacts/bench/`` (removed at the end) and the code prefix.
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
import uuid
from pathlib import Path
from typing import Any

from cached_rerun import SOURCE as CHAIN_SOURCE

ROWS = (
    ("process start -> runtime entered", "processStarted", "runtimeEntered"),
    ("runtime entered -> code ready", "runtimeEntered", "codeReady"),
    ("code ready -> step imported", "codeReady", "stepImported"),
    ("step imported -> inputs loaded", "stepImported", "inputsLoaded"),
    ("inputs loaded -> function entered", "inputsLoaded", "functionEntered"),
    ("function entered -> outputs written", "functionEntered", "outputsWritten"),
    ("outputs written -> process exited", "outputsWritten", "exited"),
    ("process start -> process exited", "processStarted", "exited"),
)


def invocation(spec: Any, index: int, store: Any, run: str, inputs: dict[str, Any],
               code: dict[str, str]) -> dict[str, Any]:
    """The wire invocation of step ``index`` (as the operator builds it)."""
    step = spec.steps[index].to_k8s()
    return {
        "namespace": "bench", "pipeline": spec.pipeline, "pipelineName": spec.pipeline_name,
        "run": run, "runUid": uuid.uuid4().hex, "snapshot": "bench", "attempt": 1,
        "step": step, "parameters": step.get("parameters") or {}, "inputs": inputs,
        "outputsUri": store.attempt_uri("bench", spec.pipeline, run, step["name"], 1),
        "code": code,
    }


def run_step(python: str, pythonpath: str, inv: dict[str, Any], store: Any,
             tmp: Path) -> dict[str, float]:
    """Run one attempt as a new process with an empty code cache; its marks (epoch s)."""
    code_dir = tmp / uuid.uuid4().hex
    term = tmp / f"{code_dir.name}.term"
    env = {k: v for k, v in os.environ.items() if k.startswith(("KUBELINE_S3", "AWS_"))}
    env.update({"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "TMPDIR": str(tmp),
                "PYTHONPATH": pythonpath,
                "KUBELINE_INVOCATION": json.dumps(inv), "KUBELINE_CODE_DIR": str(code_dir),
                "KUBELINE_TERMINATION_LOG": str(term), "KUBELINE_API_ACCESS": "none"})
    proc = subprocess.run([python, "-m", "kubeline.runtime"], env=env, cwd=tmp,
                          capture_output=True, text=True)
    exited = time.time()
    if proc.returncode != 0:
        sys.exit(f"the step failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    manifest_uri = json.loads(term.read_text())["manifest"]
    marks = dict(json.loads(store.read_bytes(manifest_uri))["timings"])
    marks["exited"] = exited
    shutil.rmtree(code_dir, ignore_errors=True)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--python", action="append", default=[],
                        help="PYTHON[:PYTHONPATH] to run the runtime with (repeatable: A/B)")
    args = parser.parse_args()
    from kubeline.artifact_store import ArtifactStore, S3Settings
    from kubeline.code_archive import build_archive, upload_archive

    settings = S3Settings.from_env()
    if settings is None:
        sys.exit('KUBELINE_S3_BUCKET is not set: eval "$(kubeline dev env)" first')
    store = ArtifactStore.from_settings(settings)
    here = os.pathsep.join(p for p in sys.path if p.endswith(("/sdk", "/operator")))
    variants = [[*v.split(":", 1), here][:2] for v in args.python] or [[sys.executable, here]]
    tmp = Path(tempfile.mkdtemp(prefix="kl-runtime-start-"))
    try:
        src = tmp / "src"
        src.mkdir()
        module = f"chain_{uuid.uuid4().hex[:6]}"
        (src / f"{module}.py").write_text(CHAIN_SOURCE.format(n=1))
        sys.path.insert(0, str(src))
        pipe = __import__(module).chain10
        spec = pipe.compile(source_root=src).spec
        archive = build_archive(src)
        code = {"uri": upload_archive(store, archive), "sha256": archive.sha256}
        run = f"bench-runtime-{uuid.uuid4().hex[:6]}"
        first = invocation(spec, 0, store, run, {}, code)
        run_step(variants[0][0], variants[0][1], first, store, tmp)
        manifest = json.loads(store.read_bytes(first["outputsUri"] + "/manifest.json"))
        out = manifest["outputs"]["output"]
        inputs = {"x": {"uri": out["uri"], "materializer": out["materializer"],
                        "dataType": out["dataType"], "artifactName": "output", "version": "1",
                        "contentHash": out["contentHash"]}}
        results: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(variants))}
        for r in range(args.repeat):
            for i, (python, pythonpath) in enumerate(variants):
                inv = invocation(spec, 1, store, f"{run}-{i}-{r}", inputs, code)
                results[i].append(run_step(python, pythonpath, inv, store, tmp))
        for i, (python, pythonpath) in enumerate(variants):
            print(f"variant {i}: {python} PYTHONPATH={pythonpath} (n={len(results[i])})")
            for label, start, end in ROWS:
                spans = [m[end] - m[start] for m in results[i]
                         if m.get(start) is not None and m.get(end) is not None]
                if spans:
                    print(f"  {label:<40} median {statistics.median(spans) * 1000:6.0f} ms "
                          f"(min {min(spans) * 1000:.0f}, max {max(spans) * 1000:.0f})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(Exception):  # what the runs wrote: their attempts' prefixes
            store.fs.rm(store.uri("artifacts", "bench", spec.pipeline), recursive=True)


if __name__ == "__main__":
    main()
