"""``SnapshotView``: an immutable, runnable pipeline and its default run configuration."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kubeline.client._base import View
from kubeline.resources import names
from kubeline.resources.read import SnapshotSpecView, SnapshotStatusView

if TYPE_CHECKING:
    from kubeline.client.pipelines import PipelineView
    from kubeline.client.runs import RunView
    from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration


def full_config_template(spec: dict[str, Any]) -> dict[str, Any]:
    """The snapshot's config template with an entry (and all default parameters) for every step,
    so ``config.steps["trainer"].parameters["gamma"] = ...`` works on any step.
    """
    template = copy.deepcopy(spec.get("configTemplate") or {})
    steps = template.setdefault("steps", {})
    for step in spec.get("steps") or []:
        entry = steps.setdefault(step["id"], {})
        entry["parameters"] = {**(step.get("parameters") or {}), **(entry.get("parameters") or {})}
    return template


class SnapshotView(View):
    """A Snapshot object."""

    plural = names.SNAPSHOTS

    @property
    def sp(self) -> SnapshotSpecView:
        """The snapshot's spec, typed (``kubeline.resources.read``)."""
        return SnapshotSpecView(self.spec)

    @property
    def name(self) -> str:
        """The name given at creation (``create_snapshot(name=...)``), else the object name."""
        return self.sp.display_name or self.object_name

    @property
    def description(self) -> str | None:
        return self.spec.get("description")

    @property
    def tags(self) -> list[str]:
        """Tags added with ``add_tags(snapshot=...)``."""
        from kubeline.client._base import annotation_tags

        return annotation_tags(self.annotations)

    @property
    def pipeline_name(self) -> str:
        return self.sp.pipeline_name or self.sp.pipeline or ""

    @property
    def pipeline(self) -> PipelineView:
        return self._cached(
            "pipeline", lambda: self._client._pipeline_by_object_name(self.spec["pipeline"])
        )

    @property
    def step_ids(self) -> list[str]:
        return [s.id for s in self.sp.steps]

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.spec.get("steps") or [])

    @property
    def image(self) -> str | None:
        return self.sp.image

    @property
    def runnable(self) -> bool:
        """False only when the operator rejected the snapshot."""
        return SnapshotStatusView(self.k8s_status).valid is not False

    @property
    def validation_message(self) -> str | None:
        return SnapshotStatusView(self.k8s_status).message

    @property
    def run_count(self) -> int:
        return SnapshotStatusView(self.k8s_status).run_count

    @property
    def config_template(self) -> PipelineRunConfiguration:
        """A fresh, modifiable copy of the default run configuration (all steps listed)."""
        from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration

        return PipelineRunConfiguration.coerce(full_config_template(self.spec),
                                               source=f"snapshot {self.object_name} template")

    def run(self, run_configuration: Any = None, **kwargs: Any) -> RunView:
        """Start a run of this snapshot (see ``Client.trigger_pipeline``)."""
        return self._client.trigger_pipeline(snapshot_name_or_id=self.object_name,
                                             run_configuration=run_configuration, **kwargs)

    def __repr__(self) -> str:
        return f"SnapshotView({self.name!r}, pipeline={self.pipeline_name!r})"
