"""``Client``: pipelines, runs, snapshots, artifacts and models, answered by the Kubernetes API.

Every lookup of one object costs a bounded number of requests: by object name (one GET),
through a status pointer (``Pipeline.status.lastRun``) or through a label selector. Listings
page with ``limit``/``continue``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubeline.client._base import Page, check_page_size, creation_order, is_uuid, page_of
from kubeline.client.artifacts import ArtifactVersionView, ArtifactView, version_sort_key
from kubeline.client.filters import apply as apply_filters
from kubeline.client.filters import is_exact, matches, metadata_matches
from kubeline.client.model_ops import ModelOps
from kubeline.client.pipelines import PipelineView, newest_first
from kubeline.client.runs import RunView
from kubeline.client.schedules import ScheduleView
from kubeline.client.snapshots import SnapshotView
from kubeline.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM, PAGINATION_STARTING_PAGE
from kubeline.errors import (
    ClusterUnreachableError,
    ConfigurationError,
    KubelineError,
    NotFoundError,
    PermissionDeniedError,
)
from kubeline.resources import names
from kubeline.resources.read import (
    ArtifactVersionSpecView,
    PipelineRunStatusView,
    PipelineSpecView,
    SnapshotSpecView,
)

if TYPE_CHECKING:
    from kubeline.kube import Kube

LABEL_UID = names.LABEL_UID
_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "created": creation_order,
    "name": lambda o: o["metadata"]["name"],
    "index": lambda o: PipelineRunStatusView(o.get("status")).index or 0,
    "start_time": lambda o: PipelineRunStatusView(o.get("status")).start_time or "",
    "end_time": lambda o: PipelineRunStatusView(o.get("status")).end_time or "",
    "status": lambda o: PipelineRunStatusView(o.get("status")).phase,
}


def _paginate(objs: list[dict[str, Any]], sort_by: str, page: int, size: int,
              wrap: Callable[[dict[str, Any]], Any]) -> Page[Any]:
    order, _, key = sort_by.rpartition(":")
    if key not in _SORT_KEYS:
        raise ConfigurationError(
            f"cannot sort by {key!r}: use one of {', '.join(_SORT_KEYS)}, e.g. 'desc:created'"
        )
    if order not in ("", "asc", "desc"):
        raise ConfigurationError(f"sort order {order!r} must be 'asc' or 'desc'")
    check_page_size(page, size)
    # ZenML's rule: a column without an operand sorts ascending ("created" is oldest first).
    ordered = page_of(sorted(objs, key=_SORT_KEYS[key], reverse=order == "desc"), page, size)
    return Page([wrap(o) for o in ordered], index=page, size=size, total=ordered.total)


class Client(ModelOps):
    """Access to Kubeline objects in one namespace.

    ``Client()`` uses the current kube context and its namespace (in a Pod: the in-cluster
    config and the Pod's namespace); ``namespace``/``context`` override them. Connecting is
    lazy: creating a Client makes no request.
    """

    def __init__(self, namespace: str | None = None, context: str | None = None,
                 kube: Kube | None = None) -> None:
        self._namespace = namespace
        self._context = context
        self._kube = kube

    @property
    def kube(self) -> Kube:
        """The API access layer (connects on first use; counts this Client's requests).

        Clients in one process share the HTTP connection of the same kubeconfig and
        context, so a fresh ``Client()`` does not pay for a new TLS handshake.
        """
        if self._kube is None:
            self._kube = connect_shared(self._namespace, self._context)
        return self._kube

    @property
    def namespace(self) -> str:
        return self.kube.namespace

    @property
    def active_stack(self) -> Any:
        """ZenML's ``active_stack``: ``.artifact_store.path`` (the bucket), ``.orchestrator``."""
        from kubeline.client.stack import ActiveStack

        return ActiveStack(self)

    # ================================================================ generic lookups
    def _get_or_none(self, plural: str, name: str) -> dict[str, Any] | None:
        if not names.is_dns_label(name) and not _is_dns_subdomain(name):
            return None  # not a possible object name: no request
        try:
            return self.kube.get(plural, name)
        except NotFoundError as exc:
            if "CRDs are not installed" in str(exc):
                raise
            return None

    def _find_by_uid(self, plural: str, uid: str) -> dict[str, Any] | None:
        """By selectable field (runs: ``status.uid``) or ``kubeline.dev/uid`` label, one
        request each; else a paged scan of the namespace (objects no operator has seen)."""
        lookups: list[dict[str, Any]] = [{"label_selector": f"{LABEL_UID}={uid}"}]
        if plural == names.PIPELINE_RUNS:
            lookups.insert(0, {"field_selector": f"status.uid={uid}"})
        for how in lookups:
            for obj in self.kube.list(plural, limit=2, **how).get("items", []):
                if obj["metadata"].get("uid") == uid:
                    return obj
        for obj in self.kube.iter(plural):
            if obj["metadata"].get("uid") == uid:
                return obj
        return None

    def _find_by_prefix(self, plural: str, prefix: str, what: str) -> dict[str, Any] | None:
        """The single object whose name starts with ``prefix``.

        Lists are returned in name order, so the scan stops at the first name past the
        prefix; it never reads beyond that point.
        """
        matches: list[str] = []
        found: dict[str, Any] | None = None
        last = ""
        for obj in self.kube.iter(plural, page_size=250):
            name = obj["metadata"]["name"]
            ordered = name >= last
            last = name
            if name.startswith(prefix):
                matches.append(name)
                found = obj
            elif ordered and name > prefix:
                break  # every later name sorts after all names with this prefix
        if len(matches) > 1:
            shown = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
            raise KubelineError(f"{what} prefix {prefix!r} is ambiguous: {shown}")
        return found

    # ================================================================ pipelines
    def _pipeline_by_object_name(self, name: str) -> PipelineView:
        return PipelineView(self, self.kube.get(names.PIPELINES, name))

    def get_pipeline(self, name_id_or_prefix: str) -> PipelineView:
        """A pipeline by its name as written in Python, its object name or its id (one GET)."""
        key = str(name_id_or_prefix)
        for candidate in dict.fromkeys([names.dns_name(key), key]):
            obj = self._get_or_none(names.PIPELINES, candidate)
            if obj is not None:
                return PipelineView(self, obj)
        if is_uuid(key):
            obj = self._find_by_uid(names.PIPELINES, key)
            if obj is not None:
                return PipelineView(self, obj)
        for obj in self.kube.iter(names.PIPELINES):  # a name given another way (few pipelines)
            if PipelineSpecView(obj.get("spec")).name == key:
                return PipelineView(self, obj)
        raise NotFoundError(
            f"no pipeline {key!r} in namespace {self.namespace} "
            "(run it once to register it; `kubeline pipeline list` shows the known ones)"
        )

    def list_pipelines(self, sort_by: str = "asc:name", page: int = PAGINATION_STARTING_PAGE,
                       size: int = PAGE_SIZE_DEFAULT, name: str | None = None,
                       tags: Any = None, **kwargs: Any) -> Page[PipelineView]:
        """Pipelines in the namespace; ``name`` is a ZenML filter on the Python name
        (``"startswith:train"``, ``"contains:iris"``; a plain value must match exactly);
        ``tags``: every listed filter must match one of the pipeline's tags."""
        if kwargs:
            raise ConfigurationError(f"unknown filter(s) {sorted(kwargs)} for list_pipelines")
        wanted = [tags] if isinstance(tags, str) else list(tags or [])
        objs = [o for o in self.kube.iter(names.PIPELINES)
                if matches(PipelineSpecView(o.get("spec")).name or o["metadata"]["name"], name)
                and all(matches(PipelineView(self, o).tags, t) for t in wanted)]
        return _paginate(objs, sort_by, page, size, lambda o: PipelineView(self, o))

    def delete_pipeline(self, name_id_or_prefix: str) -> None:
        """Delete a pipeline and its snapshots. Its runs are kept (as in ZenML); artifacts too."""
        pipeline = self.get_pipeline(name_id_or_prefix)
        selector = f"{names.LABEL_PIPELINE}={names.label_value(pipeline.object_name)}"
        for snap in list(self.kube.iter(names.SNAPSHOTS, label_selector=selector)):
            if SnapshotSpecView(snap.get("spec")).pipeline in (None, pipeline.object_name):
                with contextlib.suppress(NotFoundError):
                    self.kube.delete(names.SNAPSHOTS, snap["metadata"]["name"])
        self.kube.delete(names.PIPELINES, pipeline.object_name)

    # ================================================================ runs
    def _run_view(self, obj: dict[str, Any]) -> RunView:
        """The view of a PipelineRun object already read (views make other views here)."""
        return RunView(self, obj)

    def _schedule_view(self, obj: dict[str, Any]) -> ScheduleView:
        return ScheduleView(self, obj)

    def _run_by_object_name(self, name: str) -> RunView:
        return RunView(self, self.kube.get(names.PIPELINE_RUNS, name))

    def get_pipeline_run(self, name_id_or_prefix: str,
                         allow_name_prefix_match: bool = True) -> RunView:
        """A run by object name (one GET), id (uid) or a unique name prefix."""
        key = str(name_id_or_prefix)
        obj = self._get_or_none(names.PIPELINE_RUNS, key)
        if obj is None and not names.is_dns_label(key):  # a run_name as given ('train_1')
            obj = self._get_or_none(names.PIPELINE_RUNS, names.dns_name(key))
        if obj is None and is_uuid(key):
            obj = self._find_by_uid(names.PIPELINE_RUNS, key)
        if obj is None and allow_name_prefix_match:
            obj = self._find_by_prefix(names.PIPELINE_RUNS, key, "run")
        if obj is None:
            raise NotFoundError(
                f"no pipeline run {key!r} in namespace {self.namespace} "
                "(`kubeline pipeline runs list` shows the runs)"
            )
        return RunView(self, obj)

    def _pipeline_label(self, pipeline: str | PipelineView) -> str:
        view = pipeline if isinstance(pipeline, PipelineView) else self.get_pipeline(pipeline)
        return view.object_name

    def list_pipeline_runs(
        self, pipeline: str | PipelineView | None = None, status: str | None = None,
        sort_by: str = "desc:created", page: int = PAGINATION_STARTING_PAGE,
        size: int = PAGE_SIZE_DEFAULT, snapshot: str | None = None, name: str | None = None,
        tags: Any = None, tag: str | None = None, run_metadata: list[str] | None = None,
        created: Any = None, start_time: Any = None, end_time: Any = None, **kwargs: Any,
    ) -> Page[RunView]:
        """Runs, newest first by default, filtered by pipeline (label), snapshot (label) and
        ZenML filters on ``name``, ``status``, ``created``, ``start_time``, ``end_time``
        (``"startswith:nightly"``, ``"gte:2025-01-01"``, ``"oneof:[...]"``), ``tags`` (every
        listed tag must match one of the run's tags), ``run_metadata`` (``"key:value"`` or
        ``"key:op:value"``). ``pipeline_name``/``pipeline_id`` are accepted as ZenML spells them.
        """
        pipeline = pipeline or kwargs.pop("pipeline_name", None) or kwargs.pop("pipeline_id", None)
        if kwargs:
            raise ConfigurationError(f"unknown filter(s) {sorted(kwargs)} for list_pipeline_runs")
        wanted_tags = [tags] if isinstance(tags, str) else list(tags or [])
        if tag is not None:
            wanted_tags.append(tag)
        selector = None
        if pipeline is not None:
            selector = f"{names.LABEL_PIPELINE}={names.label_value(self._pipeline_label(pipeline))}"
        if snapshot:
            snap = f"{names.LABEL_SNAPSHOT}={names.label_value(snapshot)}"
            selector = f"{selector},{snap}" if selector else snap
        views = [RunView(self, o)
                 for o in self.kube.iter(names.PIPELINE_RUNS, label_selector=selector)]
        views = apply_filters(views, name=name, status=status, created=created,
                              start_time=start_time, end_time=end_time)
        views = [v for v in views if all(matches(v.tags, t) for t in wanted_tags)
                 and all(metadata_matches(v.run_metadata, m) for m in run_metadata or [])]
        return _paginate([v.object for v in views], sort_by, page, size,
                         lambda o: RunView(self, o))

    def delete_pipeline_run(self, name_id_or_prefix: str) -> None:
        """Delete a run; its Pods go with it (owner references). Artifacts are kept."""
        run = self.get_pipeline_run(name_id_or_prefix, allow_name_prefix_match=False)
        self.kube.delete(names.PIPELINE_RUNS, run.name)

    def cancel_pipeline_run(self, name_id_or_prefix: str) -> RunView:
        """Ask the operator to cancel a run (sets its ``spec.cancel``)."""
        return self.get_pipeline_run(name_id_or_prefix, allow_name_prefix_match=False).cancel()

    # ================================================================ snapshots
    def get_snapshot(self, name_or_id: str, pipeline: str | None = None) -> SnapshotView:
        """A snapshot by object name (one GET), id, or the name given at creation."""
        key = str(name_or_id)
        obj = self._get_or_none(names.SNAPSHOTS, key)
        if obj is None and is_uuid(key):
            obj = self._find_by_uid(names.SNAPSHOTS, key)
        if obj is None:
            selector = None
            if pipeline:
                selector = f"{names.LABEL_PIPELINE}={self._pipeline_label(pipeline)}"
            named = [o for o in self.kube.iter(names.SNAPSHOTS, label_selector=selector)
                     if SnapshotSpecView(o.get("spec")).display_name == key]
            obj = newest_first(named)[0] if named else None
        if obj is None:
            raise NotFoundError(
                f"no snapshot {key!r} in namespace {self.namespace} "
                "(`kubeline snapshot list` shows them; create one with "
                "`kubeline pipeline snapshot create <module.pipeline> --name NAME`)"
            )
        return SnapshotView(self, obj)

    def list_snapshots(self, pipeline: str | PipelineView | None = None,
                       sort_by: str = "desc:created", page: int = PAGINATION_STARTING_PAGE,
                       size: int = PAGE_SIZE_DEFAULT,
                       name: str | None = None) -> Page[SnapshotView]:
        """Snapshots, newest first; ``pipeline`` filters by label, ``name`` by display name."""
        selector = None
        if pipeline is not None:
            selector = f"{names.LABEL_PIPELINE}={self._pipeline_label(pipeline)}"
        objs = [o for o in self.kube.iter(names.SNAPSHOTS, label_selector=selector)
                if not name or SnapshotSpecView(o.get("spec")).display_name == name]
        if pipeline is not None and not objs:  # snapshots made without the label
            label = self._pipeline_label(pipeline)
            objs = [o for o in self.kube.iter(names.SNAPSHOTS)
                    if SnapshotSpecView(o.get("spec")).pipeline == label
                    and (not name or SnapshotSpecView(o.get("spec")).display_name == name)]
        return _paginate(objs, sort_by, page, size, lambda o: SnapshotView(self, o))

    def _latest_snapshot(self, pipeline: PipelineView) -> SnapshotView:
        pointer = pipeline.latest_snapshot_name
        if pointer:
            obj = self._get_or_none(names.SNAPSHOTS, pointer)
            if obj is not None:
                return SnapshotView(self, obj)
        for snap in self.list_snapshots(pipeline=pipeline, size=PAGE_SIZE_MAXIMUM):
            if snap.runnable:
                return snap
        raise NotFoundError(
            f"pipeline {pipeline.name!r} has no runnable snapshot: run it once or create one "
            "with `kubeline pipeline snapshot create`"
        )

    # ================================================================ schedules
    def list_schedules(self, pipeline: str | PipelineView | None = None,
                       sort_by: str = "desc:created", page: int = PAGINATION_STARTING_PAGE,
                       size: int = PAGE_SIZE_DEFAULT,
                       name: str | None = None, active: bool | None = None,
                       pipeline_id: str | None = None, cron_expression: str | None = None,
                       catchup: bool | None = None, **filters: Any) -> Page[ScheduleView]:
        """Schedules, newest first; ``pipeline`` (or ZenML's ``pipeline_id``, a name or id)
        filters by label, ``name`` by the name (exact or ``contains:x``), ``active`` by
        suspension, ``cron_expression`` and ``catchup`` as ZenML's filters do."""
        if filters:
            raise ConfigurationError(
                f"list_schedules: unsupported filter(s) {sorted(filters)}; Kubeline filters "
                "schedules by pipeline/pipeline_id, name, active, cron_expression and catchup "
                "(there are no orchestrators or projects: a namespace holds the schedules)")
        pipeline = pipeline if pipeline is not None else pipeline_id
        selector = None
        if pipeline is not None:
            selector = f"{names.LABEL_PIPELINE}={self._pipeline_label(pipeline)}"
        views = [ScheduleView(self, o)
                 for o in self.kube.iter(names.SCHEDULES, label_selector=selector)]
        if name:
            views = [v for v in views if matches(v.name, name) or matches(v.object_name, name)]
        if active is not None:
            views = [v for v in views if v.active == active]
        if cron_expression is not None:
            views = [v for v in views if matches(v.cron_expressions, cron_expression)]
        if catchup is not None:
            views = [v for v in views if v.catchup == catchup]
        return _paginate([v.object for v in views], sort_by, page, size,
                         lambda o: ScheduleView(self, o))

    def get_schedule(self, name_id_or_prefix: str) -> ScheduleView:
        """A schedule by object name (one GET), given name, id (uid) or unique name prefix."""
        key = str(name_id_or_prefix)
        obj = self._get_or_none(names.SCHEDULES, key)
        if obj is None and is_uuid(key):
            obj = self._find_by_uid(names.SCHEDULES, key)
        if obj is None:
            obj = self._get_or_none(names.SCHEDULES, names.dns_name(key))
        if obj is None:
            obj = self._find_by_prefix(names.SCHEDULES, key, "schedule")
        if obj is None:
            raise NotFoundError(
                f"no schedule {key!r} in namespace {self.namespace} "
                "(`kubeline schedule list` shows them)")
        return ScheduleView(self, obj)

    def update_schedule(self, name_id_or_prefix: str, cron_expression: str | None = None,
                        active: bool | None = None, **changes: Any) -> ScheduleView:
        """Change a schedule: ``cron_expression`` (ZenML), ``active`` (False suspends, True
        resumes: ZenML's deactivate/activate) and Kubeline's ``cron_expressions``,
        ``time_zone``, ``concurrency_policy``, ``starting_deadline_seconds``, ``catch_up``,
        ``catch_up_limit``, ``start_time``, ``end_time``, history limits. A changed schedule
        never runs for times already past."""
        from kubeline.resources.cron import CronError, validate_cron, zone
        from kubeline.resources.models import ScheduleSpec

        view = self.get_schedule(name_id_or_prefix)
        spec = dict(view.spec)
        aliases = {"time_zone": "timeZone", "concurrency_policy": "concurrencyPolicy",
                   "starting_deadline_seconds": "startingDeadlineSeconds",
                   "catch_up": "catchUp", "catch_up_limit": "catchUpLimit",
                   "successful_runs_history_limit": "successfulRunsHistoryLimit",
                   "failed_runs_history_limit": "failedRunsHistoryLimit"}
        unknown = sorted(set(changes) - {*aliases, "cron_expressions", "start_time",
                                         "end_time"})
        if unknown:
            raise ConfigurationError(
                f"update_schedule: unknown field(s) {unknown}; it changes cron_expression, "
                f"active, cron_expressions, start_time, end_time and {sorted(aliases)}")
        crons: list[str] | None = None
        if cron_expression is not None:
            crons = [cron_expression]
        if changes.get("cron_expressions") is not None:
            crons = list(changes.pop("cron_expressions"))
        changes.pop("cron_expressions", None)
        try:
            for expr in crons or []:
                validate_cron(expr)
            if changes.get("time_zone") is not None:
                zone(changes["time_zone"])
        except CronError as exc:
            raise ConfigurationError(str(exc)) from None
        if crons is not None:
            spec["cron"] = crons
            spec.pop("intervalSeconds", None)
            spec.pop("runAt", None)
        if active is not None:
            spec["suspend"] = not active
        for key, value in changes.items():
            if key in ("start_time", "end_time"):
                from kubeline.resources.cron import as_utc

                field = "startTime" if key == "start_time" else "endTime"
                value = None if value is None else as_utc(value, spec.get("timeZone")) \
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                field = aliases[key]
            if value is None:
                spec.pop(field, None)
            else:
                spec[field] = value
        try:
            ScheduleSpec.model_validate(spec)
        except ValueError as exc:
            raise ConfigurationError(f"update_schedule: invalid schedule: {exc}") from None
        body = {"metadata": {"resourceVersion": view.metadata.get("resourceVersion")},
                "spec": {**{k: None for k in view.spec if k not in spec}, **spec}}
        return ScheduleView(self, self.kube.patch(names.SCHEDULES, view.object_name, body))

    def activate_schedule(self, name_id_or_prefix: str) -> ScheduleView:
        """Resume a suspended schedule (``zenml pipeline schedule activate``)."""
        return self.update_schedule(name_id_or_prefix, active=True)

    def deactivate_schedule(self, name_id_or_prefix: str) -> ScheduleView:
        """Suspend a schedule: no new runs until activated (``... schedule deactivate``)."""
        return self.update_schedule(name_id_or_prefix, active=False)

    def delete_schedule(self, name_id_or_prefix: str) -> None:
        """Delete a schedule. Its runs stay (they keep the schedule's label, so
        ``run.schedule_name`` still says where they came from); no new run starts."""
        view = self.get_schedule(name_id_or_prefix)
        self.kube.delete(names.SCHEDULES, view.object_name)

    # ================================================================ trigger
    def trigger_pipeline(
        self, pipeline_name_or_id: str | None = None, run_configuration: Any = None,
        config_path: str | None = None, snapshot_name_or_id: str | None = None,
        synchronous: bool = False, run_name: str | None = None, **kwargs: Any,
    ) -> RunView:
        """Start a run of a snapshot (or of a pipeline's latest snapshot) with a configuration.

        The configuration (a ``PipelineRunConfiguration``, dict or YAML path) is checked
        against the snapshot before the run is created: an unknown step or parameter, or a
        value of the wrong type, raises ``ConfigurationError`` naming it. Inside a step Pod
        the new run records the triggering run and step.
        """
        from kubeline.client.trigger import parse_invocation, step_permission_message

        trigger = parse_invocation(os.environ.get(names.ENV_INVOCATION))
        if trigger is not None:  # the step Pod's name (its hostname), for provenance
            trigger["pod"] = os.environ.get("HOSTNAME", "")
        try:
            return self._trigger(pipeline_name_or_id, run_configuration, config_path,
                                 snapshot_name_or_id, synchronous, run_name, trigger, **kwargs)
        except (PermissionDeniedError, ClusterUnreachableError) as exc:
            # In a step Pod both mean the same: its ServiceAccount may not (or has no token to)
            # talk to the API server.
            if trigger is None:
                raise
            raise type(exc)(step_permission_message(str(exc), trigger)) from None

    def _trigger(
        self, pipeline_name_or_id: str | None, run_configuration: Any, config_path: str | None,
        snapshot_name_or_id: str | None, synchronous: bool, run_name: str | None,
        trigger: dict[str, str] | None, **kwargs: Any,
    ) -> RunView:
        from kubeline.client.trigger import build_run, check_run_configuration
        from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration

        snapshot_name_or_id = snapshot_name_or_id or kwargs.pop("snapshot_id", None) or \
            kwargs.pop("template_id", None)
        if kwargs:
            raise ConfigurationError(f"unknown argument(s) {sorted(kwargs)} for trigger_pipeline")
        if snapshot_name_or_id:
            snapshot = self.get_snapshot(snapshot_name_or_id)
        elif pipeline_name_or_id:
            snapshot = self._latest_snapshot(self.get_pipeline(pipeline_name_or_id))
        else:
            raise ConfigurationError(
                "trigger_pipeline needs pipeline_name_or_id or snapshot_name_or_id"
            )
        if not snapshot.runnable:
            raise ConfigurationError(
                f"snapshot {snapshot.name} is not runnable: {snapshot.validation_message}"
            )
        source = run_configuration if run_configuration is not None else config_path
        config = PipelineRunConfiguration.coerce(source).to_k8s()
        if run_name:
            config["runName"] = run_name
        check_run_configuration(config, snapshot.object)
        body = build_run(snapshot.object, config, triggered_by=trigger)
        run = RunView(self, self.kube.create(names.PIPELINE_RUNS, body))
        run._cache["snapshot"] = snapshot
        if synchronous:
            run.wait()
        return run

    # ================================================================ artifacts
    def _artifact_version_by_object_name(self, name: str) -> ArtifactVersionView:
        return ArtifactVersionView(self, self.kube.get(names.ARTIFACT_VERSIONS, name))

    def get_artifact(self, name_or_id: str) -> ArtifactView:
        """An artifact and its versions (one label-selected, paged list)."""
        key = str(name_or_id)
        if is_uuid(key):
            return self.get_artifact_version(key).artifact
        view = ArtifactView(self, key)
        if not view.versions:
            raise NotFoundError(
                f"no artifact {key!r} in namespace {self.namespace} "
                "(`kubeline artifact list` shows the artifacts)"
            )
        return view

    def list_artifacts(self, name: str | None = None, sort_by: str = "asc:name",
                       page: int = PAGINATION_STARTING_PAGE,
                       size: int = PAGE_SIZE_DEFAULT, pipeline_run_id: str | None = None,
                       tags: Any = None, **kwargs: Any) -> Page[ArtifactView]:
        """Artifacts (grouped from their versions), by name; ``name`` is a ZenML filter
        (``"contains:iris"``; plain: exact), ``pipeline_run_id`` the run that produced a
        version (label-selected), ``tags`` filters versions' tags."""
        if kwargs:
            raise ConfigurationError(
                f"unknown filter(s) {sorted(kwargs)} for list_artifacts (Kubeline has no users "
                "or stacks to filter by)")
        selector = None
        if pipeline_run_id is not None:
            run = self.get_pipeline_run(pipeline_run_id, allow_name_prefix_match=False)
            selector = f"{names.LABEL_RUN}={names.label_value(run.object_name)}"
        wanted = [tags] if isinstance(tags, str) else list(tags or [])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for obj in self.kube.iter(names.ARTIFACT_VERSIONS, selector):
            art = ArtifactVersionSpecView(obj.get("spec")).artifact_name
            if matches(art, name) and all(
                    matches(ArtifactVersionView(self, obj).tags, t) for t in wanted):
                grouped.setdefault(art, []).append(obj)
        views = [ArtifactView(self, art, objs) for art, objs in sorted(grouped.items())]
        order, _, key = sort_by.rpartition(":")
        if key != "name" or order not in ("", "asc", "desc"):
            raise ConfigurationError("list_artifacts sorts by name ('asc:name' or 'desc:name')")
        if order == "desc":
            views.reverse()
        return page_of(views, page, size)

    def get_artifact_data(self, name_id_or_prefix: str, version: str | None = None) -> Any:
        """The loaded data of an artifact version (by id, or name and version / latest)."""
        return self.get_artifact_version(name_id_or_prefix, version).load()

    def list_run_steps(self, pipeline_run_id: str | None = None, name: Any = None,
                       status: Any = None, page: int = PAGINATION_STARTING_PAGE,
                       size: int = PAGE_SIZE_DEFAULT, **kwargs: Any) -> Page[Any]:
        """The steps of a run (ZenML's ``list_run_steps``), filtered by name and status."""
        if kwargs:
            raise ConfigurationError(f"unknown filter(s) {sorted(kwargs)} for list_run_steps")
        if pipeline_run_id is None:
            raise ConfigurationError("list_run_steps needs pipeline_run_id= (steps live in "
                                     "their run in Kubeline)")
        steps = [s for s in self.get_pipeline_run(pipeline_run_id).steps.values()
                 if matches(s.name, name) and matches(s.status, status)]
        return page_of(steps, page, size)

    @property
    def active_user(self) -> Any:
        """Who the API server says you are (SelfSubjectReview): ``.name``, ``.id``, ``.groups``."""
        from kubeline.client.stack import active_user

        return active_user(self.kube)

    @property
    def active_stack_model(self) -> Any:
        return self.active_stack

    def create_tag(self, name: str, exclusive: bool = False, **kwargs: Any) -> str:
        """Kubeline has no tag objects (a tag exists by being used): refused naming that."""
        raise ConfigurationError(
            f"create_tag({name!r}): Kubeline keeps tags on the objects they tag, there are no "
            "tag objects (and no exclusive tags); use add_tags(...) or tags=[...] directly")

    def list_stacks(self) -> list[Any]:
        """Kubeline's one stack."""
        return [self.active_stack]

    def list_stack_components(self, component_type: str | None = None) -> list[Any]:
        """The stack's components (orchestrator, artifact store), by ZenML component type."""
        stack = self.active_stack
        kinds = ("orchestrator", "artifact_store")
        kind = getattr(component_type, "value", component_type)
        return [getattr(stack, k) for k in kinds if kind is None or k == kind]

    def get_artifact_version(self, name_id_or_prefix: str | None = None,
                             version: str | int | None = None, *,
                             name: str | None = None) -> ArtifactVersionView:
        """An artifact version: by name and version (one GET), by name alone (the latest),
        by id (uid) or by object name.
        """
        key = str(name_id_or_prefix if name_id_or_prefix is not None else name or "")
        if not key:
            raise ConfigurationError("get_artifact_version needs an artifact name or id")
        if version is not None:
            obj = self._get_or_none(names.ARTIFACT_VERSIONS,
                                    names.artifact_version_name(key, str(version)))
            if obj is None:  # a version written another way: use the labels
                selector = (f"{names.LABEL_ARTIFACT}={names.label_value(key)},"
                            f"{names.LABEL_VERSION}={names.label_value(str(version))}")
                obj = next((o for o in self.kube.iter(names.ARTIFACT_VERSIONS, selector)
                            if ArtifactVersionSpecView(o.get("spec")).artifact_name == key
                            and ArtifactVersionSpecView(o.get("spec")).version == str(version)),
                           None)
            if obj is None:
                raise NotFoundError(
                    f"no version {version!r} of artifact {key!r} in namespace {self.namespace} "
                    f"(`kubeline artifact versions {key}` lists them)"
                )
            return ArtifactVersionView(self, obj)
        if is_uuid(key):
            obj = self._find_by_uid(names.ARTIFACT_VERSIONS, key)
            if obj is not None:
                return ArtifactVersionView(self, obj)
        selector = f"{names.LABEL_ARTIFACT}={names.label_value(key)}"
        objs = [o for o in self.kube.iter(names.ARTIFACT_VERSIONS, selector)
                if ArtifactVersionSpecView(o.get("spec")).artifact_name == key]
        if objs:
            return ArtifactVersionView(self, max(objs, key=version_sort_key))
        obj = self._get_or_none(names.ARTIFACT_VERSIONS, key)
        if obj is not None:
            return ArtifactVersionView(self, obj)
        raise NotFoundError(
            f"no artifact version {key!r} in namespace {self.namespace} "
            "(give an artifact name, a name and version, or an id)"
        )

    def list_artifact_versions(
        self, name: str | None = None, run: str | None = None, step: str | None = None,
        pipeline: str | None = None, sort_by: str = "desc:created",
        page: int = PAGINATION_STARTING_PAGE, size: int = PAGE_SIZE_DEFAULT,
        version: Any = None, tags: Any = None, **kwargs: Any,
    ) -> Page[ArtifactVersionView]:
        """Artifact versions selected by the labels ``name``, ``run``, ``step`` and ``pipeline``."""
        name = name or kwargs.pop("artifact_name", None) or kwargs.pop("artifact", None)
        if kwargs:
            raise ConfigurationError(
                f"unknown filter(s) {sorted(kwargs)} for list_artifact_versions"
            )
        parts = []
        exact_name = name if is_exact(name) else None
        if exact_name:
            parts.append(f"{names.LABEL_ARTIFACT}={names.label_value(exact_name)}")
        if run:
            parts.append(f"{names.LABEL_RUN}={names.label_value(run)}")
        if step:
            parts.append(f"{names.LABEL_STEP}={names.label_value(step)}")
        if pipeline:
            parts.append(f"{names.LABEL_PIPELINE}={self._pipeline_label(pipeline)}")
        objs = [o for o in self.kube.iter(names.ARTIFACT_VERSIONS, ",".join(parts) or None)
                if matches(ArtifactVersionSpecView(o.get("spec")).artifact_name, name)
                and matches(ArtifactVersionSpecView(o.get("spec")).version, version)
                and all(matches(ArtifactVersionSpecView(o.get("spec")).tags, t)
                        for t in ([tags] if isinstance(tags, str) else list(tags or [])))]
        return _paginate(objs, sort_by, page, size, lambda o: ArtifactVersionView(self, o))


_CONNECTIONS: dict[tuple[Any, ...], tuple[Any, str, str | None]] = {}


def _connection_key(namespace: str | None, context: str | None) -> tuple[Any, ...]:
    files = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    stamps: list[tuple[str, int | None]] = []
    for path in files.split(os.pathsep):
        try:
            stamps.append((path, os.stat(path).st_mtime_ns))
        except OSError:
            stamps.append((path, None))
    return (namespace, context, os.environ.get(names.ENV_NAMESPACE),
            os.environ.get("KUBERNETES_SERVICE_HOST"), tuple(stamps))


def connect_shared(namespace: str | None = None, context: str | None = None) -> Kube:
    """A new ``Kube`` (own request count) over a connection shared within the process."""
    from kubeline.kube import Kube

    key = _connection_key(namespace, context)
    cached = _CONNECTIONS.get(key)
    if cached is None:
        kube = Kube.connect(namespace=namespace, context=context)
        _CONNECTIONS[key] = (kube.api_client, kube.namespace, kube.home_namespace)
        return kube
    api_client, resolved, home = cached
    return Kube(namespace=resolved, context=context, api_client=api_client, home_namespace=home)


def forget_connections() -> None:
    """Drop the shared connections (the next Client connects anew)."""
    _CONNECTIONS.clear()


def _is_dns_subdomain(name: str) -> bool:
    parts = name.split(".")
    return 0 < len(name) <= 253 and all(names.is_dns_label(p) for p in parts)
