"""kopf registrations: indices, silent event handlers and startup/cleanup. Thin by design.

No change-detecting handlers, timers or daemons are used, so kopf never writes
annotations or finalizers on any object (every handler is ``async``: kopf runs sync ones
in a thread pool, a thread hop per event): ``on.event`` handlers only feed the
controller's work queue, and ``kopf.index`` keeps in-memory views that kopf
fills completely before any event handler runs. The operator's state is one
:class:`~kubeline_operator.state.OperatorState` in kopf's ``memo``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf
from kubeline.resources.models import SnapshotSpec
from kubeline.resources.names import (
    ANNOTATION_NAME,
    ANNOTATION_OUTPUT,
    ANNOTATION_STEP_ID,
    COMPONENT_STEP,
    EVENT_OUTPUTS_COMMITTED,
    GROUP,
    LABEL_COMPONENT,
    LABEL_RUN,
    MODEL_VERSIONS,
    PIPELINE_RUNS,
    SCHEDULES,
    SNAPSHOTS,
)
from kubeline.resources.reasons import Reason

from kubeline_operator import bookkeeping, models_ctl
from kubeline_operator.api import _credentials, server_name_of, server_name_session
from kubeline_operator.artifacts import artifact_info
from kubeline_operator.cache_key import CacheCandidate
from kubeline_operator.dag import validate_snapshot
from kubeline_operator.observe import observe_pod
from kubeline_operator.settings import OperatorSettings
from kubeline_operator.state import MEMO_KEY, OperatorState, state_of
from kubeline_operator.stores import AvEntry
from kubeline_operator.timeutil import parse_time

log = logging.getLogger("kubeline.operator")
registry = kopf.get_default_registry()  # where the decorators below register
STEP_PODS = {LABEL_COMPONENT: COMPONENT_STEP}
EVENTS = ("v1", "events")  # core/v1 Events (not events.k8s.io)


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf builds a deep-copied "essence" of every object on every event to diff it for
    change-detecting handlers. We register none, so skip it: it was the operator's largest
    CPU cost under load (about 6 ms per Pod event)."""

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return {}

    def fetch(self, *, body: Any) -> Any:
        return None

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


def _owns(body: Any, state: OperatorState | None) -> bool:
    """Whether this operator's class matches the object's kubeline.dev/operator-class label."""
    settings = state.settings if state is not None else OperatorSettings()
    return settings.owns(body.get("metadata", {}).get("labels"))


def _owner_run(body: Any) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "PipelineRun" and ref.get("apiVersion", "").startswith(GROUP):
            return ref.get("name")
    return (body.get("metadata", {}).get("labels") or {}).get(LABEL_RUN)


# ----------------------------------------------------------------------------- startup


@kopf.on.login()
async def login(**kwargs: Any) -> Any:
    """In-cluster ServiceAccount, else the kubeconfig in KUBECONFIG (read now, not at import).

    kopf applies the kubeconfig's proxy-url but not its tls-server-name: with one, kopf gets
    a session of ours that names it (``api.server_name_session``)."""
    info = _login_in_cluster()
    if info is not None:
        return info
    info = kopf.login_with_kubeconfig(**kwargs)
    name = server_name_of(_credentials()) if info is not None else None
    if info is None or not name or not info.server.startswith("https"):
        return info
    return kopf.AiohttpSession(server=info.server, default_namespace=info.default_namespace,
                               priority=info.priority, expiration=info.expiration,
                               aiohttp_session=server_name_session(info, name))


_SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _login_in_cluster() -> kopf.ConnectionInfo | None:
    """The ServiceAccount token, with the API server at KUBERNETES_SERVICE_HOST:PORT.

    kopf's own helper dials ``kubernetes.default.svc``, which needs cluster DNS;
    like client-go, use the address the kubelet puts in the environment instead.
    """
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    token_path = f"{_SA_DIR}/token"
    if not host or not os.path.exists(token_path):
        return None
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    with open(token_path) as f:
        token = f.read().strip()
    namespace = None
    if os.path.exists(f"{_SA_DIR}/namespace"):
        with open(f"{_SA_DIR}/namespace") as f:
            namespace = f.read().strip()
    return kopf.ConnectionInfo(
        server=f"https://{host}:{port}", ca_path=f"{_SA_DIR}/ca.crt", scheme="Bearer",
        token=token, default_namespace=namespace,
    )


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Make the operator's state (settings from ``memo.settings`` or the environment), fill
    the cache index from existing runs, start the controllers."""
    cfg = memo.get("settings") or OperatorSettings.from_env()
    settings.watching.server_timeout = cfg.watch_server_timeout
    settings.watching.client_timeout = cfg.watch_client_timeout
    settings.watching.connect_timeout = cfg.watch_connect_timeout
    settings.posting.level = logging.WARNING  # our own Events carry the story
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.watching.chunk_size = 500  # list in pages: never all objects of a kind at once
    # Server-side filtering: only step Pods and runs of this operator's class reach us, not
    # every Pod in the cluster nor another operator class's runs (kopf would filter them
    # only after decoding each event).
    owned = cfg.class_selector()
    settings.watching.label_selectors["pods"] = f"{LABEL_COMPONENT}=step,{owned}"
    settings.watching.label_selectors[GROUP, PIPELINE_RUNS] = owned
    settings.watching.label_selectors[GROUP, SCHEDULES] = owned
    # Only the Events step Pods post when their outputs are committed, of any run.
    settings.watching.field_selectors[EVENTS] = f"reason={EVENT_OUTPUTS_COMMITTED}"
    settings.watching.label_selectors[EVENTS] = LABEL_RUN
    state = OperatorState.create(cfg)
    memo[MEMO_KEY] = state
    indexed = await index_existing_runs(state, cfg.namespaces, owned)
    log.info("cache index filled from %d existing runs", indexed)
    await state.controller.start()
    await state.schedules.start()
    log.info("kubeline operator started (namespaces: %s, peering: %s)",
             ",".join(cfg.namespaces) or "all", cfg.peering or "standalone")


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    state = state_of(memo)
    if state is not None:
        await state.schedules.stop()
        await state.controller.stop()
        await state.api.close()


# ----------------------------------------------------------------------------- indices


@kopf.index("pods", labels=STEP_PODS)
async def kubeline_step_pods(body: Any, namespace: str | None, memo: kopf.Memo, **_: Any
                             ) -> dict[Any, Any]:
    pod = observe_pod(body)
    run = _owner_run(body)
    if pod is None or run is None or not _owns(body, state_of(memo)):
        return {}
    out: dict[Any, Any] = {(namespace, run): pod}
    if pod.active:
        out["active"] = (namespace, pod.name)
    return out


@kopf.index(GROUP, "v1alpha1", "artifactversions")
async def kubeline_artifacts(body: Any, namespace: str | None, name: str, meta: Any, **_: Any
                             ) -> dict[Any, Any]:
    info = artifact_info(body)
    annotations = meta.get("annotations") or {}
    spec = body.get("spec") or {}
    producer = spec.get("producer") or {}
    entry = AvEntry(
        info=info, created=parse_time(meta.get("creationTimestamp")) or 0.0,
        output=producer.get("output") or annotations.get(ANNOTATION_OUTPUT),
        run=producer.get("run"),
        step_id=producer.get("step") or annotations.get(ANNOTATION_STEP_ID),
    )
    out: dict[Any, Any] = {
        ("name", namespace, name): entry,
        ("artifact", namespace, info.artifact_name or annotations.get(ANNOTATION_NAME, "")): entry,
    }
    if info.id:
        out[("uid", namespace, info.id)] = entry
    if entry.run and entry.step_id:
        out[("producer", namespace, entry.run, entry.step_id)] = entry
    return out


def cache_candidates(body: Any) -> list[CacheCandidate]:
    """A run's completed steps with a cache key: what it adds to the cache index."""
    out = []
    name = body.get("metadata", {}).get("name", "")
    for step in (body.get("status") or {}).get("steps") or []:
        cache = step.get("cache") or {}
        end = parse_time(step.get("endTime"))
        if step.get("phase") == "completed" and cache.get("key") and end is not None:
            out.append(CacheCandidate(
                run=name, step=step.get("name", ""), outputs=dict(step.get("outputs") or {}),
                end_time=end, key=cache["key"]))
    return out


async def index_existing_runs(state: OperatorState, namespaces: tuple[str, ...], selector: str
                              ) -> int:
    """Fill the cache index from one paged list of this operator class's PipelineRuns (the
    watches' label selector) before any run is planned."""
    count = 0
    for namespace in namespaces or (None,):
        token = None
        while True:
            page = await state.api.list_runs(namespace, token, selector)
            for item in page.get("items") or []:
                meta = item.get("metadata") or {}
                state.stores.index_run(meta.get("namespace", ""), meta.get("name", ""),
                                       cache_candidates(item))
                state.schedules.observe_run(item)  # every schedule's runs known before it plans
                count += 1
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
    return count


@kopf.index(GROUP, "v1alpha1", "snapshots")
async def kubeline_snapshots(body: Any, namespace: str | None, name: str, meta: Any, **_: Any
                             ) -> dict[Any, Any]:
    spec = body.get("spec") or {}
    entry = {"name": name, "uid": meta.get("uid", ""), "spec": dict(spec)}
    out: dict[Any, Any] = {(namespace, name): entry}
    if spec.get("displayName"):
        out[("display", namespace, spec["displayName"])] = name
    return out


# ----------------------------------------------------------------------------- events


def _bind(kwargs: dict[str, Any]) -> OperatorState | None:
    """The operator's state, its stores bound to kopf's indices (passed with every event)."""
    state = state_of(kwargs.get("memo"))
    if state is not None:
        state.stores.bind(kwargs)
    return state


@kopf.on.event(GROUP, "v1alpha1", "pipelineruns")
async def run_event(body: Any, event: kopf.RawEvent, **kwargs: Any) -> None:
    state = _bind(kwargs)
    if state is not None and _owns(body, state):
        deleted = event.get("type") == "DELETED"
        meta = body.get("metadata", {})
        state.stores.index_run(meta.get("namespace", ""), meta.get("name", ""),
                               [] if deleted else cache_candidates(body))
        state.controller.observe_run(dict(body), deleted=deleted)
        state.schedules.observe_run(dict(body), deleted=deleted)


@kopf.on.event(GROUP, "v1alpha1", SCHEDULES)
async def schedule_event(body: Any, event: kopf.RawEvent, **kwargs: Any) -> None:
    """Plan a Schedule when it changes (its timer and its runs wake it otherwise)."""
    state = _bind(kwargs)
    if state is not None and _owns(body, state):
        state.schedules.observe_schedule(dict(body), deleted=event.get("type") == "DELETED")


@kopf.on.event("pods", labels=STEP_PODS)
async def pod_event(body: Any, namespace: str | None, event: kopf.RawEvent, **kwargs: Any) -> None:
    state = _bind(kwargs)
    run = _owner_run(body)
    if state is None or run is None or namespace is None or not _owns(body, state):
        return
    pod = observe_pod(body)
    if (pod is not None and pod.terminal) or event.get("type") == "DELETED":
        state.controller.pod_freed()
    state.controller.wake(namespace, run)


@kopf.on.event(*EVENTS, labels={LABEL_RUN: kopf.PRESENT})
async def outputs_committed_event(body: Any, namespace: str | None, event: kopf.RawEvent,
                                  **kwargs: Any) -> None:
    """A step Pod's outputs-committed Event (the watch's field selector lets only those
    through): the run is planned now, its Pod counted done once its manifest verifies.
    Events listed when the watch (re)starts (type None: an operator restart, a watch that
    expired) count too: one still names its Pod by uid, and only a Pod still running does."""
    state = _bind(kwargs)
    if state is None or namespace is None or event.get("type") not in ("ADDED", None):
        return
    if body.get("reason") != EVENT_OUTPUTS_COMMITTED:
        return
    target = body.get("involvedObject") or {}
    run = (body.get("metadata", {}).get("annotations") or {}).get(LABEL_RUN)
    if target.get("kind") != "Pod" or target.get("namespace", namespace) != namespace or not run:
        return
    state.controller.outputs_committed(namespace, run, target.get("name", ""),
                                       target.get("uid", ""))


@kopf.on.event(GROUP, "v1alpha1", "snapshots")
async def snapshot_event(body: Any, namespace: str | None, name: str, event: kopf.RawEvent,
                         **kwargs: Any) -> None:
    """Validate new snapshots (what CEL cannot) and point their Pipeline at them."""
    state = _bind(kwargs)
    if state is None or namespace is None or event.get("type") == "DELETED":
        return
    status = body.get("status") or {}
    if status.get("valid") is not None:
        return
    try:
        problems = validate_snapshot(SnapshotSpec.model_validate(dict(body.get("spec") or {})))
    except ValueError as exc:
        problems = [f"spec does not parse: {exc}"]
    patch = ({"valid": True, "reason": None, "message": None} if not problems else
             {"valid": False, "reason": str(Reason.INVALID_SNAPSHOT),
              "message": "; ".join(problems)[:2048]})
    await bookkeeping.update_status(state.api, SNAPSHOTS, namespace, name,
                                    lambda st: None if st.get("valid") is not None else patch)
    pipeline = (body.get("spec") or {}).get("pipeline")
    if not problems and pipeline:
        await bookkeeping.set_latest_snapshot(state.api, namespace, pipeline, name)
    state.controller.wake_namespace(namespace)


@kopf.index(GROUP, "v1alpha1", MODEL_VERSIONS)
async def kubeline_model_versions(body: Any, namespace: str | None, **_: Any
                                  ) -> dict[Any, Any]:
    entry = models_ctl.version_entry(body)
    return {(namespace, entry.model): entry} if entry is not None else {}


@kopf.on.event(GROUP, "v1alpha1", MODEL_VERSIONS)
async def model_version_event(body: Any, namespace: str | None, **kwargs: Any) -> None:
    """Number versions, apply stage requests (one production per model), keep the Model's
    pointers."""
    state = _bind(kwargs)
    model = (body.get("spec") or {}).get("model")
    if state is None or namespace is None or not model:
        return
    await state.controller.models.reconcile(namespace, model)


__all__ = ["PIPELINE_RUNS", "OperatorState", "registry"]
