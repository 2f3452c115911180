"""UI figures: render-to-interactive of 100 / 1,000 / 2,000-step DAGs, the runs list's first
page at 10,000 runs, status-change-to-DOM latency, the run form's load and check times, and
the UI server's RSS.

Synthetic objects go through the API in a fresh namespace (a Pipeline, Snapshots, runs with
their status written through the status subresource); the runs carry an operator-class
label no operator serves, so no operator acts and no Pod starts. The UI server runs as
``kubeline ui`` in a subprocess (its RSS is read from /proc) and Debian's Chromium, driven
by Playwright, loads its pages.

- render-to-interactive: from navigation start to the first animation frame after the DAG
  is laid out (in the worker) and drawn, followed by a click on a node that opens its step
  panel (both measured in the page). A snapshot holds at most 1,000 steps (the CRD's bound),
  so the 2,000-step DAG is served to the page as the same JSON through Playwright's request
  interception: it measures the browser side only, and says so.
- runs list: ``GET /api/runs?limit=50`` (one page, continue token) with 10,000 runs.
- status-change-to-DOM: from the status patch sent to the API server to the node's
  ``data-status`` attribute changing in the page (server-sent events fed by a watch).
- run form: from navigation start to the form of a 50-step snapshot (250 typed parameters)
  drawn with its defaults and the YAML beside it; and from typing an invalid value to the
  operator's message under the field (a check by the UI server).
- dashboard views: API requests (the server's ``x-kubeline-api-requests`` header) and
  milliseconds per view for the models list and a model page, a two-run comparison, the
  artifacts list, and lineage: "which data trained the production model?" (upstream of
  the production version, across a feature and a training pipeline) and a dataset's
  consumers (downstream, by Snapshot label), among all the runs the bench made. Only
  ``--only dashboard``: these figures alone, with ``--runs`` extra runs in the namespace.

Usage: KUBECONFIG=... python bench/ui.py [--runs 10000] [--repeat 3] [--only form|dashboard]
       [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubeline.kube import Kube
from kubeline.resources import names as n

CHROMIUM = os.environ.get("KUBELINE_CHROMIUM", "/usr/bin/chromium")
CLASS = "ui-bench"  # no operator serves this class
WIDTH = 10  # steps per layer of the synthetic DAGs


def snapshot_spec(steps: int) -> dict[str, Any]:
    """A layered DAG: each step takes the output of one step in the layer above."""
    specs = []
    for i in range(steps):
        s: dict[str, Any] = {
            "name": f"step-{i:04d}", "id": f"step_{i:04d}", "function": "work",
            "entrypoint": "bench:work", "codeHash": "0" * 64,
            "outputs": [{"name": "out", "materializer": "kubeline.materializers.builtin."
                                                        "BuiltInMaterializer"}],
        }
        if i >= WIDTH:
            s["inputs"] = [{"name": "x", "step": f"step-{max(0, i - WIDTH - (i % 3)):04d}",
                            "output": "out"}]
        specs.append(s)
    return {"pipeline": "ui-bench", "pipelineName": "ui_bench", "image": "localhost/none:0",
            "steps": specs}


FORM_STEPS = 50


def form_snapshot_spec() -> dict[str, Any]:
    """A chain of FORM_STEPS steps, each with five typed parameters (int, float, bool, str,
    list)."""
    spec = snapshot_spec(FORM_STEPS)
    for s in spec["steps"]:
        s["parameters"] = {"rows": 3, "rate": 0.1, "flag": True, "label": "x", "cols": [1, 2]}
        s["extra"] = {"parameterTypes": {"rows": "integer", "rate": "number", "flag": "boolean",
                                         "label": "string", "cols": "array"},
                      "parameterAnnotations": {"rows": "int", "rate": "float", "flag": "bool",
                                               "label": "str", "cols": "list"}}
    return spec


FORM_JS = """async () => {
  await new Promise(r => { const t = () => document.querySelector(
      "[data-testid='param-step_0049-cols']") && document.querySelector(
      "[data-testid='yaml-editor']").value ? r() : setTimeout(t, 5); t(); });
  return await new Promise(r => requestAnimationFrame(() => r(performance.now())));
}"""


def form_times(browser: Any, url: str, repeat: int) -> tuple[float, float]:
    """Median load-to-form and invalid-value-to-message times (ms)."""
    loads, checks = [], []
    for _ in range(repeat):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        loads.append(page.evaluate(FORM_JS))
        field = page.locator("[data-testid='param-step_0020-rows']")
        t0 = time.perf_counter()
        field.fill("2.5")
        page.locator("[data-testid='problem-step_0020-rows']").wait_for()
        checks.append((time.perf_counter() - t0) * 1000)
        page.close()
    return statistics.median(loads), statistics.median(checks)


def step_status(i: int, phase: str) -> dict[str, Any]:
    st: dict[str, Any] = {"name": f"step_{i:04d}", "phase": phase, "attempts": 1,
                          "startTime": "2026-01-01T00:00:00Z"}
    if phase in ("completed", "cached", "failed"):
        st["endTime"] = "2026-01-01T00:00:05Z"
        st["outputs"] = {"out": f"out-{i:04d}"}
    return st


def phases(steps: int) -> list[str]:
    cycle = ["completed"] * 6 + ["cached"] * 2 + ["running", "failed"]
    return [cycle[i % len(cycle)] for i in range(steps)]


def create_run(kube: Kube, name: str, snapshot: str, statuses: list[dict[str, Any]] | None,
               phase: str = "running") -> None:
    kube.create(n.PIPELINE_RUNS, {
        "kind": "PipelineRun", "metadata": {"name": name, "labels": {n.LABEL_OPERATOR_CLASS: CLASS,
                                              n.LABEL_PIPELINE: "ui-bench"}},
        "spec": {"snapshot": snapshot}})
    status: dict[str, Any] = {"phase": phase, "pipeline": "ui-bench", "snapshot": snapshot}
    if statuses is not None:
        status["steps"] = statuses
        status["progress"] = f"0/{len(statuses)}"
    kube._call(name, kube.custom.patch_namespaced_custom_object_status, n.GROUP, n.VERSION,
               kube.namespace, n.PIPELINE_RUNS, name, {"status": status})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> tuple[float, float]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


INTERACTIVE_JS = """async () => {
  await new Promise(r => { const t = () => document.querySelector('#dag[data-ready="1"]') ?
                            r() : setTimeout(t, 5); t(); });
  const ready = await new Promise(r => requestAnimationFrame(() => r(performance.now())));
  const node = document.querySelector('[data-testid^="step-"]');
  const t0 = performance.now();
  node.click();
  await new Promise(r => { const t = () => document.querySelector('[data-testid="step-panel"],'
                            + ' .panel .loading') ? r() : setTimeout(t, 2); t(); });
  const clicked = await new Promise(r => requestAnimationFrame(() => r(performance.now())));
  return {ready, click: clicked - t0, nodes: Number(document.getElementById('dag').dataset.nodes),
          engine: document.getElementById('dag').dataset.engine};
}"""


def render_times(browser: Any, url: str, repeat: int, payload: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    out = []
    for _ in range(repeat):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        if payload is not None:
            body = json.dumps(payload)
            page.route(re.compile(r".*/api/runs/bench-2000(\?.*)?$"),
                       lambda route, request, body=body: route.fulfill(
                           status=200, content_type="application/json", body=body))
            page.route(re.compile(r".*/api/runs/bench-2000/events.*"),
                       lambda route, request: route.fulfill(
                           status=200, content_type="text/event-stream", body=""))
        page.goto(url)
        out.append(page.evaluate(INTERACTIVE_JS))
        page.close()
    return {"ready_ms": statistics.median(r["ready"] for r in out),
            "click_ms": statistics.median(r["click"] for r in out),
            "nodes": out[0]["nodes"], "engine": out[0]["engine"]}


def synthetic_page(steps: int) -> dict[str, Any]:
    """The run page JSON of a ``steps``-step run, as the server builds it."""
    spec = snapshot_spec(steps)
    ph = phases(steps)
    by_name = {s["name"]: s["id"] for s in spec["steps"]}
    page_steps = []
    for i, s in enumerate(spec["steps"]):
        st = {"id": s["id"], **{k: v for k, v in step_status(i, ph[i]).items() if k != "name"}}
        inputs = [{"name": x["name"], "step": by_name[x["step"]], "output": x["output"]}
                  for x in s.get("inputs", [])]
        page_steps.append({**st, "function": "work", "inputs": inputs, "outputNames": ["out"],
                           "after": [], "enableCache": True})
    arts = [{"id": f"{s['id']}/out", "step": s["id"], "output": "out", "artifactName": "out",
             "dataType": "int", "artifactVersion": None} for s in spec["steps"]]
    return {"run": {"name": "bench-2000", "namespace": "x", "uid": "u", "status": "running",
                    "pipeline": "ui-bench", "snapshot": "s", "resourceVersion": "1"},
            "steps": page_steps, "artifacts": arts, "triggeredRuns": [], "snapshotMissing": False}


def latency(browser: Any, kube: Kube, url: str, run: str, flips: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url)
    page.wait_for_selector("#dag[data-ready='1']")
    page.evaluate("""() => { window.__changes = [];
      let last = document.querySelector("[data-testid='step-step_0001']").dataset.status;
      new MutationObserver(() => {
        const el = document.querySelector("[data-testid='step-step_0001']");
        const status = el && el.dataset.status;
        if (status && status !== last) {
          last = status; window.__changes.push([Date.now(), status]); }
      }).observe(document.getElementById('dag'), {attributes: true, subtree: true,
                                                  childList: true}); }""")
    time.sleep(1.0)  # the event stream is open
    results = []
    for i in range(flips):
        phase = "completed" if i % 2 == 0 else "running"
        statuses = [step_status(0, "completed"), step_status(1, phase),
                    step_status(2, "pending")]
        sent = time.time()
        kube._call(run, kube.custom.patch_namespaced_custom_object_status, n.GROUP, n.VERSION,
                   kube.namespace, n.PIPELINE_RUNS, run, {"status": {"steps": statuses}})
        page.wait_for_function(
            f"() => window.__changes.length > {i} && window.__changes[{i}][1] === '{phase}'",
            timeout=10000)
        results.append((page.evaluate(f"() => window.__changes[{i}][0]") / 1000 - sent) * 1000)
        time.sleep(0.3)
    page.close()
    return results


TRAIN_RUNS = 5


def create_av(kube: Kube, name: str, artifact: str, producer: dict[str, str],
              metadata: dict[str, Any] | None = None) -> str:
    """An ArtifactVersion with its uid label (as the operator writes it); returns the uid."""
    obj = kube.create(n.ARTIFACT_VERSIONS, {
        "kind": "ArtifactVersion",
        "metadata": {"name": name, "labels": {n.LABEL_ARTIFACT: n.label_value(artifact),
                                              n.LABEL_VERSION: name}},
        "spec": {"artifactName": artifact, "version": name, "uri": f"s3://bench/{name}",
                 "materializer": "m", "producer": producer, "metadata": metadata or {}}})
    uid = obj["metadata"]["uid"]
    kube.patch(n.ARTIFACT_VERSIONS, name, {"metadata": {"labels": {n.LABEL_UID: uid}}})
    return uid


def create_exchange(kube: Kube) -> None:
    """Seed 002's exchange as objects: a feature run making ``dataset``, TRAIN_RUNS
    training runs reading it (by uid), the last one's model version in production."""
    feat_spec = {"pipeline": "features", "pipelineName": "features", "image": "x:0", "steps": [
        {"name": "load", "id": "load", "function": "load", "entrypoint": "b:load",
         "codeHash": "0" * 64, "outputs": [{"name": "out", "materializer": "m"}]},
        {"name": "prepare", "id": "prepare", "function": "prepare", "entrypoint": "b:prepare",
         "codeHash": "0" * 64, "inputs": [{"name": "x", "step": "load", "output": "out"}],
         "outputs": [{"name": "output", "materializer": "m"}]}]}
    kube.create(n.PIPELINES, {"kind": "Pipeline", "metadata": {"name": "features"},
                              "spec": {"name": "features"}})
    kube.create(n.SNAPSHOTS, {"kind": "Snapshot", "metadata": {
        "name": "snap-features", "labels": {n.LABEL_PIPELINE: "features"}}, "spec": feat_spec})
    create_run(kube, "feat-1", "snap-features", None, "completed")
    create_av(kube, "feat-load", "raw", {"run": "feat-1", "step": "load", "output": "out"})
    ds = create_av(kube, "ds-1", "dataset", {"run": "feat-1", "step": "prepare",
                                             "output": "output"})
    kube._call("feat-1", kube.custom.patch_namespaced_custom_object_status, n.GROUP, n.VERSION,
               kube.namespace, n.PIPELINE_RUNS, "feat-1", {"status": {
                   "pipeline": "features", "steps": [
                       {"name": "load", "phase": "completed", "outputs": {"out": "feat-load"}},
                       {"name": "prepare", "phase": "completed",
                        "outputs": {"output": "ds-1"}}]}})
    train_spec = {"pipeline": "train", "pipelineName": "train", "image": "x:0", "steps": [
        {"name": "loader", "id": "loader", "function": "loader", "entrypoint": "b:loader",
         "codeHash": "0" * 64, "inputs": [{"name": "data", "artifact": {
             "name": "dataset", "version": "ds-1", "id": ds}}],
         "outputs": [{"name": "X", "materializer": "m"}]},
        {"name": "trainer", "id": "trainer", "function": "trainer", "entrypoint": "b:trainer",
         "codeHash": "0" * 64, "inputs": [{"name": "X", "step": "loader", "output": "X"}],
         "outputs": [{"name": "model", "materializer": "m"},
                     {"name": "acc", "materializer": "m"}]}]}
    spec_labels = {n.LABEL_PIPELINE: "train", **n.snapshot_input_labels(train_spec)}
    kube.create(n.PIPELINES, {"kind": "Pipeline", "metadata": {"name": "train"},
                              "spec": {"name": "train"}})
    kube.create(n.SNAPSHOTS, {"kind": "Snapshot", "metadata": {
        "name": "snap-train", "labels": spec_labels}, "spec": train_spec})
    for i in range(1, TRAIN_RUNS + 1):
        run = f"train-{i}"
        kube.create(n.PIPELINE_RUNS, {"kind": "PipelineRun", "metadata": {"name": run, "labels": {
            n.LABEL_OPERATOR_CLASS: CLASS, n.LABEL_PIPELINE: "train",
            n.LABEL_SNAPSHOT: "snap-train"}}, "spec": {"snapshot": "snap-train"}})
        create_av(kube, f"x-{i}", "X", {"run": run, "step": "loader", "output": "X"})
        create_av(kube, f"model-{i}", "model", {"run": run, "step": "trainer", "output": "model"})
        create_av(kube, f"acc-{i}", "acc", {"run": run, "step": "trainer", "output": "acc"},
                  {"value": 0.9 + i / 100})
        parts = {"code": "c", "parameters": f"p{i}", "inputs": "i"}
        kube._call(run, kube.custom.patch_namespaced_custom_object_status, n.GROUP, n.VERSION,
                   kube.namespace, n.PIPELINE_RUNS, run, {"status": {
                       "phase": "completed", "pipeline": "train", "snapshot": "snap-train",
                       "parameters": {"trainer": {"gamma": i / 1000}, "loader": {}},
                       "steps": [
                           {"name": "loader", "phase": "completed", "outputs": {"X": f"x-{i}"},
                            "cache": {"key": "kl", "parts": {"code": "c"}}},
                           {"name": "trainer", "phase": "completed",
                            "outputs": {"model": f"model-{i}", "acc": f"acc-{i}"},
                            "cache": {"key": f"k{i}", "parts": parts}}]}})
    kube.create(n.MODELS, {"kind": "Model", "metadata": {"name": "bench-model"},
                           "spec": {"name": "bench_model"}})
    last = TRAIN_RUNS
    kube.create(n.MODEL_VERSIONS, {"kind": "ModelVersion", "metadata": {
        "name": "bench-model-1", "labels": {n.LABEL_MODEL: "bench_model"}}, "spec": {
        "model": "bench_model", "version": "1", "stage": "production",
        "producerRun": f"train-{last}", "artifacts": [
            {"name": "model", "artifactVersion": f"model-{last}", "type": "model",
             "run": f"train-{last}", "step": "trainer"},
            {"name": "X", "artifactVersion": f"x-{last}", "type": "data",
             "run": f"train-{last}", "step": "loader"}]}})
    deadline = time.monotonic() + 60  # the operator applies the stage
    while (kube.get(n.MODEL_VERSIONS, "bench-model-1").get("status") or {}).get(
            "stage") != "production":
        if time.monotonic() > deadline:
            raise RuntimeError("the operator did not apply the production stage in 60 s")
        time.sleep(0.3)


def dashboard_figures(url: str, ns: str, repeat: int, runs_in_namespace: int) -> None:
    """Requests and milliseconds per dashboard view (medians of ``repeat``)."""
    import urllib.request

    views = [
        ("models list", "/api/models"),
        ("model page (versions, access review)", "/api/models/bench_model"),
        ("compare 2 runs", "/api/compare?runs=train-1,train-2"),
        ("artifacts list (first page)", "/api/artifact-names"),
        ("artifact versions", "/api/artifact-names/dataset"),
        ("lineage: which data trained the production model",
         "/api/lineage?model=bench_model&version=production"),
        ("lineage: a dataset's consumers", "/api/lineage?artifact=ds-1"),
    ]
    for label, path in views:
        times, requests, body = [], "", {}
        sep = "&" if "?" in path else "?"
        for _ in range(repeat):
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"{url}{path}{sep}ns={ns}") as resp:
                body = json.loads(resp.read())
                requests = resp.headers.get("x-kubeline-api-requests", "?")
            times.append((time.perf_counter() - t0) * 1000)
        extra = ""
        if "nodes" in body:
            pipelines = [p["pipeline"] for p in body["upstreamPipelines"]]
            down = sum(1 for x in body["nodes"] if x["side"] == "downstream")
            extra = (f"; {len(body['nodes'])} nodes, upstream pipelines {pipelines}, "
                     f"{down} downstream steps")
        print(f"{label}: {requests} API requests, median {statistics.median(times):.0f} ms "
              f"(max {max(times):.0f}; {runs_in_namespace} runs in the namespace{extra})")


def start_ui(ns: str) -> tuple[subprocess.Popen[bytes], str]:
    """``kubeline ui`` in a subprocess, serving namespace ``ns``; returns it and its URL."""
    port = free_port()
    env = {**os.environ, "KUBELINE_NAMESPACE": ns}
    proc = subprocess.Popen([sys.executable, "-m", "kubeline.cli.main", "ui", "--no-browser",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def many_runs(kube: Kube, count: int) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: create_run(kube, f"ui-bench-{i:06d}", "snap-3", None,
                                           "completed"), range(count)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--flips", type=int, default=10)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", choices=["form", "dashboard"],
                    help="measure only the run form, or only the dashboard views (with --runs "
                    "extra runs)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    ns = f"ui-bench-{uuid.uuid4().hex[:6]}"
    base = Kube.connect()
    core = base.core
    from kubeline.dev.scratch_namespaces import owner_metadata
    from kubernetes import client as k8s

    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(
        name=ns, **owner_metadata("bench"))))
    kube = Kube(namespace=ns, api_client=base.api_client)
    proc = None
    try:
        kube.create(n.PIPELINES, {"kind": "Pipeline", "metadata": {"name": "ui-bench"},
                                  "spec": {"name": "ui_bench"}})
        create_exchange(kube)
        if args.only == "dashboard":
            kube.create(n.SNAPSHOTS, {"kind": "Snapshot", "metadata": {
                "name": "snap-3", "labels": {n.LABEL_PIPELINE: "ui-bench"}},
                "spec": snapshot_spec(3)})
            many_runs(kube, args.runs)
            proc, url = start_ui(ns)
            dashboard_figures(url, ns, max(args.repeat, 5), args.runs + TRAIN_RUNS + 1)
            rss, hwm = rss_mib(proc.pid)
            print(f"UI server RSS: {rss:.0f} MiB (peak {hwm:.0f} MiB)")
            return 0
        for steps in (3, 100, 1000):
            kube.create(n.SNAPSHOTS, {"kind": "Snapshot", "metadata": {"name": f"snap-{steps}",
                                                   "labels": {n.LABEL_PIPELINE: "ui-bench"}},
                                      "spec": snapshot_spec(steps)})
        kube.create(n.SNAPSHOTS, {"kind": "Snapshot", "metadata": {"name": "snap-form",
                                               "labels": {n.LABEL_PIPELINE: "ui-bench"}},
                                  "spec": form_snapshot_spec()})
        for steps in (100, 1000):
            ph = phases(steps)
            create_run(kube, f"bench-{steps}", f"snap-{steps}",
                       [step_status(i, ph[i]) for i in range(steps)])
        create_run(kube, "bench-live", "snap-3", [step_status(0, "completed"),
                                                  step_status(1, "running"),
                                                  step_status(2, "pending")])
        proc, url = start_ui(ns)
        print(f"UI bench in namespace {ns} (server pid {proc.pid})")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            form_url = f"{url}/snapshots/snap-form/run?ns={ns}"
            form_times(browser, form_url, 1)  # warm caches
            load_ms, check_ms = form_times(browser, form_url, args.repeat)
            print(f"run form ({FORM_STEPS} steps, {FORM_STEPS * 5} typed parameters): drawn "
                  f"{load_ms:.0f} ms after navigation; invalid value to the operator's message "
                  f"{check_ms:.0f} ms (medians of {args.repeat})")
            if args.only == "form":
                browser.close()
                return 0
            render_times(browser, f"{url}/runs/bench-100?ns={ns}", 1)  # warm caches
            for steps in (100, 1000):
                r = render_times(browser, f"{url}/runs/bench-{steps}?ns={ns}", args.repeat)
                print(f"render-to-interactive {steps:>5} steps: {r['ready_ms']:7.0f} ms "
                      f"(click to panel {r['click_ms']:.0f} ms; {r['nodes']} nodes, "
                      f"{r['engine']}; median of {args.repeat}; goal < 2000 ms at 1,000)")
            r = render_times(browser, f"{url}/runs/bench-2000?ns={ns}", args.repeat,
                             synthetic_page(2000))
            print(f"render-to-interactive  2000 steps: {r['ready_ms']:7.0f} ms (click to panel "
                  f"{r['click_ms']:.0f} ms; {r['nodes']} nodes, {r['engine']}; page JSON "
                  "intercepted: a snapshot holds at most 1,000 steps)")
            lat = latency(browser, kube, f"{url}/runs/bench-live?ns={ns}", "bench-live",
                          args.flips)
            print(f"status-change-to-DOM: median {statistics.median(lat):.0f} ms, max "
                  f"{max(lat):.0f} ms over {len(lat)} changes (goal < 1000 ms)")

            started = time.monotonic()
            many_runs(kube, args.runs)
            print(f"created {args.runs} runs in {time.monotonic() - started:.0f}s")
            import urllib.request

            times = []
            for _ in range(11):
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"{url}/api/runs?ns={ns}&limit=50") as resp:
                    body = json.loads(resp.read())
                times.append((time.perf_counter() - t0) * 1000)
            assert len(body["items"]) == 50 and body["continue"]
            print(f"runs list first page at {args.runs + 3} runs: median "
                  f"{statistics.median(times):.0f} ms (p max {max(times):.0f} ms; goal < 300 ms)")
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(f"{url}/runs?ns={ns}")
            page.locator("[data-testid='runs'] tbody tr").nth(49).wait_for()
            print(f"runs page in the browser (50 rows drawn): "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")
            page.close()
            browser.close()
        dashboard_figures(url, ns, args.repeat, args.runs + TRAIN_RUNS + 4)
        rss, hwm = rss_mib(proc.pid)
        print(f"UI server RSS: {rss:.0f} MiB (peak {hwm:.0f} MiB)")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if not args.keep:
            core.delete_namespace(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
