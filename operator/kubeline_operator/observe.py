"""Summaries of step Pods as plain data for the planner (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeline.resources.manifest import TerminationMessage
from kubeline.resources.names import LABEL_ATTEMPT, LABEL_RUN, LABEL_STEP, STEP_CONTAINER
from kubeline.resources.reasons import Reason

from kubeline_operator.timeutil import parse_time

__all__ = ["STEP_CONTAINER", "PodObservation", "classify_failure", "observe_pod",
           "parse_termination_message", "refusal_waits"]

#: Kubelet waiting reasons that never resolve by waiting longer -> the step's reason.
PERMANENT_WAITING = {"InvalidImageName": Reason.INVALID_IMAGE_NAME,
                     "ErrImageNeverPull": Reason.IMAGE_NOT_PRESENT}
#: Kubelet waiting reasons that fail the step once they last longer than the grace period.
TRANSIENT_WAITING = {
    "ErrImagePull": Reason.IMAGE_PULL_FAILED,
    "ImagePullBackOff": Reason.IMAGE_PULL_FAILED,
    "CreateContainerConfigError": Reason.CONTAINER_CONFIG_ERROR,
    "CreateContainerError": Reason.CONTAINER_CREATE_FAILED,
}

#: What the API server says when a ResourceQuota, an admission webhook or a
#: ValidatingAdmissionPolicy refuses a Pod: refusals that can pass by waiting (a Pod ends,
#: a quota grows, a webhook recovers), so the step waits (``Reason.QUOTA_EXCEEDED``).
WAITING_REFUSALS = ("exceeded quota", "status unknown for quota", "admission webhook",
                    "ValidatingAdmissionPolicy")


def refusal_waits(status: int, message: str) -> bool:
    """Whether a refused Pod creation (HTTP ``status``) waits instead of failing the step.

    Quota and admission refusals wait. Everything else fails at once: Pod Security
    violations, RBAC, LimitRange bounds, a quota that needs requests or limits the Pod does
    not set, an invalid Pod (400/422); waiting would not change them."""
    if status == 500:  # a webhook that could not be called: admission did not run
        return "failed calling webhook" in message
    if status not in (400, 403, 422) or "violates PodSecurity" in message:
        return False
    if "must specify" in message:  # "failed quota: q: must specify limits.cpu"
        return False
    return any(marker in message for marker in WAITING_REFUSALS)


@dataclass(frozen=True)
class PodObservation:
    """What the planner needs to know about one step Pod."""

    name: str
    step: str  # step name (DNS label)
    attempt: int
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    created: float | None = None
    finished: float | None = None
    deleting: bool = False
    exit_code: int | None = None
    container_reason: str | None = None  # terminated reason: Completed, Error, OOMKilled
    termination_message: str | None = None
    waiting_reason: str | None = None
    waiting_message: str | None = None
    pod_reason: str | None = None  # Evicted, DeadlineExceeded, ...
    pod_message: str | None = None
    uid: str = ""
    #: The Pod announced its outputs committed (its Event) and has not exited yet
    #: (``controller.with_commits``): the planner records its step from the manifest,
    #: verified, as for a Pod that Succeeded. ``phase`` stays the Pod's own: it is still
    #: running, holds its slot, and is cleaned up as a live Pod once its step is done.
    committed: bool = False

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @property
    def active(self) -> bool:
        """Holds (or will hold) a pod slot: not finished and not being deleted."""
        return not self.terminal and not self.deleting


def observe_pod(pod: Mapping[str, Any]) -> PodObservation | None:
    """Summarise a Pod (API dict form); None when it is not a Kubeline step Pod.

    ``phase`` is the Pod's, except that a Pod whose containers all terminated and whose step
    container exited 0 (reason Completed) counts as Succeeded at once."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    if LABEL_RUN not in labels or LABEL_STEP not in labels:
        return None
    try:
        attempt = int(labels.get(LABEL_ATTEMPT, "1"))
    except ValueError:
        attempt = 1
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    exit_code = container_reason = message = waiting_reason = waiting_message = None
    finished = None
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") != STEP_CONTAINER and len(status.get("containerStatuses") or []) > 1:
            continue
        state = cs.get("state") or {}
        if "terminated" in state and state["terminated"] is not None:
            term = state["terminated"]
            exit_code = term.get("exitCode")
            container_reason = term.get("reason")
            message = term.get("message")
            finished = parse_time(term.get("finishedAt"))
        elif "waiting" in state and state["waiting"] is not None:
            waiting_reason = state["waiting"].get("reason")
            waiting_message = state["waiting"].get("message")
    statuses = status.get("containerStatuses") or []
    if (phase in ("Pending", "Running") and exit_code == 0 and container_reason == "Completed"
            and not meta.get("deletionTimestamp")
            and all((cs.get("state") or {}).get("terminated") for cs in statuses)):
        # Step Pods never restart a container (restartPolicy Never): once the kubelet
        # reports it exited 0, the step is done. The kubelet turns the Pod's phase
        # Succeeded ~1.1 s later, while it terminates the Pod (bench/real_pods.py); waiting
        # for that was on every step's critical path. Failures still wait for the phase
        # (its reason: deadline, eviction).
        phase = "Succeeded"
    return PodObservation(
        name=meta.get("name", ""),
        step=labels[LABEL_STEP],
        attempt=attempt,
        phase=phase,
        created=parse_time(meta.get("creationTimestamp")),
        finished=finished,
        deleting=bool(meta.get("deletionTimestamp")),
        exit_code=exit_code,
        container_reason=container_reason,
        termination_message=message,
        waiting_reason=waiting_reason,
        waiting_message=waiting_message,
        pod_reason=status.get("reason"),
        pod_message=status.get("message"),
        uid=meta.get("uid", ""),
    )


def parse_termination_message(text: str | None) -> TerminationMessage | None:
    """The runtime's termination message, or None when absent or not one."""
    return TerminationMessage.parse(text)


def classify_failure(pod: PodObservation) -> tuple[Reason, str]:
    """(reason, message) explaining why a step Pod failed."""
    if pod.pod_reason == "Evicted":
        return (Reason.POD_EVICTED,
                f"step pod {pod.name} was evicted: {pod.pod_message or 'no detail'}")
    if pod.pod_reason == "DeadlineExceeded":
        return Reason.STEP_TIMEOUT, f"step pod {pod.name} exceeded its active deadline"
    if pod.container_reason == "OOMKilled":
        return (
            Reason.OOM_KILLED,
            f"step pod {pod.name} ran out of memory (OOMKilled); raise the step's resources.memory",
        )
    msg = parse_termination_message(pod.termination_message)
    if msg is not None and msg.ok is False:
        text = f"{msg.type or 'Error'}: {msg.message or ''}".rstrip(": ")
        if pod.exit_code == 2:
            return Reason.STEP_SETUP_FAILED, f"step runtime could not run the step: {text}"
        return Reason.STEP_FAILED, text
    detail = (pod.termination_message or "").strip()
    tail = f": {detail[-1000:]}" if detail else ""
    if pod.exit_code is None:
        why = pod.pod_reason or "no reason given"
        return Reason.POD_FAILED, f"step pod {pod.name} failed ({why}){tail}"
    return Reason.STEP_FAILED, f"step container exited with code {pod.exit_code}{tail}"
