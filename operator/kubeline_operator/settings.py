"""The operator's settings, read from its environment (the chart sets these)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from kubeline.resources import layout
from kubeline.resources import names as N
from kubeline.resources.invocation import UPSTREAM_STATUS_WAIT_SECONDS
from kubeline.resources.names import API_ACCESS_LEVELS, LABEL_OPERATOR_CLASS

from kubeline_operator.planner import PlannerSettings
from kubeline_operator.pod_spec import PodSettings


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _status_batch_seconds(env: dict[str, str]) -> float:
    """How long a status change waits for the next ones: shorter than a step that reads its
    own run waits for the record of its upstream steps."""
    seconds = _float(env, N.ENV_STATUS_BATCH_SECONDS, 1.0)
    if not 0 <= seconds < UPSTREAM_STATUS_WAIT_SECONDS:
        raise ValueError(
            f"{N.ENV_STATUS_BATCH_SECONDS} must be at least 0 and below "
            f"{UPSTREAM_STATUS_WAIT_SECONDS:g} (a step that reads its own run waits that long "
            f"for the run's status to record its upstream steps), got {seconds:g}")
    return seconds


def _bool(env: dict[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _node_selector(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    raw = env.get(N.ENV_STEP_NODE_SELECTOR, "").strip()
    pairs = []
    for item in filter(None, (i.strip() for i in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"KUBELINE_STEP_NODE_SELECTOR must be 'key=value[,key=value]', got {raw!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _tolerations(env: dict[str, str]) -> tuple[dict[str, object], ...]:
    raw = env.get(N.ENV_STEP_TOLERATIONS, "").strip()
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"KUBELINE_STEP_TOLERATIONS must be a JSON list: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ValueError("KUBELINE_STEP_TOLERATIONS must be a JSON list of toleration objects, "
                         f"got {raw!r}")
    return tuple(value)


def _api_access(env: dict[str, str]) -> str:
    raw = env.get(N.ENV_STEP_API_ACCESS, "").strip() or "read"
    if raw not in API_ACCESS_LEVELS:
        raise ValueError(f"KUBELINE_STEP_API_ACCESS must be one of {API_ACCESS_LEVELS}, "
                         f"got {raw!r}")
    return raw


def _token_seconds(env: dict[str, str]) -> int:
    seconds = _int(env, N.ENV_STEP_TOKEN_EXPIRATION_SECONDS, 600)
    if not 600 <= seconds <= 86400:
        raise ValueError("KUBELINE_STEP_TOKEN_EXPIRATION_SECONDS must be 600..86400 (the "
                         f"API server refuses shorter tokens), got {seconds}")
    return seconds


def _step_resources(env: dict[str, str]) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    raw = env.get(N.ENV_STEP_RESOURCES, "").strip()
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{N.ENV_STEP_RESOURCES} must be JSON: {exc}") from None
    if not isinstance(value, dict) or set(value) - {"requests", "limits"} or not all(
            isinstance(v, dict) and all(isinstance(a, str | int | float) for a in v.values())
            for v in value.values()):
        raise ValueError(f"{N.ENV_STEP_RESOURCES} must be {{\"requests\": {{...}}, \"limits\": "
                         f"{{...}}}} with resource amounts, got {raw!r}")
    return tuple((kind, tuple((k, str(v)) for k, v in amounts.items()))
                 for kind, amounts in value.items() if amounts)


def _run_as_user(env: dict[str, str]) -> int:
    uid = _int(env, N.ENV_STEP_RUN_AS_USER, N.IMAGE_UID)
    if uid <= 0:
        raise ValueError(f"{N.ENV_STEP_RUN_AS_USER} must be a non-root uid (> 0), got {uid}")
    return uid


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    peering: str = ""  # empty: standalone
    peering_priority: int = 0
    operator_class: str = ""  # acts only on runs labelled kubeline.dev/operator-class=<this>
    pod: PodSettings = field(default_factory=PodSettings)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    max_pods_global: int = 1000
    api_qps: float = 100.0
    api_burst: int = 200
    event_qps: float = 10.0
    workers: int = 32
    status_batch_seconds: float = 1.0
    s3_bucket: str = ""
    health_port: int = 8080
    metrics_port: int = 9090
    watch_server_timeout: int = 300
    watch_client_timeout: int = 330
    watch_connect_timeout: int = 30
    schedule_test_intervals: bool = False  # tests only: Schedules may fire every few seconds
    provenance_policy: bool = False  # the chart's run-provenance admission policy is installed

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if environ is None else environ)
        namespaces = tuple(n.strip() for n in env.get(N.ENV_WATCH_NAMESPACES, "").split(",")
                           if n.strip())
        qps = _float(env, N.ENV_API_QPS, 100.0)
        operator_class = env.get(N.ENV_OPERATOR_CLASS, "").strip()
        return cls(
            namespaces=namespaces,
            peering=env.get(N.ENV_PEERING, "").strip(),
            peering_priority=_int(env, N.ENV_PEERING_PRIORITY, 0),
            operator_class=operator_class,
            pod=PodSettings(
                default_image=env.get(N.ENV_DEFAULT_IMAGE, ""),
                image_pull_policy=env.get(N.ENV_IMAGE_PULL_POLICY, "") or "IfNotPresent",
                service_account=env.get(N.ENV_STEP_SERVICE_ACCOUNT, "") or "kubeline-step",
                s3_secret=env.get(N.ENV_S3_SECRET, "") or N.S3_SECRET,
                node_selector=_node_selector(env),
                tolerations=_tolerations(env),
                operator_class=operator_class,
                api_access=_api_access(env),
                token_expiration_seconds=_token_seconds(env),
                token_audience=env.get(N.ENV_STEP_TOKEN_AUDIENCE, "").strip(),
                run_as_user=_run_as_user(env),
                default_resources=_step_resources(env),
            ),
            planner=PlannerSettings(
                max_pods_per_run=_int(env, N.ENV_MAX_PODS_PER_RUN, 100),
                image_pull_grace_seconds=_float(env, N.ENV_IMAGE_PULL_GRACE_SECONDS, 120.0),
                snapshot_grace_seconds=_float(env, N.ENV_SNAPSHOT_GRACE_SECONDS, 30.0),
            ),
            max_pods_global=_int(env, N.ENV_MAX_PODS_GLOBAL, 1000),
            api_qps=qps,
            api_burst=_int(env, N.ENV_API_BURST, max(int(qps * 2), 1)),
            event_qps=_float(env, N.ENV_EVENT_QPS, 10.0),
            workers=_int(env, N.ENV_WORKERS, 32),
            status_batch_seconds=_status_batch_seconds(env),
            s3_bucket=env.get(N.ENV_S3_BUCKET, ""),
            health_port=_int(env, N.ENV_HEALTH_PORT, 8080),
            metrics_port=_int(env, N.ENV_METRICS_PORT, 9090),
            schedule_test_intervals=_bool(env, N.ENV_SCHEDULE_TEST_INTERVALS),
            provenance_policy=_bool(env, N.ENV_PROVENANCE_POLICY),
        )

    def bucket_for(self, namespace: str) -> str:
        """The bucket of ``namespace``'s data: ``s3_bucket``, with ``{namespace}`` replaced
        when it names one bucket per namespace (``layout.namespace_bucket``; ValueError when
        the name is invalid)."""
        return layout.namespace_bucket(self.s3_bucket, namespace)

    def owns(self, labels: dict[str, str] | None) -> bool:
        """Whether this operator acts on an object with these labels (its operator class):
        the same test as :meth:`class_selector`, which the API server applies to watches."""
        value = (labels or {}).get(LABEL_OPERATOR_CLASS)
        return value is None if not self.operator_class else value == self.operator_class

    def class_selector(self) -> str:
        """Label selector of this operator's runs and step Pods: the class label equal to
        ours, or (class "") absent. Server-side, so other classes' objects never reach us."""
        if not self.operator_class:
            return f"!{LABEL_OPERATOR_CLASS}"
        return f"{LABEL_OPERATOR_CLASS}={self.operator_class}"
