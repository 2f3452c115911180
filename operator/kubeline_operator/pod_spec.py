"""Build the step Pod (pure): name, labels, owner reference, invocation, S3 env, resources.

The Pod follows docs/contracts.md ("The step Pod"): its container runs
``python -m kubeline.runtime`` with ``KUBELINE_INVOCATION`` (JSON), the S3
variables from the chart's Secret, and the step's declared env. It passes the
``restricted`` Pod Security Standard (docs/security.md): a fixed non-root uid,
``RuntimeDefault`` seccomp, no capabilities, a read-only root filesystem with
emptyDirs for ``/tmp`` (HOME and the caches) and for the unpacked code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeline.resources import layout
from kubeline.resources.invocation import Invocation, ModelRef
from kubeline.resources.models import RunModelVersion, SnapshotSpec, StepSpec
from kubeline.resources.names import (
    ANNOTATION_STEP_ID,
    API_VERSION,
    COMPONENT_STEP,
    ENV_API_ACCESS,
    ENV_CODE_DIR,
    ENV_POD_NAME,
    ENV_POD_UID,
    IMAGE_UID,
    LABEL_ATTEMPT,
    LABEL_COMPONENT,
    LABEL_OPERATOR_CLASS,
    LABEL_PIPELINE,
    LABEL_RUN,
    LABEL_SNAPSHOT,
    LABEL_STEP,
    S3_SECRET,
    S3_SECRET_ENV,
    SERVICE_ACCOUNT_DIR,
    STEP_CODE_DIR,
    STEP_CONTAINER,
    label_value,
    step_pod_name,
)

from kubeline_operator.actions import ArtifactInfo
from kubeline_operator.dag import Dag

#: Secret key -> environment variable (kubeline.resources.names.S3_SECRET_ENV).
S3_SECRET_KEYS = S3_SECRET_ENV
#: Extra seconds the Pod's activeDeadlineSeconds allows beyond the step timeout.
DEADLINE_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class PodSettings:
    """Cluster-wide settings of step Pods (from the operator's environment)."""

    default_image: str = ""
    image_pull_policy: str = "IfNotPresent"
    service_account: str = "kubeline-step"
    s3_secret: str = S3_SECRET
    node_selector: tuple[tuple[str, str], ...] = ()  # pins step Pods, e.g. to kwok nodes
    tolerations: tuple[dict[str, Any], ...] = ()
    operator_class: str = ""  # non-empty: labels step Pods kubeline.dev/operator-class
    api_access: str = "read"  # none | read | trigger (chart: steps.apiAccess, allowTriggeringRuns)
    token_expiration_seconds: int = 600
    token_audience: str = ""  # empty: the API server's own audience
    run_as_user: int = IMAGE_UID  # uid and gid of step containers (chart: steps.runAsUser)
    #: Default compute resources (chart: steps.resources): {"requests": {...}, "limits": {...}};
    #: a step's own cpu/memory/gpu replace the matching entries.
    default_resources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class RunRef:
    """The PipelineRun a Pod belongs to."""

    name: str
    uid: str
    namespace: str
    pipeline: str  # Pipeline object name
    snapshot: str
    model: RunModelVersion | None = None  # the run's model version (resolved at its start)


def outputs_uri(bucket: str, run: RunRef, step: StepSpec, attempt: int) -> str:
    """Where an attempt saves its outputs and manifest (``layout.attempt_uri``)."""
    return layout.attempt_uri(layout.bucket_root(bucket), run.namespace, run.pipeline, run.name,
                              step.name, attempt)


def manifest_uri(bucket: str, run: RunRef, step: StepSpec, attempt: int) -> str:
    """The attempt's outputs manifest (``layout.manifest_uri``)."""
    return layout.manifest_uri(outputs_uri(bucket, run, step, attempt))


def step_image(step: StepSpec, snapshot: SnapshotSpec, settings: PodSettings) -> str:
    """The step's image, else the snapshot's, else the operator default."""
    return step.image or snapshot.image or settings.default_image


def invocation(
    run: RunRef,
    snapshot: SnapshotSpec,
    step: StepSpec,
    attempt: int,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, ArtifactInfo],
    outputs: str,
) -> Invocation:
    """The ``KUBELINE_INVOCATION`` document."""
    return Invocation(
        namespace=run.namespace,
        pipeline=run.pipeline,
        pipeline_name=snapshot.pipeline_name,
        run=run.name,
        run_uid=run.uid,
        snapshot=run.snapshot,
        attempt=attempt,
        step=step,
        upstream=list(Dag.of(snapshot).upstream.get(step.id, ())),
        parameters=dict(parameters),
        inputs={name: info.to_invocation() for name, info in inputs.items()},
        outputs_uri=outputs,
        code=snapshot.code,
        model=_model_ref(run, snapshot),
    )


def _model_ref(run: RunRef, snapshot: SnapshotSpec) -> ModelRef | None:
    """The step context's model: the snapshot's model config at the run's resolved version."""
    if run.model is None:
        return None
    doc = snapshot.model.to_k8s() if snapshot.model else {}
    doc.update(name=run.model.name, version=run.model.version, number=run.model.number,
               object=run.model.object)
    return ModelRef.model_validate(doc)


def labels_for(run: RunRef, step: StepSpec, attempt: int, operator_class: str = ""
               ) -> dict[str, str]:
    labels = {
        LABEL_RUN: label_value(run.name),
        LABEL_STEP: step.name,
        LABEL_PIPELINE: label_value(run.pipeline),
        LABEL_SNAPSHOT: label_value(run.snapshot),
        LABEL_ATTEMPT: str(attempt),
        LABEL_COMPONENT: COMPONENT_STEP,
    }
    if operator_class:
        labels[LABEL_OPERATOR_CLASS] = operator_class
    return labels


def _resources(step: StepSpec, settings: PodSettings) -> dict[str, Any]:
    """The chart's default requests/limits, with the step's own amounts in their place."""
    out: dict[str, dict[str, str]] = {kind: dict(amounts)
                                      for kind, amounts in settings.default_resources}
    res = step.resources
    if res is not None:
        for key, value in (("cpu", res.cpu), ("memory", res.memory),
                           ("nvidia.com/gpu", str(res.gpu) if res.gpu else None)):
            if value:
                out.setdefault("requests", {})[key] = value
                out.setdefault("limits", {})[key] = value
    return {kind: amounts for kind, amounts in out.items() if amounts}


TMP_VOLUME = "tmp"
CODE_VOLUME = "code"
#: Writable places the runtime and common libraries need under a read-only root
#: filesystem: all under the /tmp emptyDir. A step's own env overrides them.
CACHE_ENV = {
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "XDG_CACHE_HOME": "/tmp/.cache",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "NUMBA_CACHE_DIR": "/tmp/numba",
}


def security_context(settings: PodSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Pod, container) security contexts that pass the ``restricted`` Pod Security level."""
    uid = settings.run_as_user
    pod = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
           "seccompProfile": {"type": "RuntimeDefault"}}
    container = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                 "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                 "seccompProfile": {"type": "RuntimeDefault"}}
    return pod, container


TOKEN_VOLUME = "kube-api-access"


def api_token_volume(settings: PodSettings) -> dict[str, Any]:
    """A projected volume with a short-lived, audience-bound ServiceAccount token, the
    cluster CA and the namespace: what the in-cluster client reads, nothing more."""
    token: dict[str, Any] = {"path": "token",
                             "expirationSeconds": settings.token_expiration_seconds}
    if settings.token_audience:
        token["audience"] = settings.token_audience
    return {"name": TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
        {"serviceAccountToken": token},
        {"configMap": {"name": "kube-root-ca.crt",
                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}


def build_step_pod(
    run: RunRef,
    snapshot: SnapshotSpec,
    step: StepSpec,
    attempt: int,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, ArtifactInfo],
    bucket: str,
    settings: PodSettings,
) -> dict[str, Any]:
    """The Pod manifest for one attempt of one step."""
    name = step_pod_name(run.name, step.name, attempt)
    env: list[dict[str, Any]] = [
        invocation(run, snapshot, step, attempt, parameters, inputs,
                   outputs_uri(bucket, run, step, attempt)).env()
    ]
    for key, var in S3_SECRET_KEYS.items():
        env.append({
            "name": var,
            "valueFrom": {
                "secretKeyRef": {
                    "name": settings.s3_secret, "key": key, "optional": key != "bucket",
                }
            },
        })
    env.append({"name": ENV_API_ACCESS, "value": settings.api_access})
    if settings.api_access != "none":  # the Pod names itself in its outputs-committed Event
        env.append({"name": ENV_POD_NAME,
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
        env.append({"name": ENV_POD_UID,
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}})
    env.append({"name": ENV_CODE_DIR, "value": STEP_CODE_DIR})
    reserved = {e["name"] for e in env}
    env.extend({"name": k, "value": v} for k, v in CACHE_ENV.items() if k not in step.env)
    env.extend({"name": k, "value": v} for k, v in step.env.items() if k not in reserved)
    pod_security, container_security = security_context(settings)
    container: dict[str, Any] = {
        "name": STEP_CONTAINER,
        "image": step_image(step, snapshot, settings),
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["python", "-m", "kubeline.runtime"],
        "env": env,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security,
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"},
                         {"name": CODE_VOLUME, "mountPath": STEP_CODE_DIR}],
    }
    resources = _resources(step, settings)
    if resources:
        container["resources"] = resources
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": settings.service_account,
        # Never the default token (long-lived, every audience): with API access the Pod
        # gets its own short-lived, audience-bound one (api_token_volume).
        "automountServiceAccountToken": False,
        "securityContext": pod_security,
        "containers": [container],
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {}}, {"name": CODE_VOLUME, "emptyDir": {}}],
    }
    if settings.api_access != "none":
        spec["volumes"].append(api_token_volume(settings))
        container["volumeMounts"].append({"name": TOKEN_VOLUME, "mountPath": SERVICE_ACCOUNT_DIR,
                                          "readOnly": True})
    if settings.node_selector:
        spec["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        spec["tolerations"] = [dict(t) for t in settings.tolerations]
    if step.timeout_seconds:
        spec["activeDeadlineSeconds"] = step.timeout_seconds + DEADLINE_MARGIN_SECONDS
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": labels_for(run, step, attempt, settings.operator_class),
            "annotations": {ANNOTATION_STEP_ID: step.id},
            "ownerReferences": [{
                "apiVersion": API_VERSION,
                "kind": "PipelineRun",
                "name": run.name,
                "uid": run.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }],
        },
        "spec": spec,
    }
