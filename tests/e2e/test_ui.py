"""The UI in a real browser (Chromium through Playwright) against the local cluster.

Each test runs real pipelines with the in-cluster operator, serves the UI from this
process (``kubeline.ui`` over uvicorn, on a free loopback port) and drives Debian's
Chromium: node colours against statuses and the legend, a node turning completed live,
logs while running and after the Pod is deleted, an HTML visualization, the 403 page for
a token without rights, and seed 001's lineage visualizer. Screenshots go to
``build/ui-screenshots/``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import (
    COLORS,
    ROOT,
    UiServer,
    free_port,
    load_module,
    node_status,
    open_run,
    shot,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def ui(ns: str) -> Iterator[UiServer]:
    server = UiServer("local", ns)
    yield server
    server.stop()


PIPELINE = '''
from kubeline import pipeline, step
from kubeline.types import HTMLString


@step
def load() -> int:
    print("loading 41")
    return 41


@step(enable_cache=False)
def train(x: int) -> int:
    print(f"training on {x}")
    return x + 1


@step
def report(x: int, fail: bool = False) -> HTMLString:
    if fail:
        raise ValueError(f"report refused {x}")
    return HTMLString(f"<h1 id='viz'>Model says {x}</h1>")


@pipeline
def ui_pipeline(fail: bool = False):
    report(train(load()), fail=fail)
'''


def test_colours_legend_cache_links_errors_and_html_visualization(
        ns: str, ui: UiServer, browser: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mod = load_module(tmp_path, monkeypatch, PIPELINE)
    first = mod.ui_pipeline()
    assert first.status == "completed"
    second = mod.ui_pipeline.with_options(synchronous=False)(fail=True)
    second.wait(timeout=300, show_progress=False)
    assert second.status == "failed", second.status
    assert {k: s.status for k, s in second.steps.items()} == {
        "load": "cached", "train": "completed", "report": "failed"}

    page = open_run(browser, ui, ns, second.name)
    for step, status in (("load", "cached"), ("train", "completed"), ("report", "failed")):
        assert node_status(page, step) == (status, COLORS[status]), step
    legend = page.locator("[data-testid='legend']")
    assert legend.is_visible()
    for label in ("completed", "running", "failed", "cached", "initialized / pending",
                  "retrying", "cancelled"):
        assert legend.get_by_text(label, exact=True).is_visible(), label
    shot(page, "run-partly-cached-failed")

    # the failed step: its error and traceback tail, and why it was not cached
    page.locator("[data-testid='step-report']").click()
    panel = page.locator("[data-testid='step-panel']")
    panel.locator("[data-testid='step-error']").wait_for()
    assert "report refused 42" in panel.locator("[data-testid='step-error']").inner_text()
    assert "Traceback" in panel.locator("[data-testid='step-error']").inner_text()
    changes = panel.locator("[data-testid='cache-changes']").inner_text()
    assert "parameter fail false → true" in changes, changes
    shot(page, "run-failed-step-panel")

    # the step that never caches says so
    page.locator("[data-testid='step-train']").click()
    page.get_by_text("caching is disabled for this step").wait_for()

    # search a step by name: it is selected and its panel opens
    page.locator("[data-testid='search']").fill("repo")
    page.locator(".matches button", has_text="report").click()
    page.locator("[data-testid='step-panel'] h2", has_text="report").wait_for()
    # the timeline: one bar per step that started, in its status colour
    page.locator("[data-testid='timeline-tab']").click()
    bars = page.locator("[data-testid='timeline'] .tbar")
    bars.first.wait_for()
    statuses = bars.evaluate_all("els => els.map(e => e.dataset.status)")
    assert {"completed", "failed"} <= set(statuses), statuses  # a cache hit may have no times
    assert bars.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)") \
        == [COLORS[b] for b in statuses]
    page.get_by_role("button", name="DAG").click()
    page.wait_for_selector("#dag[data-ready='1']")
    # the DAG is centred on the searched step again: show all of it before clicking another
    page.locator(".react-flow__controls-fitview").click()

    # a cached step links to the run it came from
    page.locator("[data-testid='step-load']").click()
    link = page.locator("[data-testid='cached-from'] a")
    assert link.inner_text() == first.name
    link.click()
    page.wait_for_url(f"**/runs/{first.name}?ns={ns}")
    page.wait_for_function(
        f"() => document.querySelector('h1')?.textContent.startsWith('{first.name}') && "
        "document.querySelector(\"#dag[data-ready='1']\")")
    for step in ("load", "train", "report"):
        assert node_status(page, step) == ("completed", COLORS["completed"]), step

    # the HTML visualization of report's output, in a sandboxed iframe
    page.locator("[data-testid='artifact-report/output']").click()
    frame_el = page.locator("[data-testid='vis-html']")
    frame_el.wait_for()
    assert frame_el.get_attribute("sandbox") == "allow-scripts"
    frame = page.frame_locator("[data-testid='vis-html']")
    assert frame.locator("#viz").inner_text(timeout=10000) == "Model says 42"
    shot(page, "run-completed-html-visualization")
    page.close()


SLOW = '''
import time

from kubeline import pipeline, step


@step
def slow() -> int:
    for i in range(20):
        print(f"tick {i}", flush=True)
        time.sleep(0.5)
    return 1


@step
def middle(x: int) -> int:
    return x + 1


@step
def last(x: int) -> int:
    return x + 1


@pipeline
def ui_slow():
    last(middle(slow()))
'''


def _watch_step_completed(kube: Any, run: str, step: str, found: dict[str, float],
                          stop: threading.Event) -> None:
    """Record when the API first shows ``step`` completed (the status change)."""
    rv = None
    while not stop.is_set() and "at" not in found:
        for _kind, obj in kube.watch("pipelineruns", run, resource_version=rv, timeout_seconds=5):
            rv = obj["metadata"]["resourceVersion"]
            for st in (obj.get("status") or {}).get("steps") or []:
                if st["name"] == step and st.get("phase") == "completed":
                    found["at"] = time.time()
                    return


def test_live_update_within_a_second_and_logs_outlive_the_pod(
        ns: str, ui: UiServer, browser: Any, tmp_path: Path, cluster: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.client import Client

    mod = load_module(tmp_path, monkeypatch, SLOW)
    run = mod.ui_slow.with_options(synchronous=False)()
    client = Client()
    deadline = time.monotonic() + 120
    while client.get_pipeline_run(run.name).steps.get("slow") is None or \
            client.get_pipeline_run(run.name).steps["slow"].status != "running":
        assert time.monotonic() < deadline, "step slow never ran"
        time.sleep(0.3)

    page = open_run(browser, ui, ns, run.name)
    page.evaluate("""() => {
        const el = document.querySelector("[data-testid='step-slow']");
        window.__completedAt = null;
        new MutationObserver(() => {
            const now = document.querySelector("[data-testid='step-slow']");
            if (now && now.dataset.status === 'completed' && !window.__completedAt)
                window.__completedAt = Date.now();
        }).observe(document.getElementById('dag'), {attributes: true, subtree: true,
                                                    childList: true});
        return el.dataset.status;
    }""")
    assert node_status(page, "slow") == ("running", COLORS["running"])
    found: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_step_completed,
                               args=(client.kube, run.name, "slow", found, stop), daemon=True)
    watcher.start()
    page.locator("[data-testid='step-slow']").click()
    logs = page.locator("[data-testid='logs']")
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='logs']\")?.textContent.includes('tick 2')",
        timeout=30000)
    assert logs.get_attribute("data-source") == "pod"
    shot(page, "run-running")
    page.wait_for_function("() => window.__completedAt !== null", timeout=60000)
    watcher.join(10)
    stop.set()
    dom_at = page.evaluate("() => window.__completedAt") / 1000
    assert "at" in found
    latency = dom_at - found["at"]
    assert latency < 1.0, f"the node turned completed {latency:.2f}s after the status change"
    page.close()

    final = run.wait(timeout=120, show_progress=False)
    assert final.status == "completed"
    pod = final.steps["slow"].pod
    cluster.kubectl("delete", "pod", pod, "-n", ns, "--wait=true")
    assert cluster.kubectl("get", "pod", pod, "-n", ns, check=False).returncode != 0

    page = open_run(browser, ui, ns, run.name)
    page.locator("[data-testid='step-slow']").click()
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='logs']\")?.textContent.includes('tick 19')",
        timeout=20000)
    assert page.locator("[data-testid='logs']").get_attribute("data-source") == "store"
    assert "(deleted)" in page.locator("[data-testid='step-panel']").inner_text()
    page.close()

    out = subprocess.run([sys.executable, "-m", "kubeline.cli.main", "run", "logs", run.name,
                          "slow"], capture_output=True, text=True, env={**os.environ},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "tick 0" in out.stdout and "tick 19" in out.stdout


def test_token_that_may_not_list_runs_gets_the_403_page(
        ns: str, browser: Any, cluster: Any) -> None:
    cluster.kubectl("create", "serviceaccount", "viewer", "-n", ns)
    cluster.kubectl("create", "role", "pipelines-only", "-n", ns, "--verb=get,list",
                    "--resource=pipelines.kubeline.dev")
    cluster.kubectl("create", "rolebinding", "viewer", "-n", ns, "--role=pipelines-only",
                    f"--serviceaccount={ns}:viewer")
    token = cluster.kubectl("create", "token", "viewer", "-n", ns).stdout.strip()
    server = UiServer("client", ns)
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/runs?ns={ns}")
        page.get_by_text("Sign in with your Kubernetes token").wait_for()  # no token, no data
        page.close()
        ctx = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"})
        page = ctx.new_page()
        page.goto(f"{server.url}/runs?ns={ns}")
        forbidden = page.locator("[data-testid='forbidden']")
        forbidden.wait_for(timeout=15000)
        assert page.locator("[data-testid='verb']").inner_text() == "list"
        assert page.locator("[data-testid='resource']").inner_text() == "pipelineruns"
        assert f"system:serviceaccount:{ns}:viewer" in forbidden.inner_text()
        shot(page, "forbidden")
        # the pipelines page, which the token may read, works with the same token
        page.goto(f"{server.url}/?ns={ns}")
        page.locator("[data-testid='pipelines']").wait_for()
        resp = page.request.get(f"{server.url}/api/runs?ns={ns}")
        assert resp.status == 403 and resp.json()["resource"] == "pipelineruns"
        ctx.close()
    finally:
        server.stop()


def test_seed_001_lineage_visualizer_shows_three_runs(
        ns: str, browser: Any, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    opener = tmp_path / "record-url"
    opener.write_text(f"#!/bin/sh\necho \"$1\" >> {urls}\n")
    opener.chmod(0o755)
    port = free_port()
    env = {**os.environ, "BROWSER": str(opener), "KUBELINE_UI_PORT": str(port),
           "KUBELINE_NAMESPACE": ns, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "lineage" / "run.py")],
                            cwd=str(ROOT / "examples" / "lineage"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while not urls.exists() or len(urls.read_text().split()) < 3:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "seed 001 did not open three pages"
            time.sleep(1)
        pages = urls.read_text().split()
        assert all(u.startswith(f"http://127.0.0.1:{port}/runs/") for u in pages), pages
        expected = [{"digits_data_loader": "completed", "svc_trainer": "completed"},
                    {"digits_data_loader": "cached", "svc_trainer": "completed"},
                    {"digits_data_loader": "completed", "svc_trainer": "completed"}]
        for i, (url, want) in enumerate(zip(pages, expected, strict=True), 1):
            page = browser.new_page(viewport={"width": 1300, "height": 800})
            page.goto(url)
            page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
            for step, status in want.items():
                assert node_status(page, step) == (status, COLORS[status]), (i, step)
            assert page.locator("[data-testid='legend']").is_visible()
            shot(page, f"seed-001-run-{i}")
            page.close()
    finally:
        proc.send_signal(2)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_runs_list_filters_server_side(ns: str, ui: UiServer, browser: Any, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Status filter and paging come from the API server (field selector, continue token)."""
    import urllib.request

    mod = load_module(tmp_path, monkeypatch, PIPELINE)
    mod.ui_pipeline()
    mod.ui_pipeline()

    def get(path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{ui.url}{path}") as resp:
            return json.loads(resp.read())

    page1 = get(f"/api/runs?ns={ns}&limit=1")
    assert len(page1["items"]) == 1 and page1["continue"]
    page2 = get(f"/api/runs?ns={ns}&limit=1&continue={page1['continue']}")
    assert page2["items"][0]["name"] != page1["items"][0]["name"]
    done = get(f"/api/runs?ns={ns}&status=completed")["items"]
    assert len(done) == 2 and all(r["status"] == "completed" for r in done)
    assert get(f"/api/runs?ns={ns}&status=failed")["items"] == []
    page = browser.new_page()
    page.goto(f"{ui.url}/runs?ns={ns}&status=completed")
    page.locator("[data-testid='runs'] tbody tr").first.wait_for()
    assert page.locator("[data-testid='runs'] tbody tr").count() == 2
    page.close()


def test_chart_ui_serves_each_request_with_the_callers_token(
        ns: str, cluster: Any, browser: Any) -> None:
    """The chart's UI Deployment (client mode) in a fresh namespace: probes pass, no token is
    mounted, and the API answers with the caller's rights only."""
    repo, _, tag = cluster.image.rpartition(":")
    rendered = cluster.helm(
        "template", "kubeline", str(ROOT / "charts" / "kubeline"), "--kube-version", "1.34.0",
        "-n", ns, "--set", "ui.enabled=true", "--set", f"image.repository={repo}",
        "--set", f"image.tag={tag}", "--show-only", "templates/ui.yaml").stdout
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=rendered)
    cluster.kubectl("rollout", "status", "deployment/kubeline-ui", "-n", ns, "--timeout=180s")
    pod = json.loads(cluster.kubectl("get", "pods", "-n", ns, "-l",
                                     "app.kubernetes.io/component=ui", "-o", "json").stdout)
    (item,) = pod["items"]
    assert item["spec"]["automountServiceAccountToken"] is False
    mounts = [m["mountPath"] for c in item["spec"]["containers"] for m in c["volumeMounts"]]
    assert "/var/run/secrets/kubernetes.io/serviceaccount" not in mounts
    url = f"http://{item['status']['podIP']}:8050"
    import urllib.error
    import urllib.request

    def get(path: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(f"{url}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert get("/healthz") == (200, {"ok": True})
    assert get(f"/api/runs?ns={ns}")[0] == 401  # no token: no data, the UI has no rights
    cluster.kubectl("create", "serviceaccount", "reader", "-n", ns)
    cluster.kubectl("create", "role", "runs-reader", "-n", ns, "--verb=get,list,watch",
                    "--resource=pipelineruns.kubeline.dev")
    cluster.kubectl("create", "rolebinding", "reader", "-n", ns, "--role=runs-reader",
                    f"--serviceaccount={ns}:reader")
    token = cluster.kubectl("create", "token", "reader", "-n", ns).stdout.strip()
    status, body = get(f"/api/runs?ns={ns}", token)
    assert status == 200 and body["items"] == []
    status, body = get(f"/api/runs?ns={ns}&limit=5", token)
    assert status == 200
    status, body = get(f"/api/pipelines?ns={ns}", token)
    assert status == 403 and (body["verb"], body["resource"]) == ("list", "pipelines")
    page = browser.new_page()
    page.goto(f"{url}/")
    page.get_by_text("Sign in with your Kubernetes token").wait_for()
    page.locator("textarea").fill(token)
    page.get_by_role("button", name="Sign in").click()  # the page reloads, signed in
    page.locator("[data-testid='forbidden']").wait_for()  # the pipelines page: not allowed
    assert page.locator("[data-testid='resource']").inner_text() == "pipelines"
    page.goto(f"{url}/runs?ns={ns}")
    page.locator("[data-testid='runs']").wait_for()  # the runs page: allowed
    page.close()


def test_a_run_started_from_a_step_shows_next_to_it_and_links_back(
        ns: str, ui: UiServer, browser: Any, cluster: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed 004: the run a step triggered is a node next to that step; each links the other."""
    from step_rbac import chart_step_rbac

    cluster.kubectl("delete", "serviceaccount", "kubeline-step", "-n", ns, "--ignore-not-found")
    chart_step_rbac(cluster, ns, "steps.allowTriggeringRuns=true")
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "snapshots"))
    sys.modules.pop("trigger_by_pipeline", None)
    seed = importlib.import_module("trigger_by_pipeline")
    try:
        seed.training_pipeline.create_snapshot(name="training-snapshot")
        run = seed.loads_data_and_triggers_training()
    finally:
        sys.modules.pop("trigger_by_pipeline", None)
    assert run.status == "completed", run.message
    (child,) = run.triggered_runs
    child.wait(timeout=300, show_progress=False)

    page = open_run(browser, ui, ns, run.name)
    node = page.locator(f"[data-testid='triggered-{child.name}']")
    assert node.is_visible()
    edge = page.locator(f"[data-testid='rf__edge-step:trigger_pipeline->run:{child.name}']")
    assert edge.count() == 1  # drawn from the step that started it
    shot(page, "run-triggered-run")
    node.locator("a").click()
    page.wait_for_url(f"**/runs/{child.name}?ns={ns}")
    back = page.locator("[data-testid='triggered-by']")
    back.wait_for()
    assert "trigger_pipeline" in back.inner_text()
    back.locator("a").click()
    page.wait_for_url(f"**/runs/{run.name}?ns={ns}")
    page.close()
