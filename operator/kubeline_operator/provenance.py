"""Is a run's ``spec.triggeredBy`` true? Checked once, when the run starts (pure).

A step that starts a run annotates it with its own Pod's name
(``kubeline.dev/triggered-from-pod``). The chart's run-provenance admission policy admits
that annotation only when the request is made by the step ServiceAccount with a token bound
to that very Pod (the API server's ``authentication.kubernetes.io/pod-name`` claim). So the
claim is verified when the policy is installed, the annotation is there, and the Pod is the
one the triggering run's status records for the step named. Anything else is unverified,
with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeline.resources.models import TriggerProvenance, TriggerRef
from kubeline.resources.names import ANNOTATION_TRIGGERED_FROM_POD


def check_trigger(ref: TriggerRef, annotations: Mapping[str, str],
                  triggering: Mapping[str, Any] | None, policy: bool) -> TriggerProvenance:
    """Whether ``ref`` (spec.triggeredBy) is shown true by the run's annotations and the
    triggering run object (None: not found in the run's namespace)."""
    what = f"step {ref.step} of run {ref.run}"
    if not policy:
        return TriggerProvenance(verified=False, message=(
            f"unverified: {what} is claimed, but the run-provenance admission policy is not "
            "installed (chart value steps.provenancePolicy), so nothing shows who created it"))
    pod = annotations.get(ANNOTATION_TRIGGERED_FROM_POD, "")
    if not pod:
        return TriggerProvenance(verified=False, message=(
            f"unverified: {what} is claimed, but the run was not created with a step Pod's "
            f"own token (no {ANNOTATION_TRIGGERED_FROM_POD} annotation)"))
    if triggering is None:
        return TriggerProvenance(verified=False, message=(
            f"unverified: created by Pod {pod}, but run {ref.run} does not exist"))
    steps = (triggering.get("status") or {}).get("steps") or []
    ran = next((s.get("pod") for s in steps if s.get("name") == ref.step), None)
    if ran != pod:
        return TriggerProvenance(verified=False, message=(
            f"unverified: created by Pod {pod}, but {what} ran in "
            f"{('Pod ' + ran) if ran else 'no Pod'}"))
    return TriggerProvenance(verified=True, message=(
        f"created with the ServiceAccount token of Pod {pod}, the Pod of {what}"))
