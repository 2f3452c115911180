"""The model control plane on the local cluster: seed 002 pattern 2 and what it relies on.

``examples/model_exchange/run.py`` is the seed's code (imports changed) with a
train-and-promote pipeline written as ZenML's docs show it. Steps promote and fetch
models through their ServiceAccount, with the chart's opt-in promotion Role rendered from the
chart itself; the chart's admission policy is installed with the operator.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from polling import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "model_exchange"


def allow_model_promotion(cluster: Any, namespace: str) -> None:
    """The chart's step RBAC (steps.allowModelPromotion=true) for ``namespace``."""
    rendered = cluster.helm(
        "template", "kubeline", str(ROOT / "charts" / "kubeline"), "--kube-version", "1.34.0",
        "--set", "steps.allowModelPromotion=true",
        "--set-json", f'stepNamespaces=["{namespace}"]',
        "--show-only", "templates/steps.yaml").stdout
    assert "modelversions" in rendered, rendered
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=rendered)


@pytest.fixture
def seed(cluster: Any, step_namespace: str, operator: Any, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[ModuleType]:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    allow_model_promotion(cluster, step_namespace)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("run", None)
    yield importlib.import_module("run")
    sys.modules.pop("run", None)


def load_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> Any:
    module = f"e2e_models_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from typing import Annotated\n\n"
        "from kubeline import ArtifactConfig, Model, pipeline, step\n\n" + source)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)


def kubectl_json(cluster: Any, *args: str) -> dict[str, Any]:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


# ----------------------------------------------------------------------------- seed 002


def test_seed_002_pattern_2_train_promote_predict(cluster: Any, step_namespace: str,
                                                   seed: ModuleType) -> None:
    from kubeline.client import Client
    from kubeline.enums import ModelStages
    from sklearn.datasets import load_iris

    client = Client()
    step_user = f"system:serviceaccount:{step_namespace}:kubeline-step"

    # 1. A first version is created by the run and promoted by its step.
    first = seed.train_and_promote(gamma=0.001)
    assert first.status == "completed", (first.status, first.message)
    v1 = client.get_model_version("iris_classifier", ModelStages.PRODUCTION)
    assert (v1.name, v1.number, v1.stage) == ("1", 1, "production")
    assert v1.producer_run.name == first.name
    trained_1 = first.steps["train"].outputs["trained_model"]
    assert v1.get_model_artifact("trained_model").id == trained_1.id
    # Data artifacts are linked as such; the trained SVC is the model artifact.
    assert set(v1.data_artifacts) >= {"iris_training_data", "accuracy"}
    assert list(v1.model_artifacts) == ["trained_model"]
    assert client.get_model("iris_classifier").production_version_name == "1"
    # log_metadata(..., infer_model=True) in the evaluate step went onto the version.
    accuracy = first.steps["evaluate"].output.load()
    assert v1.run_metadata["accuracy"].value == accuracy > 0.8

    # 3. Predictions at pipeline level use the production version's artifact, resolved
    # when the run starts and recorded in its status.
    preds_1 = seed.do_predictions()
    assert preds_1.status == "completed", (preds_1.status, preds_1.message)
    assert preds_1.steps["predict"].inputs["model"].id == trained_1.id
    recorded = preds_1.k8s_status["modelArtifacts"]
    assert recorded == [{"step": "predict", "input": "model", "model": "iris_classifier",
                         "requested": "production", "version": "1", "number": 1,
                         "artifactVersion": trained_1.object_name}]
    assert preds_1.k8s_status["model"]["version"] == "1"
    # Same production version: the predict step is a cache hit.
    again = seed.do_predictions()
    assert again.steps["predict"].status == "cached", again.steps["predict"].status

    # 2. A second promotion archives the first version.
    second = seed.train_and_promote(gamma=0.01)
    assert second.status == "completed", (second.status, second.message)
    v2 = client.get_model_version("iris_classifier", "production")
    assert (v2.name, v2.number) == ("2", 2)
    v1 = client.get_model_version("iris_classifier", 1)
    assert (v1.stage, v1.requested_stage) == ("archived", "archived")
    assert [v.name for v in client.list_model_versions("iris_classifier",
                                                       stage="production")] == ["2"]
    trained_2 = second.steps["train"].outputs["trained_model"]
    assert trained_2.id != trained_1.id

    # 3 again. The resolved model artifact changed: not a cache hit, and the new one is used.
    preds_2 = seed.do_predictions()
    assert preds_2.status == "completed", (preds_2.status, preds_2.message)
    predict = preds_2.steps["predict"]
    assert predict.status == "completed" and not predict.is_cached
    assert predict.inputs["model"].id == trained_2.id
    assert preds_2.k8s_status["modelArtifacts"][0]["version"] == "2"
    assert preds_2.model_version.name == "2"  # the run's own model version (production)
    described = subprocess.run(
        [sys.executable, "-m", "kubeline.cli.main", "-n", step_namespace, "run", "describe",
         preds_2.name], capture_output=True, text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    assert "model iris_classifier:production (version 2) artifact trained_model" in \
        described.stdout, described.stdout

    # 4. Predictions through the step context use the production version too.
    in_step = seed.do_predictions_in_step()
    assert in_step.status == "completed", (in_step.status, in_step.message)
    assert in_step.k8s_status["model"]["version"] == "2"
    expected = trained_2.load().predict(load_iris(as_frame=True).data)
    assert list(in_step.steps["predict_from_context"].output.load()) == list(expected)

    # The stage history shows both promotions in order, by the step's ServiceAccount.
    h1 = client.get_model_version("iris_classifier", "1").stage_history
    h2 = client.get_model_version("iris_classifier", "2").stage_history
    assert [(h["stage"], h["reason"]) for h in h1] == [
        ("production", "Requested"), ("archived", "ArchivedByPromotion")]
    assert [(h["stage"], h["reason"]) for h in h2] == [("production", "Requested")]
    assert h1[0]["user"] == h2[0]["user"] == h1[1]["user"] == step_user
    assert h1[0]["time"] <= h2[0]["time"] == h1[1]["time"]
    assert "version 2 was promoted to production" in h1[1]["message"]

    # kubectl shows the stage and number columns.
    out = cluster.kubectl("get", "models,modelversions", "-n", step_namespace).stdout
    assert "PRODUCTION" in out and "NUMBER" in out and "STAGE" in out, out
    row = next(line for line in out.splitlines() if line.startswith("modelversion") and
               " 2 " in line and "production" in line)
    assert "iris_classifier" in row


# ----------------------------------------------------------------------------- numbers


def test_runs_started_together_get_distinct_version_numbers(cluster: Any, step_namespace: str,
                                                            operator: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from kubeline.client import Client

    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step\n"
        "def weights(seed: int = 0) -> Annotated[int, ArtifactConfig(name='weights', "
        "is_model_artifact=True)]:\n"
        "    return seed\n\n"
        "@pipeline(model=Model(name='racer'), enable_cache=False)\n"
        "def racing():\n"
        "    weights()\n"))
    first = mod.racing()
    assert first.status == "completed", (first.status, first.message)
    # Four runs of the same snapshot created in one request: they start together.
    runs = [{"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
             "metadata": {"name": f"racing-{i}-{uuid.uuid4().hex[:6]}"},
             "spec": {"snapshot": first.snapshot_name}} for i in range(4)]
    cluster.kubectl("create", "-n", step_namespace, "-f", "-",
                    input=json.dumps({"apiVersion": "v1", "kind": "List", "items": runs}))
    client = Client()
    views = [client.get_pipeline_run(r["metadata"]["name"]) for r in runs]
    for view in views:
        view.wait(timeout=300, show_progress=False)
    numbers = sorted(v.k8s_status["model"]["number"] for v in views)
    assert numbers == [2, 3, 4, 5], numbers
    versions = client.list_model_versions("racer")
    assert [v.number for v in versions] == [1, 2, 3, 4, 5]
    assert len({v.name for v in versions}) == 5
    # Each run's version links that run's model artifact (ArtifactConfig(is_model_artifact)).
    for view in views:
        mv = client.get_model_version("racer", view.k8s_status["model"]["version"])
        assert mv.producer_run.name == view.name
        assert mv.get_model_artifact("weights").id == view.steps["weights"].output.id


def test_named_version_templates_and_missing_stages(cluster: Any, step_namespace: str,
                                                   operator: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from kubeline.client import Client
    from kubeline.errors import RunFailedError

    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    mod = load_pipeline(tmp_path, monkeypatch, (
        "@step\n"
        "def one() -> int:\n"
        "    return 1\n\n"
        "@pipeline(model=Model(name='templated', version='rc_{date}'))\n"
        "def named():\n"
        "    one()\n\n"
        "@pipeline(model=Model(name='templated', version='staging'))\n"
        "def staged():\n"
        "    one()\n"))
    today = datetime.now(UTC).strftime("%Y_%m_%d")
    first = mod.named()
    assert first.status == "completed", (first.status, first.message)
    assert first.k8s_status["model"]["version"] == f"rc_{today}"
    again = mod.named()  # the same name: the same version, not a new one
    assert again.k8s_status["model"]["object"] == first.k8s_status["model"]["object"]
    versions = Client().list_model_versions("templated")
    assert [(v.name, v.number) for v in versions] == [(f"rc_{today}", 1)]
    # No version in staging: the run fails before any Pod, saying so.
    with pytest.raises(RunFailedError, match="has no version in stage 'staging'"):
        mod.staged()


# ----------------------------------------------------------------------------- stages


@pytest.fixture
def versions(cluster: Any, step_namespace: str, operator: Any) -> dict[str, str]:
    """Model 'gitops' with versions 1..3 made as a GitOps tool would (kubectl apply)."""
    items = [{"apiVersion": "kubeline.dev/v1alpha1", "kind": "ModelVersion",
              "metadata": {"name": f"gitops-v{i}"},
              "spec": {"model": "gitops", "version": f"v{i}"}} for i in (1, 2, 3)]
    cluster.kubectl("apply", "-n", step_namespace, "-f", "-",
                    input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))

    def numbered() -> bool:
        objs = kubectl_json(cluster, "get", "modelversions", "-n", step_namespace)["items"]
        return sum(1 for o in objs if (o.get("status") or {}).get("number")
                   and (o.get("status") or {}).get("stage")) == 3

    wait_for("the operator to number the versions", numbered)
    return {f"v{i}": f"gitops-v{i}" for i in (1, 2, 3)}


def test_promotion_without_force_onto_an_occupied_stage_raises(
        cluster: Any, step_namespace: str, versions: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.client import Client

    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    client = Client()
    client.get_model_version("gitops", "v1").set_stage("production")  # free: no force needed
    with pytest.raises(RuntimeError, match=r"Model version v1 is in production, but force "
                                           r"flag is False\."):
        client.update_model_version("gitops", "v2", stage="production")
    assert client.get_model_version("gitops", "v2").stage == "none"  # nothing changed
    cli = subprocess.run([sys.executable, "-m", "kubeline.cli.main", "-n", step_namespace,
                          "model", "version", "update", "gitops", "v2", "--stage",
                          "production"], capture_output=True, text=True, timeout=60)
    assert cli.returncode != 0
    assert "Model version v1 is in production, but force flag is False." in cli.stderr
    cli = subprocess.run([sys.executable, "-m", "kubeline.cli.main", "-n", step_namespace,
                          "model", "version", "update", "gitops", "v2", "--stage",
                          "production", "--force", "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["status"]["stage"] == "production"
    assert client.get_model_version("gitops", "v1").stage == "archived"
    me = client.kube.whoami()
    assert client.get_model_version("gitops", "v2").stage_history[-1]["user"] == me


def test_kubectl_patch_promotion_archives_the_previous_production_version(
        cluster: Any, step_namespace: str, versions: dict[str, str]) -> None:
    ns = ["-n", step_namespace]
    cluster.kubectl("patch", "modelversion", versions["v1"], *ns, "--type", "merge",
                    "-p", '{"spec": {"stage": "production"}}')
    wait_for("v1 in production", lambda: kubectl_json(
        cluster, "get", "modelversion", versions["v1"], *ns).get("status", {}).get(
        "stage") == "production")
    cluster.kubectl("patch", "modelversion", versions["v3"], *ns, "--type", "merge",
                    "-p", '{"spec": {"stage": "production"}}')

    def settled() -> dict[str, Any] | None:
        objs = {o["metadata"]["name"]: o for o in kubectl_json(
            cluster, "get", "modelversions", *ns)["items"]}
        v1, v3 = objs[versions["v1"]], objs[versions["v3"]]
        done = (v3.get("status", {}).get("stage") == "production"
                and v1.get("status", {}).get("stage") == "archived")
        return objs if done else None

    objs = wait_for("v3 promoted and v1 archived", settled)
    v1 = objs[versions["v1"]]
    assert v1["spec"]["stage"] == "archived"  # the GitOps source shows the drift
    history = v1["status"]["stageHistory"]
    assert [h["stage"] for h in history] == ["production", "archived"]
    assert history[0]["manager"] == "kubectl-patch"
    staged = [o for o in objs.values() if o.get("status", {}).get("stage") == "production"]
    assert [o["metadata"]["name"] for o in staged] == [versions["v3"]]
    model = next(o for o in kubectl_json(cluster, "get", "models", *ns)["items"]
                 if o["spec"]["name"] == "gitops")
    wait_for("the Model's production pointer", lambda: kubectl_json(
        cluster, "get", "model", model["metadata"]["name"], *ns).get("status", {}).get(
        "productionVersion") == "v3")


def test_gitops_server_side_apply_promotes_like_a_patch(
        cluster: Any, step_namespace: str, versions: dict[str, str]) -> None:
    ns = ["-n", step_namespace]

    def apply(version: str, stage: str) -> None:
        manifest = {"apiVersion": "kubeline.dev/v1alpha1", "kind": "ModelVersion",
                    "metadata": {"name": versions[version]},
                    "spec": {"model": "gitops", "version": version, "stage": stage}}
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=gitops",
                        *ns, "-f", "-",
                        input=json.dumps(manifest))

    def stage_of(version: str) -> str | None:
        return kubectl_json(cluster, "get", "modelversion", versions[version], *ns).get(
            "status", {}).get("stage")

    apply("v1", "production")
    wait_for("v1 in production", lambda: stage_of("v1") == "production")
    apply("v2", "production")  # the next commit promotes v2 ...
    apply("v1", "archived")  # ... and marks v1 archived, as examples/gitops/README.md says
    wait_for("v2 promoted, v1 archived",
             lambda: stage_of("v2") == "production" and stage_of("v1") == "archived")
    v2 = kubectl_json(cluster, "get", "modelversion", versions["v2"], *ns)
    assert v2["status"]["stageHistory"][-1]["manager"] == "gitops"
    # The example manifest is valid for the API server (a dry run against its schema).
    cluster.kubectl("apply", "--dry-run=server", "--server-side", *ns, "-f",
                    str(ROOT / "examples" / "gitops" / "model-promotion.yaml"))


def settled_stages(cluster: Any, namespace: str) -> dict[str, dict[str, Any]] | None:
    """The versions by object name once every stage request is applied, else None."""
    objs = kubectl_json(cluster, "get", "modelversions", "-n", namespace)["items"]
    if any(o["spec"].get("stage") != (o.get("status") or {}).get("stage") for o in objs):
        return None
    return {o["metadata"]["name"]: o for o in objs}


def assert_last_request_won(cluster: Any, namespace: str, accepted: dict[str, int],
                            objs: dict[str, dict[str, Any]]) -> None:
    """``accepted``: the resourceVersion the API server returned for each racing stage write.
    The version whose write it accepted last holds production, every other one is archived
    (and shows it was promoted, then archived by the winner's promotion)."""
    winner = max(accepted, key=lambda name: accepted[name])
    stages = {name: o["status"]["stage"] for name, o in objs.items()}
    assert stages[winner] == "production", (accepted, stages)
    assert [n for n, s in stages.items() if s == "production"] == [winner], (accepted, stages)
    for name in accepted:
        if name == winner:
            continue
        assert objs[name]["spec"]["stage"] == "archived", objs[name]["spec"]
        history = objs[name]["status"]["stageHistory"]
        assert [h["stage"] for h in history[-2:]] == ["production", "archived"], history
        assert history[-1]["reason"] == "ArchivedByPromotion"
    model = next(o for o in kubectl_json(cluster, "get", "models", "-n", namespace)["items"]
                 if o["spec"]["name"] == "gitops")
    wait_for("the Model's production pointer", lambda: kubectl_json(
        cluster, "get", "model", model["metadata"]["name"], "-n", namespace).get(
        "status", {}).get("productionVersion") == objs[winner]["spec"]["version"])


def test_racing_promotions_leave_one_production_version(
        cluster: Any, step_namespace: str, versions: dict[str, str]) -> None:
    """Three concurrent ``kubectl patch`` promotions: the one the API server accepted last
    (the highest resourceVersion it returned) is in production, the other two archived."""
    ns = ["-n", step_namespace]
    procs = {versions[v]: subprocess.Popen(
        [cluster.kubectl_bin, "patch", "modelversion", versions[v], *ns, "--type", "merge",
         "-p", '{"spec": {"stage": "production"}}', "-o", "jsonpath={.metadata.resourceVersion}"],
        env=cluster._env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for v in ("v1", "v2", "v3")}
    accepted = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        accepted[name] = int(out)
    objs = wait_for("every stage request applied", lambda: settled_stages(cluster, step_namespace))
    assert_last_request_won(cluster, step_namespace, accepted, objs)


def test_racing_client_promotions_keep_the_last_accepted_one(
        cluster: Any, step_namespace: str, versions: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads promote v2 and v3 with ``update_model_version(force=True)`` at the same
    moment while v1 is in production: v1 and the earlier request are archived."""
    import threading

    from kubeline.client import Client

    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    Client().get_model_version("gitops", "v1").set_stage("production")
    barrier = threading.Barrier(2, timeout=60)
    accepted: dict[str, int] = {}
    errors: list[BaseException] = []

    def promote(version: str) -> None:
        client = Client()
        real_patch = client.kube.patch

        def patch(plural: str, name: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
            barrier.wait()  # both stage writes leave together
            out = real_patch(plural, name, body, **kw)
            accepted[name] = int(out["metadata"]["resourceVersion"])
            return out

        client.kube.patch = patch  # type: ignore[method-assign]
        try:
            client.update_model_version("gitops", version, stage="production", force=True)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(v,)) for v in ("v2", "v3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(accepted) == [versions["v2"], versions["v3"]]
    objs = wait_for("every stage request applied", lambda: settled_stages(cluster, step_namespace))
    assert objs[versions["v1"]]["status"]["stage"] == "archived"
    assert_last_request_won(cluster, step_namespace, accepted, objs)
    me = Client().kube.whoami()
    winner = max(accepted, key=lambda name: accepted[name])
    assert objs[winner]["status"]["stageHistory"][-1]["user"] == me


def test_promoter_role_may_promote_and_do_nothing_else(
        cluster: Any, step_namespace: str, versions: dict[str, str]) -> None:
    ns = ["-n", step_namespace]
    cluster.kubectl("create", "serviceaccount", "promoter", *ns)
    cluster.kubectl("create", "rolebinding", "promoter", *ns,
                    "--clusterrole=kubeline-model-promoter",
                    f"--serviceaccount={step_namespace}:promoter")
    who = f"system:serviceaccount:{step_namespace}:promoter"
    as_promoter = [f"--as={who}"]

    def patch(body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return cluster.kubectl("patch", "modelversion", versions["v2"], *ns, *as_promoter,
                               "--type", "merge", "-p", json.dumps(body), check=False)

    ok = patch({"metadata": {"annotations": {"kubeline.dev/stage-changed-by": who}},
                "spec": {"stage": "staging"}})
    assert ok.returncode == 0, ok.stderr
    wait_for("v2 in staging", lambda: kubectl_json(
        cluster, "get", "modelversion", versions["v2"], *ns).get("status", {}).get(
        "stage") == "staging")
    entry = kubectl_json(cluster, "get", "modelversion", versions["v2"],
                         *ns)["status"]["stageHistory"][-1]
    assert entry["user"] == who  # checked by the admission policy, recorded by the operator
    denied = patch({"spec": {"description": "not mine to change"}})
    assert denied.returncode != 0
    assert "only spec.stage" in denied.stderr, denied.stderr
    forged = patch({"metadata": {"annotations": {"kubeline.dev/stage-changed-by": "alice"}},
                    "spec": {"stage": "production"}})
    assert forged.returncode != 0
    assert f"says alice but the request is made by {who}" in forged.stderr, forged.stderr
    for verb in (["create", "pipelinerun", "x", "--dry-run=server"],
                 ["delete", "modelversion", versions["v1"]]):
        can = cluster.kubectl("auth", "can-i", *verb[:2], *ns, *as_promoter, check=False)
        assert can.stdout.strip() == "no", (verb, can.stdout)
