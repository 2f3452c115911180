"""``PipelineView``: a pipeline, its runs (newest first) and its snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kubeline.client._base import (
    LazySequence,
    View,
    annotation_tags,
    creation_order,
)
from kubeline.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM
from kubeline.errors import NoRunsError, NotFoundError
from kubeline.resources import names
from kubeline.resources.phases import SUCCESS_PHASES
from kubeline.resources.read import PipelineSpecView, PipelineStatusView

if TYPE_CHECKING:
    from kubeline.client.runs import RunView
    from kubeline.client.snapshots import SnapshotView


class PipelineView(View):
    """A Pipeline object. Run pointers come from its status, kept by the operator."""

    plural = names.PIPELINES

    @property
    def st(self) -> PipelineStatusView:
        """The pipeline's status (run pointers), typed (``kubeline.resources.read``)."""
        return PipelineStatusView(self.k8s_status)

    @property
    def name(self) -> str:
        """The pipeline's name as written in Python (e.g. ``training_pipeline``)."""
        return PipelineSpecView(self.spec).name or self.object_name

    @property
    def description(self) -> str | None:
        return PipelineSpecView(self.spec).description

    @property
    def tags(self) -> list[str]:
        """Tags added with ``add_tags(pipeline=...)``."""
        return annotation_tags(self.annotations)

    @property
    def num_runs(self) -> int:
        """How many runs of this pipeline exist now, counted afresh on each access as
        ZenML's (``list_pipeline_runs(pipeline=...).total``): a metadata-only,
        label-selected list. Deleted runs no longer count; ``st.run_count`` is how many
        were ever started (the operator's counter, which also numbers them)."""
        selector = f"{names.LABEL_PIPELINE}={names.label_value(self.object_name)}"
        return self._client.kube.count(names.PIPELINE_RUNS, label_selector=selector)

    @property
    def latest_snapshot_name(self) -> str | None:
        return self.st.latest_snapshot

    def _run(self, name: str) -> RunView:
        return self._client._run_by_object_name(name)

    def _pointed_run(self, pointer: str | None) -> RunView | None:
        """The run a status pointer names, or None when unset or deleted since."""
        if not pointer:
            return None
        try:
            return self._run(pointer)
        except NotFoundError:
            return None

    def _fresh_status(self) -> PipelineStatusView:
        """The run pointers as they are now: the Pipeline re-read (one GET), as ZenML's
        ``runs`` / ``last_run`` query the store on every access. The view keeps the object
        read (``.object`` then shows it too)."""
        self._obj = self._client.kube.get(self.plural, self.object_name)
        return self.st

    def _recent_runs(self, limit: int, st: PipelineStatusView) -> Iterator[RunView]:
        """Up to ``limit`` runs, newest first, through the operator's ``recentRuns``."""
        if "recentRuns" not in st.raw:
            # No pointers yet (no operator has seen this pipeline): fall back to a listing.
            yield from self._client.list_pipeline_runs(pipeline=self.object_name, size=limit)
            return
        found = 0
        for name in st.recent_runs:
            if found == limit:
                return
            try:
                run = self._run(name)
            except NotFoundError:
                continue  # deleted since the operator last updated the list
            found += 1
            yield run

    @property
    def runs(self) -> LazySequence[RunView]:
        """The 20 most recent runs (``PAGE_SIZE_DEFAULT``), newest first, as ZenML's list;
        older ones via ``get_runs(page=..)``.

        Each access reads afresh, as ZenML's: the Pipeline's ``recentRuns`` pointers (one
        GET), then the runs one GET each, only as far as they are used (``runs[1]`` costs
        three). Each access gives a list of its own, which keeps the runs it read.
        """
        st = self._fresh_status()
        return LazySequence(self._recent_runs(PAGE_SIZE_DEFAULT, st))

    @property
    def last_run(self) -> RunView:
        """The newest run, read afresh on each access as ZenML's: the Pipeline's
        ``lastRun`` pointer (one GET), then the run (one GET)."""
        st = self._fresh_status()
        pointed = self._pointed_run(st.last_run)
        if pointed is not None:
            return pointed
        for run in self._recent_runs(1, st):
            return run
        raise NoRunsError(f"pipeline {self.name!r} has no runs yet")

    @property
    def last_successful_run(self) -> RunView:
        """The newest completed or cached run, read afresh on each access as ZenML's: the
        ``lastSuccessfulRun`` pointer (one GET), then the run (one GET)."""
        st = self._fresh_status()
        pointed = self._pointed_run(st.last_successful_run)
        if pointed is not None:
            return pointed
        for run in self._recent_runs(PAGE_SIZE_MAXIMUM, st):
            if run.status in SUCCESS_PHASES:
                return run
        raise NoRunsError(f"pipeline {self.name!r} has no successful run yet")

    def get_runs(self, **kwargs: Any) -> list[RunView]:
        """The runs on one page of ``Client.list_pipeline_runs`` for this pipeline (filters
        and paging as there: 20 newest by default), as a list, as ZenML's."""
        return self._client.list_pipeline_runs(pipeline=self.object_name, **kwargs).items

    @property
    def snapshots(self) -> list[SnapshotView]:
        """This pipeline's snapshots, newest first."""
        return list(self._client.list_snapshots(pipeline=self.object_name))

    @property
    def latest_snapshot(self) -> SnapshotView:
        """The newest runnable snapshot (status pointer, else the newest valid one)."""
        return self._client._latest_snapshot(self)

    def __repr__(self) -> str:
        return f"PipelineView({self.name!r})"


def newest_first(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects sorted newest first (``creation_order``, reversed)."""
    return sorted(objs, key=creation_order, reverse=True)
