"""Kubernetes names, labels and constants shared by the SDK and the operator.

Names users give (pipelines, artifacts) are kept as given in spec fields; the
object names and label values derived from them are sanitized and, when they
had to change, suffixed with a short hash so that the mapping stays
deterministic and collision-free.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

GROUP = "kubeline.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Plural names of the custom resources.
PIPELINES = "pipelines"
SNAPSHOTS = "snapshots"
PIPELINE_RUNS = "pipelineruns"
ARTIFACT_VERSIONS = "artifactversions"
MODELS = "models"
MODEL_VERSIONS = "modelversions"

# Labels on every child object.
LABEL_PIPELINE = f"{GROUP}/pipeline"
LABEL_RUN = f"{GROUP}/run"
LABEL_STEP = f"{GROUP}/step"
LABEL_ATTEMPT = f"{GROUP}/attempt"
LABEL_ARTIFACT = f"{GROUP}/artifact"
LABEL_VERSION = f"{GROUP}/version"
LABEL_CACHE_KEY = f"{GROUP}/cache-key"
LABEL_UID = f"{GROUP}/uid"
LABEL_SNAPSHOT = f"{GROUP}/snapshot"
LABEL_MODEL = f"{GROUP}/model"
LABEL_STAGE = f"{GROUP}/stage"
LABEL_COMPONENT = f"{GROUP}/component"
#: Which operator instance acts on a PipelineRun (and its Pods); absent = the default one.
LABEL_OPERATOR_CLASS = f"{GROUP}/operator-class"

#: Key of the S3 Secret (docs/contracts.md) naming an in-cluster S3 Service,
#: ``<namespace>/<service>:<port>``: clients outside the cluster port-forward to it.
S3_SECRET_KEY_IN_CLUSTER_SERVICE = "inClusterService"

#: Runs started by ``trigger_pipeline`` inside a step: the triggering run and step.
LABEL_TRIGGERED_BY_RUN = f"{GROUP}/triggered-by-run"
LABEL_TRIGGERED_BY_STEP = f"{GROUP}/triggered-by-step"

#: Values of ``LABEL_COMPONENT``.
COMPONENT_STEP = "step"

# Annotations.
#: The user-given name, verbatim (object names and label values are sanitized).
ANNOTATION_NAME = f"{GROUP}/name"
#: Env var of step Pods: their API access, "read" (get/list/watch kubeline.dev objects of
#: their namespace), "trigger" (read, and create PipelineRuns) or "none" (no token).
ENV_API_ACCESS = "KUBELINE_API_ACCESS"
API_ACCESS_LEVELS = ("none", "read", "trigger")
#: Where a step Pod's projected ServiceAccount token is mounted (the in-cluster default).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
#: Env vars of step Pods (downward API): the Pod's own name and uid, which the Event below
#: names as its involved object.
ENV_POD_NAME = "KUBELINE_POD_NAME"
ENV_POD_UID = "KUBELINE_POD_UID"
#: Reason of the core/v1 Event a step Pod posts on itself once its outputs manifest is
#: durably written (label and annotation ``LABEL_RUN``; the annotation holds the run's full
#: name): the operator then records the step from the verified manifest without waiting for
#: the kubelet to report the container's exit. Only a hint: a step is never completed
#: without its attempt's manifest (docs/operator.md).
EVENT_OUTPUTS_COMMITTED = "KubelineOutputsCommitted"
#: Tags added after an object was created (``add_tags``): a JSON list of strings.
ANNOTATION_TAGS = f"{GROUP}/tags"
#: A step Pod's or ArtifactVersion's step invocation id (labels carry the DNS name).
ANNOTATION_STEP_ID = f"{GROUP}/step-id"
#: An ArtifactVersion's output name within its producing step.
ANNOTATION_OUTPUT = f"{GROUP}/output"
#: The full cache key (the label ``LABEL_CACHE_KEY`` holds its first 63 characters).
ANNOTATION_CACHE_KEY = f"{GROUP}/cache-key-full"

#: Name of the step container in a step Pod.
STEP_CONTAINER = "step"

# Environment variables.
#: The step Pod's invocation (JSON, ``kubeline.resources.invocation.Invocation``).
ENV_INVOCATION = "KUBELINE_INVOCATION"
#: Where the step runtime writes its termination message (default ``/dev/termination-log``).
ENV_TERMINATION_LOG = "KUBELINE_TERMINATION_LOG"
#: Where the step runtime unpacks code archives (default ``kubeline-code`` in the temp
#: folder: ``$TMPDIR``, else ``/tmp``).
ENV_CODE_DIR = "KUBELINE_CODE_DIR"
#: The uid and gid the Kubeline image runs as (user ``kubeline`` in its /etc/passwd).
IMAGE_UID = 10001
#: Where step Pods unpack the code archive: an emptyDir (the root filesystem is read-only).
STEP_CODE_DIR = "/kubeline/code"
ENV_S3_BUCKET = "KUBELINE_S3_BUCKET"
ENV_S3_ENDPOINT = "KUBELINE_S3_ENDPOINT"
ENV_S3_REGION = "KUBELINE_S3_REGION"
ENV_AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
ENV_AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
#: "true": S3 access comes from the ServiceAccount's cloud identity (no keys expected).
ENV_S3_WORKLOAD_IDENTITY = "KUBELINE_S3_WORKLOAD_IDENTITY"
#: The S3 Secret's keys and the environment variable each becomes (step Pods, operator).
S3_SECRET_ENV = {
    "bucket": ENV_S3_BUCKET,
    "endpoint": ENV_S3_ENDPOINT,
    "region": ENV_S3_REGION,
    "accessKeyId": ENV_AWS_ACCESS_KEY_ID,
    "secretAccessKey": ENV_AWS_SECRET_ACCESS_KEY,
}
#: Default name of the chart's S3 Secret.
S3_SECRET = "kubeline-s3"
#: The SDK's namespace override.
ENV_NAMESPACE = "KUBELINE_NAMESPACE"
#: Namespaces (comma-separated) whose pickle-based artifacts a process may unpickle besides
#: its own: the opt-in of ``kubeline.materializers.trust`` (docs/security.md).
ENV_TRUST_PICKLES_FROM = "KUBELINE_TRUST_PICKLES_FROM"
#: SDK build-time switches (compiler, code archive).
ENV_IMAGE = "KUBELINE_IMAGE"
ENV_SOURCE_ROOT = "KUBELINE_SOURCE_ROOT"
ENV_CODE_IN_IMAGE = "KUBELINE_CODE_IN_IMAGE"
ENV_CODE_MAX_BYTES = "KUBELINE_CODE_MAX_BYTES"
#: Calling a step outside a pipeline just calls its function (ZenML's switch; either name).
ENV_RUN_SINGLE_STEPS_WITHOUT_STACK = ("KUBELINE_RUN_SINGLE_STEPS_WITHOUT_STACK",
                                      "ZENML_RUN_SINGLE_STEPS_WITHOUT_STACK")
#: ``kubeline ui``'s default port.
ENV_UI_PORT = "KUBELINE_UI_PORT"
#: The API server's CA for the UI in client mode (the chart mounts only the CA, no token).
ENV_UI_CA_FILE = "KUBELINE_UI_CA_FILE"
#: The component named in the Events the operator posts.
EVENT_REPORTING_COMPONENT = f"{GROUP}/operator"

# The operator's environment (set by the chart; read by kubeline_operator.settings).
ENV_WATCH_NAMESPACES = "KUBELINE_WATCH_NAMESPACES"
ENV_PEERING = "KUBELINE_PEERING"
ENV_PEERING_PRIORITY = "KUBELINE_PEERING_PRIORITY"
ENV_OPERATOR_CLASS = "KUBELINE_OPERATOR_CLASS"
ENV_DEFAULT_IMAGE = "KUBELINE_DEFAULT_IMAGE"
ENV_IMAGE_PULL_POLICY = "KUBELINE_IMAGE_PULL_POLICY"
ENV_STEP_SERVICE_ACCOUNT = "KUBELINE_STEP_SERVICE_ACCOUNT"
ENV_S3_SECRET = "KUBELINE_S3_SECRET"
ENV_STEP_NODE_SELECTOR = "KUBELINE_STEP_NODE_SELECTOR"
ENV_STEP_TOLERATIONS = "KUBELINE_STEP_TOLERATIONS"
ENV_STEP_API_ACCESS = "KUBELINE_STEP_API_ACCESS"
ENV_STEP_TOKEN_EXPIRATION_SECONDS = "KUBELINE_STEP_TOKEN_EXPIRATION_SECONDS"
ENV_STEP_TOKEN_AUDIENCE = "KUBELINE_STEP_TOKEN_AUDIENCE"
ENV_STEP_RESOURCES = "KUBELINE_STEP_RESOURCES"  # JSON {"requests": {...}, "limits": {...}}
ENV_STEP_RUN_AS_USER = "KUBELINE_STEP_RUN_AS_USER"
ENV_MAX_PODS_PER_RUN = "KUBELINE_MAX_PODS_PER_RUN"
ENV_MAX_PODS_GLOBAL = "KUBELINE_MAX_PODS_GLOBAL"
ENV_IMAGE_PULL_GRACE_SECONDS = "KUBELINE_IMAGE_PULL_GRACE_SECONDS"
ENV_SNAPSHOT_GRACE_SECONDS = "KUBELINE_SNAPSHOT_GRACE_SECONDS"
ENV_API_QPS = "KUBELINE_API_QPS"
ENV_API_BURST = "KUBELINE_API_BURST"
ENV_EVENT_QPS = "KUBELINE_EVENT_QPS"
ENV_WORKERS = "KUBELINE_WORKERS"
ENV_STATUS_BATCH_SECONDS = "KUBELINE_STATUS_BATCH_SECONDS"
ENV_HEALTH_PORT = "KUBELINE_HEALTH_PORT"
ENV_METRICS_PORT = "KUBELINE_METRICS_PORT"
ENV_LOG_LEVEL = "KUBELINE_LOG_LEVEL"
#: "true": Schedules may fire at test intervals (tests only).
ENV_SCHEDULE_TEST_INTERVALS = "KUBELINE_SCHEDULE_TEST_INTERVALS"


#: On a PipelineRun started from a step: the name of the step Pod whose ServiceAccount token
#: created it. The chart's run-provenance admission policy admits it only from that very Pod
#: (the token's pod-name claim), so the operator can check ``spec.triggeredBy`` against it.
ANNOTATION_TRIGGERED_FROM_POD = f"{GROUP}/triggered-from-pod"
#: "true" when the chart installed that policy; otherwise no triggeredBy can be verified.
ENV_PROVENANCE_POLICY = "KUBELINE_PROVENANCE_POLICY"

#: On a ModelVersion: who asks for its stage change; the chart's admission policy only
#: accepts the requesting user's own name, so the stage history can trust it.
ANNOTATION_STAGE_CHANGED_BY = f"{GROUP}/stage-changed-by"

#: Label key prefixes naming what steps take from outside their run: an ArtifactVersion
#: (``input.kubeline.dev/<uid>``) and a model whose artifacts are resolved at run start
#: (``model-input.kubeline.dev/<model label value>``). The SDK sets them on the Snapshots it
#: creates (pinned ids only); the operator sets them on every PipelineRun as it resolves
#: the inputs (however the run or its Snapshot was made, and for artifacts taken by name:
#: the version they resolved to). The UI finds an artifact's consumers in other pipelines
#: through them (label selectors).
LABEL_PREFIX_INPUT_ARTIFACT = "input.kubeline.dev"
LABEL_PREFIX_INPUT_MODEL = "model-input.kubeline.dev"


def input_artifact_label(uid: str) -> str:
    """The label key (Snapshot, PipelineRun) saying its steps take ArtifactVersion ``uid``."""
    return f"{LABEL_PREFIX_INPUT_ARTIFACT}/{uid}"


def input_model_label(model: str) -> str:
    """The label key (Snapshot, PipelineRun) saying its steps take artifacts of ``model``."""
    return f"{LABEL_PREFIX_INPUT_MODEL}/{label_value(model)}"


def snapshot_input_labels(spec: dict[str, Any]) -> dict[str, str]:
    """Labels of a Snapshot (its spec in wire form) for its inputs from outside the run."""
    labels: dict[str, str] = {}
    for step in spec.get("steps") or []:
        for inp in step.get("inputs") or []:
            art = inp.get("artifact") or {}
            if art.get("id"):
                labels[input_artifact_label(str(art["id"]))] = "true"
            model = (inp.get("modelArtifact") or {}).get("model")
            if model:
                labels[input_model_label(str(model))] = "true"
    return labels


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def short_hash(text: str, length: int = 8) -> str:
    """A stable lowercase hex digest prefix of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def is_dns_label(name: str) -> bool:
    """True when ``name`` is a valid DNS-1123 label (step names, label keys)."""
    return len(name) <= 63 and bool(_DNS_LABEL.match(name))


def dns_name(text: str, max_length: int = 63) -> str:
    """Map any text to a DNS-1123 label, deterministically.

    Text that already is a valid label is returned unchanged; anything else is
    lowercased, stripped of invalid characters and suffixed with a hash of the
    original so that two different inputs never share a name.
    """
    if len(text) <= max_length and _DNS_LABEL.match(text):
        return text
    base = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    suffix = short_hash(text)
    base = base[: max_length - len(suffix) - 1].rstrip("-") or "x"
    return f"{base}-{suffix}"


def label_value(text: str) -> str:
    """Map any text to a valid label value (63 chars of ``[A-Za-z0-9_.-]``)."""
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-_.") or "x"
    suffix = short_hash(text)
    return f"{base[: 63 - len(suffix) - 1].rstrip('-_.')}-{suffix}".lstrip("-_.")


def artifact_version_name(artifact: str, version: str) -> str:
    """Object name of the ArtifactVersion ``artifact``/``version``: O(1) lookup by name.

    The ``@`` never survives sanitizing, so the name always carries a hash of the
    exact pair and two different pairs never collide.
    """
    return dns_name(f"{artifact}@{version}")


def merged_tags(current: str | None, tags: Iterable[str], add: bool = True) -> str:
    """The ``kubeline.dev/tags`` annotation value with ``tags`` added (or removed)."""
    import json

    try:
        existing = json.loads(current) if current else []
    except ValueError:
        existing = []
    existing = [str(t) for t in existing] if isinstance(existing, list) else []
    if add:
        existing += [t for t in tags if t not in existing]
    else:
        removed = set(tags)
        existing = [t for t in existing if t not in removed]
    return json.dumps(existing)


def next_version(existing: Iterable[str]) -> str:
    """One more than the highest numeric version (user-given names are ignored)."""
    numbers = [int(v) for v in existing if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def model_object_name(model: str) -> str:
    """Object name of the Model ``model``."""
    return dns_name(model)


def model_version_name(model: str, version: str) -> str:
    """Object name of version ``version`` of ``model`` (the pair, hashed: never collides)."""
    return dns_name(f"{model}@{version}")


def step_pod_name(run: str, step: str, attempt: int) -> str:
    """Deterministic Pod name for one attempt of one step of a run."""
    return dns_name(f"{run}-{step}-{attempt}", 63)


# Schedules: their runs carry the schedule's name (label) and the due time (annotation).
SCHEDULES = "schedules"
LABEL_SCHEDULE = f"{GROUP}/schedule"
ANNOTATION_SCHEDULED_TIME = f"{GROUP}/scheduled-time"


def schedule_run_name(schedule: str, due_epoch: float) -> str:
    """The run of ``schedule`` for one due time: the same name on every try, so a retried
    or concurrent create is refused by the API server (409) instead of duplicating it."""
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(due_epoch, tz=UTC).strftime("%Y%m%d-%H%M%S")
    return f"{dns_name(schedule, 63 - len(stamp) - 1)}-{stamp}"


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def format_name_template(template: str, when: float) -> str:
    """``{date}`` -> ``%Y_%m_%d`` and ``{time}`` -> ``%H_%M_%S_%f`` of ``when`` (UTC), as ZenML
    formats names with the run's start time; another placeholder raises KeyError naming it."""
    if not _PLACEHOLDER.search(template):
        return template
    moment = datetime.fromtimestamp(when, UTC)
    values = {"date": moment.strftime("%Y_%m_%d"), "time": moment.strftime("%H_%M_%S_%f")}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise KeyError(f"Could not format the name template `{template}`. Missing key: {exc}"
                       ) from None
