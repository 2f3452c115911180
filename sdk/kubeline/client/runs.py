"""``RunView``: one PipelineRun, its configuration, steps, lineage links and ``wait()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubeline.client._base import (
    TERMINAL_PHASES,
    LazyMapping,
    MetadataValue,
    View,
    annotation_tags,
    as_status,
    metadata_dict,
    parse_time,
)
from kubeline.client.configs import RunConfigView, StepConfigView
from kubeline.client.own_run import settled
from kubeline.client.steps import StepView
from kubeline.client.trigger import LABEL_TRIGGERED_BY_RUN
from kubeline.client.visualize import in_notebook
from kubeline.client.waiting import wait_for_run
from kubeline.errors import KubelineError, NotFoundError
from kubeline.resources import names
from kubeline.resources.models import RunConfiguration, SnapshotSpec
from kubeline.resources.phases import SUCCESS_PHASES, is_terminal_run
from kubeline.resources.read import (
    PipelineRunSpecView,
    PipelineRunStatusView,
    SnapshotSpecView,
    StepSpecView,
)
from kubeline.resources.run_config import effective_enable_cache, pipeline_enable_cache

if TYPE_CHECKING:
    from kubeline.client.client import Client
    from kubeline.client.pipelines import PipelineView
    from kubeline.client.schedules import ScheduleView
    from kubeline.client.snapshots import SnapshotView



@dataclass(frozen=True)
class TriggerInfo:
    """The run and step that started a run from inside a step."""

    run: RunView
    step: StepView
    #: Whether the operator verified the claim (the run was created with that step Pod's own
    #: token); None until the run started. ``provenance`` says what was checked, or why not.
    verified: bool | None = None
    provenance: str | None = None


def effective_step_parameters(
    defaults: dict[str, Any], override: dict[str, Any], recorded: dict[str, Any] | None
) -> dict[str, Any]:
    """What a step ran with: the operator's record if present, else defaults + overrides."""
    if recorded is not None:
        return dict(recorded)
    return {**defaults, **override}


def step_settings(step: dict[str, Any] | StepSpecView,
                  snapshot_spec: dict[str, Any] | SnapshotSpecView) -> dict[str, Any]:
    """A step's settings in one dict: image, resources, retry, timeout, env."""
    st = step if isinstance(step, StepSpecView) else StepSpecView(step)
    snap = snapshot_spec if isinstance(snapshot_spec, SnapshotSpecView) else SnapshotSpecView(
        snapshot_spec)
    settings: dict[str, Any] = {"image": st.image or snap.image}
    for out, value in (("resources", st.resources), ("retry", st.retry),
                       ("timeout_seconds", st.timeout_seconds), ("env", st.env)):
        if value:
            settings[out] = value
    return settings


class RunView(View):
    """A PipelineRun. Its fields are as read (``refresh()`` re-reads); ``steps`` reads afresh
    while the run is unfinished.

    Inside a step Pod, a view of the step's own run shows its upstream steps finished: it
    waits for the operator's record of them when the object read does not yet
    (``kubeline.client.own_run``)."""

    plural = names.PIPELINE_RUNS

    def __init__(self, client: Client, obj: dict[str, Any]) -> None:
        super().__init__(client, settled(obj, lambda: client.kube))

    def refresh(self) -> RunView:
        """Re-read the run from the API server; returns ``self``."""
        super().refresh()
        self._obj = settled(self._obj, lambda: self._client.kube)
        return self

    @property
    def st(self) -> PipelineRunStatusView:
        """The run's status, typed (``kubeline.resources.read``)."""
        return PipelineRunStatusView(self.k8s_status)

    @property
    def sp(self) -> PipelineRunSpecView:
        """The run's spec, typed."""
        return PipelineRunSpecView(self.spec)

    # ------------------------------------------------------------ identity and state
    @property
    def name(self) -> str:
        """The run's object name (its ``run_name`` when one was given)."""
        return self.object_name

    @property
    def status(self) -> str:
        """initialized, running, completed, failed, cached or cancelled (ZenML's STOPPED): an
        ``ExecutionStatus`` (a string, with ZenML's ``.is_finished`` / ``.is_successful``)."""
        return as_status(self.st.phase)

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_PHASES

    @property
    def is_successful(self) -> bool:
        return self.status in SUCCESS_PHASES

    @property
    def index(self) -> int | None:
        """1-based index of this run within its pipeline."""
        return self.st.index

    @property
    def start_time(self) -> datetime | None:
        return parse_time(self.st.start_time)

    @property
    def end_time(self) -> datetime | None:
        return parse_time(self.st.end_time)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (None while running)."""
        if self.start_time and self.end_time:
            return (self.end_time - self.start_time).total_seconds()
        return None

    @property
    def progress(self) -> str | None:
        return self.st.progress

    @property
    def message(self) -> str | None:
        return self.st.message

    @property
    def status_reason(self) -> str | None:
        return self.st.reason

    @property
    def failed_step(self) -> str | None:
        return self.st.failed_step

    @property
    def api_url(self) -> str | None:
        """The run object's URL on the API server (``orchestrator_url`` in run_metadata)."""
        config = getattr(getattr(self._client.kube, "api_client", None), "configuration", None)
        host = getattr(config, "host", None)
        if not host:
            return None
        ns = self.metadata.get("namespace") or self._client.kube.namespace
        return (f"{host.rstrip('/')}/apis/{names.GROUP}/{names.VERSION}/namespaces/{ns}/"
                f"{self.plural}/{self.object_name}")

    @property
    def tags(self) -> list[str]:
        """The run's tags: those of its configuration (``@pipeline(tags=...)``, a run
        configuration's ``tags``) plus those added while it ran (``add_tags``)."""
        tags = self.sp.config.tags
        for tag in annotation_tags(self.annotations):
            if tag not in tags:
                tags.append(tag)
        return tags

    @property
    def cancel_requested(self) -> bool:
        return self.sp.cancel

    # ------------------------------------------------------------ links
    @property
    def pipeline_object_name(self) -> str | None:
        return self.st.pipeline or self.labels.get(names.LABEL_PIPELINE) or self.sp.pipeline

    @property
    def snapshot_name(self) -> str | None:
        return self.st.snapshot or self.sp.snapshot

    @property
    def pipeline(self) -> PipelineView:
        """The run's pipeline (one GET)."""

        def find() -> PipelineView:
            name = self.pipeline_object_name
            if not name:
                name = SnapshotSpecView(self.snapshot.spec).pipeline
            if not name:
                raise NotFoundError(f"run {self.name} names no pipeline and no snapshot")
            return self._client._pipeline_by_object_name(name)

        return self._cached("pipeline", find)

    @property
    def snapshot(self) -> SnapshotView:
        """The snapshot this run runs (one GET)."""

        def find() -> SnapshotView:
            name = self.snapshot_name
            if name:
                return self._client.get_snapshot(name)
            pipeline = self.sp.pipeline
            if pipeline:
                return self._client.get_pipeline(pipeline).latest_snapshot
            raise NotFoundError(f"run {self.name} names no snapshot")

        return self._cached("snapshot", find)

    def _snapshot_or_none(self) -> SnapshotView | None:
        try:
            return self.snapshot
        except NotFoundError:
            return None

    # ------------------------------------------------------------ configuration
    @property
    def config(self) -> RunConfigView:
        """The effective configuration (snapshot defaults with this run's overrides)."""
        return self._cached("config", self._build_config)

    def _build_config(self) -> RunConfigView:
        overrides = self.sp.config
        snap = self._snapshot_or_none()
        snap_spec = SnapshotSpecView(snap.spec if snap else None)
        recorded = self.st.parameters
        steps: dict[str, StepConfigView] = {}
        snapshot, run_config = _parsed_config(snap.spec if snap else None, dict(overrides.raw))
        for step in snap_spec.steps:
            ov = overrides.step(step.id, step.name)
            steps[step.id] = StepConfigView(
                parameters=effective_step_parameters(
                    step.parameters, ov.parameters, recorded.get(step.id)),
                settings=step_settings(step, snap_spec),
                enable_cache=_step_enable_cache(snapshot, run_config, step.id),
                cache_version=step.cache_version,
                extra=step.extra,
            )
        if not snap_spec:  # snapshot gone: what the run itself says
            for sid in overrides.step_overrides:
                ov = overrides.step(sid)
                steps[sid] = StepConfigView(
                    parameters=dict(recorded.get(sid) or ov.parameters),
                    enable_cache=ov.enable_cache,
                )
        settings: dict[str, Any] = {"image": snap_spec.image} if snap_spec.image else {}
        if snap_spec.model_spec:
            settings["model"] = snap_spec.model_spec
        return RunConfigView(
            parameters=snap_spec.pipeline_parameters,
            settings=settings,
            steps=steps,
            enable_cache=(pipeline_enable_cache(snapshot, run_config) if snapshot and run_config
                          else overrides.enable_cache),
            run_name=overrides.run_name,
            tags=overrides.tags,
            overrides=dict(overrides.raw),
        )

    @property
    def run_metadata(self) -> dict[str, MetadataValue]:
        """Run metadata: what Kubeline records about the run, plus metadata logged by steps."""

        def build() -> dict[str, Any]:
            values: dict[str, Any] = {
                "orchestrator": "kubernetes",
                "namespace": self.metadata.get("namespace"),
                "orchestrator_run_id": self.id,
            }
            url = self.api_url
            if url:
                values["orchestrator_url"] = url
            st = self.st
            for out, value in (("progress", st.progress), ("duration", st.duration),
                               ("cached_steps", st.cached_steps), ("status_reason", st.reason)):
                if value is not None:
                    values[out] = value
            # What the steps logged, in DAG order: run-level metadata under its own key,
            # each step's own metadata as "<step>::<key>" (ZenML's pattern).
            for step in self._steps_read.values():
                own, run_level = step.logged_metadata
                values.update(run_level)
                values.update({f"{step.name}::{k}": v for k, v in own.items()})
            return metadata_dict(values)

        return self._cached("run_metadata", build)

    # ------------------------------------------------------------ steps
    @property
    def steps(self) -> LazyMapping[StepView]:
        """The run's steps by invocation id, in DAG order, read afresh on each access as
        ZenML's (it lists the run's steps each time): while the run is unfinished, one GET
        of the run (the run's other fields stay as read; ``refresh()`` re-reads them). A
        finished run's steps no longer change, so once a read shows it finished, no request
        and the same mapping (its step views keep what they read)."""
        final = self._cache.get("steps_final")
        if final is not None:
            return final
        if is_terminal_run(self.st.phase):
            self._cache["steps_final"] = self._steps_read
            return self._steps_read
        obj = settled(self._client.kube.get(self.plural, self.object_name),
                      lambda: self._client.kube)
        steps = self._steps_of(obj)
        if is_terminal_run(PipelineRunStatusView(obj.get("status")).phase):
            self._cache["steps_final"] = steps
        return steps

    @property
    def _steps_read(self) -> LazyMapping[StepView]:
        """The steps of the run object as read (no request): what the Client's own views
        (rendering, the UI, lineage links) use, so that they cost no GET per step."""
        return self._cached("steps_read", lambda: self._steps_of(self._obj))

    def _steps_of(self, obj: dict[str, Any]) -> LazyMapping[StepView]:
        by_id = {s.name: s.raw for s in PipelineRunStatusView(obj.get("status")).steps}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return LazyMapping(list(by_id), lambda k: StepView(self, by_id[k], labels), "step")

    @property
    def step_statuses(self) -> list[dict[str, Any]]:
        return list(self.k8s_status.get("steps") or [])

    # ------------------------------------------------------------ schedules
    @property
    def schedule_name(self) -> str | None:
        """The Schedule that started this run (its label), if a schedule did."""
        return self.labels.get(names.LABEL_SCHEDULE)

    @property
    def scheduled_time(self) -> datetime | None:
        """The due time this run was started for, when a schedule started it."""
        return parse_time(self.annotations.get(names.ANNOTATION_SCHEDULED_TIME))

    @property
    def schedule(self) -> ScheduleView | None:
        """The Schedule that started this run (None for other runs, or once deleted)."""
        name = self.schedule_name
        if not name:
            return None

        def find() -> ScheduleView | None:
            obj = self._client._get_or_none(names.SCHEDULES, name)
            return self._client._schedule_view(obj) if obj is not None else None

        return self._cached("schedule", find)

    # ------------------------------------------------------------ triggers
    @property
    def model_version(self) -> Any:
        """The run's model version (resolved when it started), or None without a model."""
        ref = self.k8s_status.get("model") or {}
        if not ref.get("object"):
            return None
        from kubeline.client.models_view import ModelVersionView
        from kubeline.resources import names

        return self._cached("model_version", lambda: ModelVersionView(
            self._client, self._client.kube.get(names.MODEL_VERSIONS, ref["object"])))

    @property
    def triggered_by(self) -> TriggerInfo | None:
        """The run and step that started this run, when it was started from a step."""
        ref = self.sp.triggered_by
        if not ref:
            return None

        def build() -> TriggerInfo:
            run = self._client._run_by_object_name(ref.run)
            checked = self.st.triggered_by
            return TriggerInfo(run=run, step=run._steps_read[ref.step],
                               verified=checked.verified if checked else None,
                               provenance=checked.message if checked else None)

        return self._cached("triggered_by", build)

    @property
    def triggered_runs(self) -> list[RunView]:
        """Runs started from this run's steps, newest first (one label-selected list)."""

        def find() -> list[RunView]:
            selector = f"{LABEL_TRIGGERED_BY_RUN}={names.label_value(self.name)}"
            objs = [o for o in self._client.kube.iter(self.plural, label_selector=selector)
                    if PipelineRunSpecView(o.get("spec")).triggered_by.run == self.name]
            from kubeline.client.pipelines import newest_first

            return [RunView(self._client, o) for o in newest_first(objs)]

        return self._cached("triggered_runs", find)

    # ------------------------------------------------------------ actions
    def wait(
        self, timeout: float | None = None, show_progress: bool = True,
        raise_on_failure: bool = False, poll_interval: float = 1.0,
    ) -> RunView:
        """Block until the run ends; returns ``self`` refreshed.

        Follows the run with a watch (falling back to polling), showing live progress on
        a terminal and plain lines otherwise. ``raise_on_failure`` raises ``RunFailedError``
        for a failed or cancelled run; ``timeout`` (seconds) raises ``TimeoutError``.
        """
        return wait_for_run(self, timeout=timeout, show_progress=show_progress,
                            raise_on_failure=raise_on_failure, poll_interval=poll_interval)

    def cancel(self) -> RunView:
        """Ask the operator to cancel this run (sets ``spec.cancel``)."""
        self._obj = self._client.kube.patch(self.plural, self.name, {"spec": {"cancel": True}})
        self._cache.clear()
        return self

    # ------------------------------------------------------------ pictures
    def _repr_html_(self) -> str:
        """The run's DAG, coloured by status, inline in a notebook (no server needed)."""
        from kubeline.ui.inline import run_html

        return run_html(self)

    def visualize(self) -> None:
        """Show the run's lineage inline in a notebook. Elsewhere the UI shows it (the Client
        does not start the UI): ``PipelineRunLineageVisualizer().visualize(run)`` or
        ``kubeline ui``."""
        if not in_notebook():
            raise KubelineError(
                "run.visualize() draws the lineage inline in a notebook; outside one, open it "
                "in the UI: PipelineRunLineageVisualizer().visualize(run) (from "
                "kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer) or "
                "`kubeline ui`")
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))

    def _replace(self, obj: dict[str, Any]) -> None:
        self._obj = obj
        self._cache.clear()

    def __repr__(self) -> str:
        return f"RunView({self.name!r}, status={self.status!r})"


def _parsed_config(snap_spec: dict[str, Any] | None, overrides: dict[str, Any]
                   ) -> tuple[SnapshotSpec | None, RunConfiguration | None]:
    """The snapshot and the run's configuration as models (None where they do not parse):
    what the cache rule of :mod:`kubeline.resources.run_config` takes."""
    try:
        run_config = RunConfiguration.model_validate(overrides)
    except ValueError:
        return None, None
    try:
        return (SnapshotSpec.model_validate(snap_spec) if snap_spec else None), run_config
    except ValueError:
        return None, run_config


def _step_enable_cache(snapshot: SnapshotSpec | None, run_config: RunConfiguration | None,
                       step_id: str) -> bool | None:
    """Whether the run may serve the step from the cache (None: the snapshot is unknown)."""
    if snapshot is None or run_config is None:
        return None
    step = next((s for s in snapshot.steps if s.id == step_id), None)
    return effective_enable_cache(step, snapshot, run_config) if step else None
