"""Seed 004 in the browser: a pipeline's snapshots, a snapshot's page, the run form made from
its typed parameters (with the YAML editor and a .yaml upload), a run started with the
user's own token (client auth mode, so RBAC decides), a token refused the Run button with
the API server's reason, and "New snapshot" from a run page. Chromium through Playwright
against the local cluster; screenshots go to ``build/ui-screenshots/``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import UiServer, load_module, shot

pytestmark = pytest.mark.e2e

FORM_PIPELINE = '''
from kubeline import pipeline, step


@step
def load(rows: int = 3) -> list:
    return list(range(rows))


@step
def train(data: list, gamma: float = 0.001, kernel: str = "rbf", shrink: bool = True,
          weights: dict = {"a": 1}) -> float:  # noqa: B006
    return sum(data) * gamma


@pipeline
def form_pipeline():
    train(load())
'''

VERBS = "--verb=get,list,watch"
RESOURCES = ("--resource=pipelines.kubeline.dev,snapshots.kubeline.dev,"
             "pipelineruns.kubeline.dev,artifactversions.kubeline.dev")


def user_token(cluster: Any, ns: str, user: str, *extra_rules: tuple[str, str]) -> str:
    """A ServiceAccount that may read Kubeline's resources in ``ns`` (and ``extra_rules``:
    (verb, resource) pairs), and a token of it."""
    cluster.kubectl("create", "serviceaccount", user, "-n", ns)
    cluster.kubectl("create", "role", f"{user}-read", "-n", ns, VERBS, RESOURCES)
    cluster.kubectl("create", "rolebinding", f"{user}-read", "-n", ns, f"--role={user}-read",
                    f"--serviceaccount={ns}:{user}")
    for verb, resource in extra_rules:
        role = f"{user}-{verb}-{resource.split('.')[0]}"
        cluster.kubectl("create", "role", role, "-n", ns, f"--verb={verb}",
                        f"--resource={resource}")
        cluster.kubectl("create", "rolebinding", role, "-n", ns, f"--role={role}",
                        f"--serviceaccount={ns}:{user}")
    return str(cluster.kubectl("create", "token", user, "-n", ns).stdout.strip())


def user_page(browser: Any, token: str) -> tuple[Any, Any]:
    ctx = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                              viewport={"width": 1500, "height": 950})
    return ctx, ctx.new_page()


def wait_run(client: Any, name: str, timeout: float = 300) -> Any:
    run = client.get_pipeline_run(name)
    return run.wait(timeout=timeout, show_progress=False)


def operator_message(client: Any, snapshot: str, params: dict[str, Any]) -> str:
    """The operator's message for a run of ``snapshot`` with ``params`` for step load,
    created as kubectl would (no Client-side check)."""
    name = f"bad-{int(time.time() * 1000)}"
    client.kube.create("pipelineruns", {
        "apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
        "metadata": {"name": name},
        "spec": {"snapshot": snapshot, "config": {"steps": {"load": {"parameters": params}}}}})
    run = wait_run(client, name, timeout=120)
    assert run.status == "failed", run.status
    assert run.k8s_status.get("reason") == "InvalidRunConfiguration", run.k8s_status
    return str(run.k8s_status["message"])


def test_run_form_starts_a_cached_run_with_the_users_token(
        ns: str, browser: Any, cluster: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.client import Client

    mod = load_module(tmp_path, monkeypatch, FORM_PIPELINE)
    first = mod.form_pipeline()
    assert first.status == "completed", first.message
    client = Client()
    snapshot = first.snapshot_name
    pipeline = first.pipeline_object_name
    token = user_token(cluster, ns, "runner", ("create", "pipelineruns.kubeline.dev"),
                       ("create", "snapshots.kubeline.dev"))
    server = UiServer("client", ns)  # the UI has no rights of its own: the token's are used
    ctx, page = user_page(browser, token)
    try:
        # the pipeline's snapshots, then the snapshot: DAG, configuration template, runs
        page.goto(f"{server.url}/?ns={ns}")
        page.locator(f"[data-testid='snapshots-of-{pipeline}']").click()
        rows = page.locator("[data-testid='snapshots'] tbody tr")
        rows.first.wait_for()
        assert rows.count() == 1 and rows.first.get_attribute("data-snapshot") == snapshot
        shot(page, "snapshots-list")
        rows.first.locator("td a").first.click()
        page.wait_for_url(f"**/snapshots/{snapshot}?ns={ns}")
        page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
        assert page.locator("[data-testid='step-load']").is_visible()
        assert page.locator("[data-testid='step-train']").is_visible()
        template = page.locator("[data-testid='config-template']").inner_text()
        assert "gamma: 0.001" in template and "rows: 3" in template, template
        runs = page.locator("[data-testid='snapshot-runs'] tbody tr")
        assert runs.count() == 1 and first.name in runs.first.inner_text()
        shot(page, "snapshot-page")

        # the form: a widget per JSON type, defaults filled, the YAML beside it
        page.locator("[data-testid='run-button']").click()
        page.wait_for_url(f"**/snapshots/{snapshot}/run?ns={ns}")
        field = page.locator("[data-testid='param-train-gamma']")
        field.wait_for()
        assert field.get_attribute("type") == "number" and field.input_value() == "0.001"
        assert page.locator("[data-testid='param-load-rows']").get_attribute("type") == "number"
        shrink = page.locator("[data-testid='param-train-shrink']")
        assert shrink.get_attribute("type") == "checkbox" and shrink.is_checked()
        assert page.locator("[data-testid='param-train-kernel']").input_value() == "rbf"
        weights = page.locator("[data-testid='param-train-weights']")
        assert weights.evaluate("e => e.tagName") == "TEXTAREA"
        assert json.loads(weights.input_value()) == {"a": 1}
        yaml_box = page.locator("[data-testid='yaml-editor']")
        assert "gamma: 0.001" in yaml_box.input_value()

        # an invalid value: the operator's own message, and no Run
        page.locator("[data-testid='param-load-rows']").fill("2.5")
        problem = page.locator("[data-testid='problem-load-rows']")
        problem.wait_for()
        shown = problem.inner_text()
        assert page.locator("[data-testid='submit-run']").is_disabled()
        shot(page, "run-form-invalid")
        assert shown == operator_message(client, snapshot, {"rows": 2.5})
        page.locator("[data-testid='param-load-rows']").fill("3")
        problem.wait_for(state="detached")

        # the YAML editor and an uploaded file change the form
        yaml_box.fill(yaml_box.input_value().replace("kernel: rbf", "kernel: linear"))
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='param-train-kernel']\").value "
            "=== 'linear'")
        upload = tmp_path / "run.yaml"
        upload.write_text("steps:\n  train:\n    parameters:\n      kernel: poly\n")
        page.locator("[data-testid='yaml-upload']").set_input_files(str(upload))
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='param-train-kernel']\").value "
            "=== 'poly'")
        assert page.locator("[data-testid='param-train-gamma']").input_value() == ""
        page.locator("[data-testid='param-train-kernel']").fill("rbf")
        page.locator("[data-testid='param-train-gamma']").fill("0.01")  # the changed parameter
        page.locator("[data-testid='param-load-rows']").fill("3")
        submit = page.locator("[data-testid='submit-run']")
        page.wait_for_function(
            "() => !document.querySelector(\"[data-testid='submit-run']\").disabled")
        assert "gamma: 0.01" in yaml_box.input_value()
        shot(page, "run-form")
        submit.click()

        # the live run page of the new run: load cached, train ran with gamma 0.01
        page.wait_for_url(f"**/runs/{pipeline}-*?ns={ns}", timeout=20000)
        name = page.url.split("/runs/")[1].split("?")[0]
        page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
        run = wait_run(client, name)
        assert run.status == "completed", run.message
        assert {k: s.status for k, s in run.steps.items()} == {"load": "cached",
                                                               "train": "completed"}
        recorded = run.k8s_status["parameters"]
        assert recorded["train"]["gamma"] == 0.01
        assert recorded["train"]["kernel"] == "rbf" and recorded["load"]["rows"] == 3
        assert run.snapshot_name == snapshot
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='step-train']\")?.dataset.status "
            "=== 'completed'", timeout=30000)
        assert page.locator("[data-testid='step-load']").get_attribute("data-status") == \
            "cached"
        shot(page, "run-from-form")

        # "New snapshot" from the run page: its configuration becomes the template
        page.locator("[data-testid='new-snapshot']").click()
        page.locator("[data-testid='snapshot-name']").fill("tuned")
        page.locator("[data-testid='snapshot-description']").fill("gamma 0.01")
        shot(page, "new-snapshot-dialog")
        page.locator("[data-testid='create-snapshot']").click()
        page.wait_for_url(f"**/snapshots/{pipeline}-*?ns={ns}")
        page.locator("[data-testid='snapshot'] h1", has_text="tuned").wait_for()
        assert "gamma: 0.01" in page.locator("[data-testid='config-template']").inner_text()
        tuned = client.get_snapshot("tuned")
        assert tuned.object_name != snapshot and tuned.description == "gamma 0.01"
        assert tuned.config_template.steps["train"].parameters["gamma"] == 0.01
        again = tuned.run()
        again = wait_run(client, again.name)
        assert again.status == "cached", again.message  # the run phase when every step is
        assert {k: s.status for k, s in again.steps.items()} == {"load": "cached",
                                                                 "train": "cached"}
    finally:
        ctx.close()
        server.stop()


def test_token_that_may_not_create_runs_sees_run_refused_with_the_reason(
        ns: str, browser: Any, cluster: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mod = load_module(tmp_path, monkeypatch, FORM_PIPELINE)
    snapshot = mod.form_pipeline.create_snapshot(name="readonly").object_name
    token = user_token(cluster, ns, "looker")
    server = UiServer("client", ns)
    ctx, page = user_page(browser, token)
    reason = f"system:serviceaccount:{ns}:looker may not create pipelineruns in namespace {ns}"
    try:
        page.goto(f"{server.url}/snapshots/{snapshot}?ns={ns}")
        refused = page.locator("[data-testid='run-refused']")
        refused.wait_for(timeout=20000)
        assert refused.locator("button").is_disabled()
        assert refused.locator("button").get_attribute("title") == reason
        assert page.locator("[data-testid='run-refused-reason']").inner_text() == reason
        assert page.locator("[data-testid='run-button']").count() == 0
        page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
        shot(page, "snapshot-run-refused")
        page.goto(f"{server.url}/snapshots/{snapshot}/run?ns={ns}")  # the form, by its URL
        page.locator("[data-testid='param-train-gamma']").wait_for()
        assert page.locator("[data-testid='submit-run']").count() == 0
        assert page.locator("[data-testid='run-refused-reason']").inner_text() == reason
        # the API server refuses the create itself, with its message
        resp = page.evaluate("""async (url) => {
            const csrf = document.cookie.match(/kubeline-csrf=([^;]+)/)[1];
            const r = await fetch(url, {method: 'POST', headers: {'content-type':
                'application/json', 'x-kubeline-csrf': csrf}, body: '{"config": {}}'});
            return {status: r.status, body: await r.json()};
        }""", f"/api/snapshots/{snapshot}/runs?ns={ns}")
        assert resp["status"] == 403, resp
        assert resp["body"]["verb"] == "create" and resp["body"]["resource"] == "pipelineruns"
        assert f"system:serviceaccount:{ns}:looker" in resp["body"]["message"]
        assert cluster.kubectl("get", "pipelineruns", "-n", ns, "-o", "name").stdout == ""
    finally:
        ctx.close()
        server.stop()
