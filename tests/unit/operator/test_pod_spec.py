"""The step Pod builder (pure): contract of docs/contracts.md."""

from __future__ import annotations

import json

import pytest
from kubeline.resources.models import (
    CodeArchive,
    ResourceRequirements,
    RunModelVersion,
    SnapshotSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from kubeline.resources.names import step_pod_name
from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.pod_spec import PodSettings, RunRef, build_step_pod

pytestmark = pytest.mark.unit

STEP = StepSpec(
    name="svc-trainer", id="svc_trainer", function="svc_trainer", entrypoint="steps:svc_trainer",
    code_hash="c" * 64, outputs=[StepOutput(name="model", materializer="m.Pickle")],
    env={"MODE": "fast", "KUBELINE_INVOCATION": "ignored"}, timeout_seconds=300,
    resources=ResourceRequirements(cpu="500m", memory="1Gi", gpu=1),
)
SNAP = SnapshotSpec(pipeline="training-pipeline", pipeline_name="training_pipeline",
                    image="kubeline/step:1", steps=[STEP],
                    code=CodeArchive(uri="s3://b/code/x.tar.gz", sha256="d" * 64),
                    model={"name": "iris", "version": "1"})
RUN = RunRef(name="training-pipeline-x7k2p", uid="uid-1", namespace="ml",
             pipeline="training-pipeline", snapshot="snap-1",
             model=RunModelVersion(name="iris", version="1", number=1, object="iris-1-abc"))
INFO = ArtifactInfo("x-train-1", "uid-av", "s3://b/x", "m.Pandas", "pandas.DataFrame",
                    "X_train", "3", "h" * 64)
SETTINGS = PodSettings(default_image="fallback:1", image_pull_policy="Never",
                       service_account="kubeline-step", s3_secret="my-s3")


def build(**kw: object) -> dict:
    args = {"run": RUN, "snapshot": SNAP, "step": STEP, "attempt": 2,
            "parameters": {"gamma": 0.002}, "inputs": {"X_train": INFO}, "bucket": "b",
            "settings": SETTINGS}
    args.update(kw)
    return build_step_pod(**args)


def env_of(pod: dict) -> dict:
    return {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}


def test_identity_labels_and_owner() -> None:
    pod = build()
    meta = pod["metadata"]
    assert meta["name"] == step_pod_name(RUN.name, "svc-trainer", 2)
    assert meta["labels"] == {
        "kubeline.dev/run": RUN.name, "kubeline.dev/step": "svc-trainer",
        "kubeline.dev/pipeline": "training-pipeline", "kubeline.dev/snapshot": "snap-1",
        "kubeline.dev/attempt": "2", "kubeline.dev/component": "step"}
    owner = meta["ownerReferences"][0]
    assert owner == {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
                     "name": RUN.name, "uid": "uid-1", "controller": True,
                     "blockOwnerDeletion": True}


def test_pod_spec_settings() -> None:
    spec = build()["spec"]
    container = spec["containers"][0]
    assert spec["restartPolicy"] == "Never"
    assert spec["serviceAccountName"] == "kubeline-step"
    assert spec["automountServiceAccountToken"] is False, "never the long-lived default token"
    assert spec["activeDeadlineSeconds"] == 360
    assert container["command"] == ["python", "-m", "kubeline.runtime"]
    assert container["image"] == "kubeline/step:1"
    assert container["imagePullPolicy"] == "Never"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}}


def test_invocation_matches_contract() -> None:
    inv = json.loads(env_of(build())["KUBELINE_INVOCATION"]["value"])
    assert inv["namespace"] == "ml" and inv["pipeline"] == "training-pipeline"
    assert inv["pipelineName"] == "training_pipeline" and inv["run"] == RUN.name
    assert inv["runUid"] == "uid-1" and inv["snapshot"] == "snap-1" and inv["attempt"] == 2
    assert inv["step"]["id"] == "svc_trainer" and inv["step"]["entrypoint"] == "steps:svc_trainer"
    assert inv["parameters"] == {"gamma": 0.002}
    assert inv["inputs"]["X_train"] == {
        "artifactVersion": "x-train-1", "id": "uid-av", "uri": "s3://b/x",
        "materializer": "m.Pandas", "dataType": "pandas.DataFrame", "artifactName": "X_train",
        "version": "3", "contentHash": "h" * 64}
    assert inv["outputsUri"] == f"s3://b/artifacts/ml/training-pipeline/{RUN.name}/svc-trainer/2"
    assert inv["code"]["sha256"] == "d" * 64
    # The step context's model is the run's resolved version, with its number.
    assert inv["model"] == {"name": "iris", "version": "1", "number": 1, "object": "iris-1-abc",
                            "tags": []}


def test_invocation_names_the_upstream_steps_by_id() -> None:
    """What a step that reads its own run waits to see finished in the run's status (the
    status is written batched, after the Pod): inputs' steps and ``after``, by name or id,
    once each."""
    load = STEP.model_copy(update={"name": "load-data", "id": "load_data", "outputs": []})
    evaluate = StepSpec(
        name="evaluate", id="evaluate", function="evaluate", entrypoint="steps:evaluate",
        code_hash="e" * 64, after=["load_data", "svc-trainer"],
        inputs=[StepInput(name="model", step="svc-trainer", output="model")])
    snap = SNAP.model_copy(update={"steps": [load, STEP, evaluate]})
    inv = json.loads(env_of(build(snapshot=snap, step=evaluate))["KUBELINE_INVOCATION"]["value"])
    assert inv["upstream"] == ["svc_trainer", "load_data"]
    first = json.loads(env_of(build(snapshot=snap, step=load))["KUBELINE_INVOCATION"]["value"])
    assert first["upstream"] == []


def test_s3_env_from_secret_and_declared_env() -> None:
    env = env_of(build())
    refs = {name: env[name]["valueFrom"]["secretKeyRef"] for name in (
        "KUBELINE_S3_BUCKET", "KUBELINE_S3_ENDPOINT", "KUBELINE_S3_REGION",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    assert {n: r["key"] for n, r in refs.items()} == {
        "KUBELINE_S3_BUCKET": "bucket", "KUBELINE_S3_ENDPOINT": "endpoint",
        "KUBELINE_S3_REGION": "region", "AWS_ACCESS_KEY_ID": "accessKeyId",
        "AWS_SECRET_ACCESS_KEY": "secretAccessKey"}
    assert all(r["name"] == "my-s3" for r in refs.values())
    assert refs["KUBELINE_S3_BUCKET"]["optional"] is False
    assert env["MODE"] == {"name": "MODE", "value": "fast"}
    # A declared env var may not shadow the invocation.
    assert json.loads(env["KUBELINE_INVOCATION"]["value"])["run"] == RUN.name


def test_defaults_without_timeout_resources_or_step_image() -> None:
    plain = STEP.model_copy(update={"timeout_seconds": None, "resources": None, "image": None})
    snap = SNAP.model_copy(update={"image": ""})
    pod = build(step=plain, snapshot=snap)
    assert "activeDeadlineSeconds" not in pod["spec"]
    assert "resources" not in pod["spec"]["containers"][0]
    assert pod["spec"]["containers"][0]["image"] == "fallback:1"


def restricted_violations(pod: dict) -> list[str]:
    """The checks of the ``restricted`` Pod Security Standard (v1.30) that a Pod spec can fail."""
    spec, bad = pod["spec"], []
    psc = spec.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            bad.append(key)
    for v in spec.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                         "persistentVolumeClaim", "projected", "secret"}:
            bad.append(f"volume {v['name']}: {kinds}")
    if psc.get("runAsUser") == 0:
        bad.append("pod runAsUser 0")
    for c in spec["containers"] + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        if sc.get("privileged") or (c.get("ports") and any(p.get("hostPort") for p in c["ports"])):
            bad.append("privileged/hostPort")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append("allowPrivilegeEscalation")
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
            bad.append("runAsNonRoot")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            bad.append("runAsUser 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            bad.append("seccompProfile")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []) or set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            bad.append("capabilities")
    return bad


def test_step_pod_passes_the_restricted_pod_security_level() -> None:
    from dataclasses import replace

    for settings in (SETTINGS, replace(SETTINGS, api_access="none")):
        pod = build(settings=settings)
        assert restricted_violations(pod) == []
        spec = pod["spec"]
        assert spec["securityContext"]["runAsUser"] == 10001  # user kubeline in the image
        assert spec["securityContext"]["runAsGroup"] == 10001
    # The checker itself catches the old spec (root, only allowPrivilegeEscalation).
    old = build()
    old["spec"].pop("securityContext")
    old["spec"]["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False}
    assert set(restricted_violations(old)) == {"runAsNonRoot", "seccompProfile", "capabilities"}
    assert restricted_violations(build(settings=replace(SETTINGS, run_as_user=0))) == [
        "pod runAsUser 0", "runAsUser 0"]


def test_read_only_root_with_emptydirs_for_tmp_and_code() -> None:
    pod = build()
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}}
    env = {e["name"]: e.get("value") for e in container["env"]}
    code_dir = env["KUBELINE_CODE_DIR"]
    assert "emptyDir" in volumes[mounts[code_dir]] and not code_dir.startswith("/tmp")
    # Every cache the runtime and common libraries write goes under the /tmp emptyDir.
    for var in ("HOME", "TMPDIR", "XDG_CACHE_HOME", "MPLCONFIGDIR", "NUMBA_CACHE_DIR"):
        assert env[var] == "/tmp" or env[var].startswith("/tmp/"), var
    # A step's own env wins over those defaults (not over the contract's variables).
    step = STEP.model_copy(update={"env": {"HOME": "/tmp/me", "KUBELINE_CODE_DIR": "/x"}})
    env = {e["name"]: e.get("value") for e in build(step=step)["spec"]["containers"][0]["env"]}
    assert env["HOME"] == "/tmp/me" and env["KUBELINE_CODE_DIR"] == code_dir
    names = [e["name"] for e in build(step=step)["spec"]["containers"][0]["env"]]
    assert len(names) == len(set(names))


def test_chart_default_resources_overridden_per_step() -> None:
    from dataclasses import replace

    defaults = replace(SETTINGS, default_resources=(
        ("requests", (("cpu", "50m"), ("memory", "128Mi"))),
        ("limits", (("cpu", "2"), ("memory", "2Gi")))))
    plain = STEP.model_copy(update={"resources": None})
    assert build(step=plain, settings=defaults)["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    memory_only = STEP.model_copy(update={"resources": ResourceRequirements(memory="4Gi")})
    res = build(step=memory_only, settings=defaults)["spec"]["containers"][0]["resources"]
    assert res == {"requests": {"cpu": "50m", "memory": "4Gi"},
                   "limits": {"cpu": "2", "memory": "4Gi"}}
    res = build(settings=defaults)["spec"]["containers"][0]["resources"]
    assert res["limits"] == {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}


def test_operator_settings_read_step_resources_and_uid() -> None:
    from kubeline_operator.settings import OperatorSettings

    env = {"KUBELINE_STEP_RESOURCES": json.dumps({"requests": {"cpu": "50m", "memory": "128Mi"},
                                                  "limits": {"memory": "2Gi"}}),
           "KUBELINE_STEP_RUN_AS_USER": "20002"}
    pod = OperatorSettings.from_env(env).pod
    assert pod.run_as_user == 20002
    assert dict(pod.default_resources) == {"requests": (("cpu", "50m"), ("memory", "128Mi")),
                                           "limits": (("memory", "2Gi"),)}
    assert OperatorSettings.from_env({}).pod.run_as_user == 10001
    assert OperatorSettings.from_env({}).pod.default_resources == ()
    with pytest.raises(ValueError, match="non-root"):
        OperatorSettings.from_env({"KUBELINE_STEP_RUN_AS_USER": "0"})
    with pytest.raises(ValueError, match="KUBELINE_STEP_RESOURCES"):
        OperatorSettings.from_env({"KUBELINE_STEP_RESOURCES": '{"requets": {}}'})


def test_pod_validates_as_kubernetes_pod() -> None:
    from kubernetes.client import V1Pod

    pod = V1Pod.model_validate(build())
    assert pod.spec.containers[0].env[1].value_from.secret_key_ref.key == "bucket"


def test_step_pod_reads_the_api_through_a_short_lived_projected_token() -> None:
    from dataclasses import replace

    spec = build()["spec"]
    volume = next(v for v in spec["volumes"] if "projected" in v)
    sources = volume["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"] == {
        "fieldPath": "metadata.namespace"}
    (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount == {"name": volume["name"], "readOnly": True,
                     "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["KUBELINE_API_ACCESS"] == "read"
    # The Pod's own name and uid, for the Event it posts when its outputs are committed.
    refs = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"]
            for e in spec["containers"][0]["env"] if "fieldRef" in e.get("valueFrom", {})}
    assert refs == {"KUBELINE_POD_NAME": "metadata.name", "KUBELINE_POD_UID": "metadata.uid"}

    bound = replace(SETTINGS, token_audience="https://kubernetes.default.svc",
                    token_expiration_seconds=900)
    pod = build(settings=bound)
    token = pod["spec"]["volumes"][-1]["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"path": "token", "expirationSeconds": 900,
                     "audience": "https://kubernetes.default.svc"}

    none = build(settings=replace(SETTINGS, api_access="none"))
    assert not [v for v in none["spec"]["volumes"] if "projected" in v]
    assert none["spec"]["automountServiceAccountToken"] is False
    env = {e["name"]: e.get("value") for e in none["spec"]["containers"][0]["env"]}
    assert env["KUBELINE_API_ACCESS"] == "none"
    assert "KUBELINE_POD_UID" not in env  # no token, no Event: the exit completes the step


def test_operator_settings_for_step_api_access() -> None:
    import pytest
    from kubeline_operator.settings import OperatorSettings

    pod = OperatorSettings.from_env({"KUBELINE_STEP_API_ACCESS": "trigger",
                                     "KUBELINE_STEP_TOKEN_EXPIRATION_SECONDS": "1200"}).pod
    assert (pod.api_access, pod.token_expiration_seconds) == ("trigger", 1200)
    assert OperatorSettings.from_env({}).pod.api_access == "read"
    with pytest.raises(ValueError, match="KUBELINE_STEP_API_ACCESS"):
        OperatorSettings.from_env({"KUBELINE_STEP_API_ACCESS": "admin"})
    with pytest.raises(ValueError, match=r"600\.\.86400"):
        OperatorSettings.from_env({"KUBELINE_STEP_TOKEN_EXPIRATION_SECONDS": "60"})
