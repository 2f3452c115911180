"""The dashboard beyond the run page in Chromium against the local cluster: models and
promotion, comparing runs, lineage across pipelines and the artifacts browser.

Seed 002's feature-to-training exchange: a feature pipeline saves ``iris_training_dataset``,
a training pipeline (``model=Model(name="iris_classifier")``) fetches it by name in its
body and trains an SVC; two training runs with different ``gamma`` make model versions 1
and 2. Screenshots go to ``build/ui-screenshots/``.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for
from ui_helpers import UiServer, shot

pytestmark = pytest.mark.e2e

SOURCE = '''
from typing import Annotated, Tuple

import pandas as pd
from kubeline import ArtifactConfig, Model, pipeline, step
from kubeline.client import Client
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.svm import SVC


@step
def load_frame() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@step
def prepare(dataset: pd.DataFrame) -> Annotated[
        pd.DataFrame, ArtifactConfig(name="iris_training_dataset")]:
    return dataset.sample(frac=0.8, random_state=42)


@pipeline
def ui_features():
    prepare(load_frame())


@step
def training_data_loader(data: pd.DataFrame) -> Tuple[
        Annotated[pd.DataFrame, "X_train"], Annotated[pd.Series, "y_train"]]:
    return data.drop(columns="target"), data["target"]


@step
def svc_trainer(X_train: pd.DataFrame, y_train: pd.Series, gamma: float = 0.001) -> Tuple[
        Annotated[ClassifierMixin, "trained_model"], Annotated[float, "training_acc"]]:
    model = SVC(gamma=gamma)
    model.fit(X_train.to_numpy(), y_train.to_numpy())
    return model, float(model.score(X_train.to_numpy(), y_train.to_numpy()))


@pipeline(model=Model(name="iris_classifier"))
def ui_training(gamma: float = 0.001):
    data = Client().get_artifact_version(name="iris_training_dataset")
    X_train, y_train = training_data_loader(data)
    svc_trainer(X_train=X_train, y_train=y_train, gamma=gamma)
'''


@pytest.fixture
def exchange(step_namespace: str, operator: Any, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """One feature run, then two training runs (gamma 0.001 and 0.01)."""
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    module = f"ui_dash_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        mod = importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)
    features = mod.ui_features()
    first = mod.ui_training(gamma=0.001)
    second = mod.ui_training(gamma=0.01)
    for run in (features, first, second):
        assert run.status == "completed", (run.name, run.status)
    assert second.steps["training_data_loader"].status == "cached"
    assert second.steps["svc_trainer"].status == "completed"
    return {"ns": step_namespace, "features": features, "first": first, "second": second}


@pytest.fixture
def client_in(exchange: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    from kubeline.client import Client

    monkeypatch.setenv("KUBELINE_NAMESPACE", exchange["ns"])
    return Client()


@pytest.fixture
def ui(exchange: dict[str, Any]) -> Iterator[UiServer]:
    server = UiServer("local", exchange["ns"])
    yield server
    server.stop()


def test_promote_in_the_ui_archives_the_holder_and_the_sdk_agrees(
        exchange: dict[str, Any], ui: UiServer, browser: Any, cluster: Any,
        client_in: Any) -> None:
    ns, client = exchange["ns"], client_in
    assert [v.number for v in client.list_model_versions("iris_classifier")] == [1, 2]
    client.update_model_version("iris_classifier", "1", stage="production", force=True)

    page = browser.new_page(viewport={"width": 1500, "height": 900})
    page.goto(f"{ui.url}/models?ns={ns}")
    row = page.locator("[data-testid='model-iris_classifier']")
    row.wait_for()
    assert row.locator("[data-testid='production']").inner_text() == "1"
    shot(page, "models-list")

    row.get_by_role("link", name="iris_classifier").click()
    page.locator("[data-testid='versions']").wait_for()
    v2 = page.locator("[data-testid='version-2']")
    assert v2.get_attribute("data-stage") in ("none", "archived")
    assert v2.locator("a", has_text=exchange["second"].name).count() == 1  # producer run
    assert "trained_model" in v2.inner_text() and "model" in v2.inner_text()
    # without force the SDK's rule refuses: version 1 holds production
    page.locator("[data-testid='promote-production-2']").click()
    err = page.locator("[data-testid='stage-error-2']")
    err.wait_for()
    assert err.inner_text() == "Model version 1 is in production, but force flag is False."
    assert client.get_model_version("iris_classifier", "1").stage == "production"
    page.locator("[data-testid='force-2']").check()
    page.locator("[data-testid='promote-production-2']").click()
    page.wait_for_selector("[data-testid='version-2'][data-stage='production']", timeout=40000)
    page.wait_for_selector("[data-testid='version-1'][data-stage='archived']")
    assert page.locator("[data-testid='model-production']").inner_text() == "2"
    history = page.locator("[data-testid='history-1']").inner_text()
    assert "none → production" in history and "production → archived" in history, history
    assert "(displaced)" in history
    shot(page, "model-page-promoted")
    page.close()

    # the SDK sees the same
    assert client.get_model_version("iris_classifier", "1").stage == "archived"
    assert client.get_model_version("iris_classifier", "production").number == 2
    assert client.get_model("iris_classifier").production_version_name == "2"

    # a token that may read models but not patch them: buttons disabled, the reason shown
    cluster.kubectl("create", "serviceaccount", "model-viewer", "-n", ns)
    cluster.kubectl("create", "role", "models-read", "-n", ns, "--verb=get,list,watch",
                    "--resource=models.kubeline.dev,modelversions.kubeline.dev")
    cluster.kubectl("create", "rolebinding", "model-viewer", "-n", ns, "--role=models-read",
                    f"--serviceaccount={ns}:model-viewer")
    token = cluster.kubectl("create", "token", "model-viewer", "-n", ns).stdout.strip()
    server = UiServer("client", ns)
    try:
        ctx = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                                  viewport={"width": 1500, "height": 900})
        page = ctx.new_page()
        page.goto(f"{server.url}/models/iris_classifier?ns={ns}")
        page.locator("[data-testid='versions']").wait_for()
        button = page.locator("[data-testid='promote-staging-1']")
        assert button.is_disabled()
        title = button.get_attribute("title") or ""
        assert f"system:serviceaccount:{ns}:model-viewer may not patch modelversions" in title
        assert page.locator("[data-testid='archive-2']").is_disabled()
        assert "promotion not allowed" in page.locator(
            "[data-testid='promotion-refused']").inner_text()
        shot(page, "model-page-refused")
        # the server refuses too (the API server decides, not the button)
        csrf = next(c["value"] for c in ctx.cookies() if c["name"] == "kubeline-csrf")
        resp = page.request.post(
            f"{server.url}/api/models/iris_classifier/versions/1/stage?ns={ns}",
            data={"stage": "staging"}, headers={"origin": server.url, "x-kubeline-csrf": csrf})
        assert resp.status == 403, resp.text()
        assert (resp.json()["verb"], resp.json()["resource"]) == ("patch", "modelversions")
        ctx.close()
    finally:
        server.stop()
    assert client.get_model_version("iris_classifier", "1").stage == "archived"


def test_compare_two_runs_highlights_gamma_and_the_trainers_cache_miss(
        exchange: dict[str, Any], ui: UiServer, browser: Any) -> None:
    ns, first, second = exchange["ns"], exchange["first"], exchange["second"]
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{ui.url}/compare?ns={ns}&pipeline={first.pipeline_object_name}")
    page.locator(f"[data-testid='pick-{first.name}']").check()
    page.locator(f"[data-testid='pick-{second.name}']").check()
    page.locator("[data-testid='compare-go']").click()
    gamma = page.locator("[data-testid='param-svc_trainer.gamma']")
    gamma.wait_for()
    assert gamma.get_attribute("data-differs") == "1"
    assert "differs" in (gamma.get_attribute("class") or "")
    assert gamma.evaluate("e => getComputedStyle(e.cells[1]).backgroundColor") == \
        "rgb(254, 249, 195)"
    assert gamma.locator("td").all_inner_texts()[1:] == ["0.001", "0.01"]
    # the trainer missed the cache because of gamma; the loader was a hit
    miss = page.locator("[data-testid='cache-miss-svc_trainer-1']")
    assert "parameter gamma 0.001 → 0.01" in miss.inner_text()
    assert page.locator("[data-testid='cmp-step-svc_trainer']").get_attribute(
        "data-differs") == "1"
    loader = page.locator("[data-testid='cmp-step-training_data_loader-1']")
    assert loader.get_attribute("data-status") == "cached"
    assert f"cache hit: outputs of {first.name}" in loader.inner_text()
    assert page.locator("[data-testid='cmp-step-training_data_loader']").get_attribute(
        "data-differs") == "0"
    # numeric metadata: the float output's value, as a table row and a bar chart
    acc = page.locator("[data-testid='metric-svc_trainer.training_acc.value']")
    values = [float(v) for v in acc.locator("td").all_inner_texts()[1:]]
    expected = [first.steps["svc_trainer"].outputs["training_acc"].load(),
                second.steps["svc_trainer"].outputs["training_acc"].load()]
    assert values == pytest.approx(expected)
    chart = page.locator("[data-testid='chart-svc_trainer.training_acc.value'] rect")
    assert chart.count() == 2
    assert "storage_size" in page.locator("[data-testid='cmp-outputs']").inner_text()
    shot(page, "compare-runs")
    page.close()


def test_production_models_upstream_lineage_reaches_the_feature_pipeline(
        exchange: dict[str, Any], ui: UiServer, browser: Any, client_in: Any,
        cluster: Any) -> None:
    import json
    import urllib.request

    from kubeline.resources.names import LABEL_PREFIX_INPUT_ARTIFACT, input_artifact_label

    ns, features, first, second = (exchange[k] for k in ("ns", "features", "first", "second"))
    client_in.update_model_version("iris_classifier", "2", stage="production", force=True)
    dataset = features.steps["prepare"].outputs["iris_training_dataset"]
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.goto(f"{ui.url}/models/iris_classifier?ns={ns}")
    page.locator("[data-testid='lineage-2']").click()
    page.locator("[data-testid='lineage']").wait_for()
    # one view: the model version, its training run's steps, and the feature run that made
    # the dataset they trained on
    prepare = page.locator(f"[data-testid='lnode-step:{features.name}/prepare']")
    prepare.wait_for()
    assert prepare.get_attribute("data-side") == "upstream"
    assert prepare.get_attribute("data-pipeline") == features.pipeline_object_name
    page.locator(f"[data-testid='lnode-step:{second.name}/svc_trainer']").wait_for()
    # the loader step was a cache hit in run 2: its outputs were produced by run 1
    page.locator(f"[data-testid='lnode-step:{first.name}/training_data_loader']").wait_for()
    page.locator(f"[data-testid='lnode-artifact:{dataset.object_name}']").wait_for()
    crossed = page.locator("[data-testid='upstream-pipelines']")
    assert crossed.locator(f"[data-pipeline='{features.pipeline_object_name}']").count() == 1
    assert crossed.locator(f"[data-pipeline='{first.pipeline_object_name}']").count() == 1
    assert_fits_without_overlaps(page)
    shot(page, "lineage-production-model")
    page.close()

    # GitOps: the training Snapshot re-applied as plain YAML, taking the dataset by name (no
    # pinned id, no labels), and a PipelineRun applied with kubectl: the operator labels the
    # run with the version it resolved, so lineage finds it downstream of the dataset
    sdk_snap = json.loads(cluster.kubectl("get", "snapshots.kubeline.dev", first.snapshot_name,
                                          "-n", ns, "-o", "json").stdout)
    spec = sdk_snap["spec"]
    for step in spec["steps"]:
        for inp in step.get("inputs") or []:
            if (inp.get("artifact") or {}).get("id"):
                inp["artifact"] = {"name": inp["artifact"]["name"]}
    gitops = f"gitops-{uuid.uuid4().hex[:6]}"
    docs = [{"apiVersion": "kubeline.dev/v1alpha1", "kind": "Snapshot",
             "metadata": {"name": gitops}, "spec": spec},
            {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
             "metadata": {"name": gitops}, "spec": {"snapshot": gitops}}]
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": docs}))
    gitops_run = wait_for("the kubectl run to finish", lambda: (lambda r: r if r.status in (
        "completed", "cached", "failed") else None)(client_in.get_pipeline_run(gitops)),
        timeout=180)
    assert gitops_run.status in ("completed", "cached"), gitops_run.k8s_status
    run_labels = gitops_run.metadata.get("labels") or {}
    assert run_labels.get(input_artifact_label(dataset.id)) == "true", run_labels
    snap_labels = json.loads(cluster.kubectl(
        "get", "snapshots.kubeline.dev", gitops, "-n", ns, "-o", "json").stdout)["metadata"].get(
        "labels") or {}
    assert not [k for k in snap_labels if k.startswith(LABEL_PREFIX_INPUT_ARTIFACT)]

    # the artifacts browser: the dataset, its version, its producer, and its consumers
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{ui.url}/artifacts?ns={ns}")
    page.locator("[data-testid='artifact-row-iris_training_dataset']").wait_for()
    shot(page, "artifacts-list")
    page.get_by_role("link", name="iris_training_dataset").click()
    version = page.locator(f"[data-testid='av-{dataset.version}']")
    version.wait_for()
    producer = version.locator(f"[data-testid='producer-{dataset.version}']")
    assert producer.inner_text() == f"{features.name} · prepare"
    assert "shape" in version.inner_text()  # the version's metadata in its row
    panel = page.locator("[data-testid='artifact-panel']")
    panel.wait_for()
    assert "shape" in panel.inner_text()
    # its visualization: the DataFrame's HTML table, drawn in the sandboxed frame
    page.frame_locator("[data-testid='artifact-panel'] iframe[data-testid='vis-html']").locator(
        "table").first.wait_for()
    shot(page, "artifact-version")
    page.locator("[data-testid='open-lineage']").click()
    page.locator("[data-testid='lineage']").wait_for()
    # both training runs consumed it (labels on their snapshot), and the kubectl run (its label)
    for name in (first.name, second.name, gitops):
        node = page.locator(f"[data-testid='lnode-step:{name}/training_data_loader']")
        node.wait_for()
        assert node.get_attribute("data-side") == "downstream"
    assert_fits_without_overlaps(page)
    shot(page, "lineage-dataset-downstream")
    page.go_back()
    producer.wait_for()
    producer.click()  # the version links to the run that produced it
    page.wait_for_url(f"**/runs/{features.name}?ns={ns}")
    page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
    page.locator("[data-testid='step-prepare']").wait_for()
    assert not errors, errors
    page.close()

    with urllib.request.urlopen(
            f"{ui.url}/api/lineage?ns={ns}&model=iris_classifier&version=production") as resp:
        body = json.loads(resp.read())
    assert body["root"] == "model:iris_classifier/2"
    assert 0 < body["stats"]["requests"] <= 25, body["stats"]  # bounded: no list of all runs
    assert not body["truncated"]



def assert_fits_without_overlaps(page: Any) -> None:
    """The lineage graph fits the page's width (zoomed to fit, no horizontal overflow) and
    no two edge labels or nodes overlap."""
    viewport = page.locator("[data-testid='lineage-viewport']")
    width = viewport.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert width[0] <= width[1], f"the graph overflows its box: {width}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1600
    boxes = page.evaluate("""() => [...document.querySelectorAll(
        "[data-testid='lineage-graph'] .llabel, [data-testid='lineage-graph'] .lslot")].map(
        e => { const r = e.getBoundingClientRect();
               return [e.textContent, r.left, r.top, r.right, r.bottom]; })""")
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, f"{a[0]!r} overlaps {b[0]!r}: {a[1:]} {b[1:]}"
