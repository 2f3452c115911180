"""A step reading its own run sees its upstream steps finished (``kubeline.client.own_run``):
the operator creates a step's Pod before the run's status records the steps it waited for
(the write is batched), so the Client waits for that record, watch-based and bounded."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fake_kube import FakeKube
from kubeline.client import Client
from kubeline.client.own_run import (
    settled,
    unfinished_upstream,
    upstream_to_wait_for,
    wait_for_upstream,
)
from kubeline.context import OwnRun, own_run, set_own_run
from kubeline.errors import KubelineError, NotFoundError

pytestmark = pytest.mark.unit
RUN, UID, NS = "fan-1", "uid-fan-1", "ml"
UPSTREAM = ("process_0", "process_1")


def _run(phase: str = "running", rv: str = "10", **steps: str) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if steps:
        status["steps"] = [
            {"name": s, "phase": p, **({"outputs": {"output": f"{s}-output-1"}}
                                       if p in ("completed", "cached") else {})}
            for s, p in steps.items()]
    return {"apiVersion": "kubeline.dev/v1alpha1", "kind": "PipelineRun",
            "metadata": {"name": RUN, "namespace": NS, "uid": UID, "resourceVersion": rv},
            "spec": {"snapshot": "fan"}, "status": status}


class Clock:
    """A fake monotonic clock that ``sleep`` advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def in_step() -> Iterator[OwnRun]:
    run = OwnRun(RUN, UID, NS, UPSTREAM)
    set_own_run(run)
    yield run
    set_own_run(None)


def test_a_finished_upstream_step_is_completed_or_cached() -> None:
    assert unfinished_upstream(_run(load="completed", process_0="completed",
                                    process_1="cached"), UPSTREAM) == []
    assert unfinished_upstream(_run(load="completed", process_0="completed",
                                    process_1="running"), UPSTREAM) == ["process_1"]
    # started, failed or missing steps are not finished; nor is anything in an empty status
    assert unfinished_upstream(_run(process_0="failed"), UPSTREAM) == list(UPSTREAM)
    assert unfinished_upstream({"metadata": {"name": RUN}}, UPSTREAM) == list(UPSTREAM)
    assert unfinished_upstream(_run(), ()) == []


def test_only_the_running_steps_own_run_is_waited_for(in_step: OwnRun) -> None:
    assert upstream_to_wait_for(_run(), in_step) == UPSTREAM
    other = _run()
    other["metadata"]["name"] = "fan-2"
    assert upstream_to_wait_for(other, in_step) == ()
    recreated = _run()
    recreated["metadata"]["uid"] = "another-uid"  # a new run of the same name
    assert upstream_to_wait_for(recreated, in_step) == ()
    elsewhere = _run()
    elsewhere["metadata"]["namespace"] = "other"
    assert upstream_to_wait_for(elsewhere, in_step) == ()
    assert upstream_to_wait_for(_run(), None) == ()  # not in a step Pod
    assert upstream_to_wait_for(_run(), OwnRun(RUN, UID, NS, ())) == ()  # a first step


class NoIO:
    def get(self, plural: str, name: str) -> dict[str, Any]:
        raise AssertionError("no request expected")

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no request expected")


def test_no_request_outside_a_step_or_once_the_status_shows_the_upstream_steps(
        in_step: OwnRun) -> None:
    done = _run(load="completed", process_0="completed", process_1="completed")
    assert settled(done, NoIO) is done
    set_own_run(None)
    assert own_run() is None
    pending = _run(load="completed", process_0="running")
    assert settled(pending, NoIO) is pending


def test_the_step_waits_on_a_watch_until_its_upstream_steps_are_recorded(
        in_step: OwnRun) -> None:
    """The race a4a8c44 closed in the operator (CI: 'no output of step process_0'): the Pod of
    the fan-in step was created, the status not yet written with the process steps."""
    kube = FakeKube([_run(load="completed", process_0="running", process_1="running")], NS)
    kube.watch_events = [
        ("MODIFIED", _run(rv="11", load="completed", process_0="completed",
                          process_1="running", combine="running")),
        ("MODIFIED", _run(rv="12", load="completed", process_0="completed",
                          process_1="completed", combine="running")),
        ("MODIFIED", _run(rv="13", phase="completed")),  # never read: the wait ended before
    ]
    view = Client(kube=kube).get_pipeline_run(RUN)  # type: ignore[arg-type]
    outputs = {s["name"]: s.get("outputs") for s in view.k8s_status["steps"]}
    assert outputs["process_0"] == {"output": "process_0-output-1"}
    assert outputs["process_1"] == {"output": "process_1-output-1"}
    assert view.metadata["resourceVersion"] == "12"
    assert (kube.watches, len(kube.watch_events)) == (1, 1)


def test_a_restarted_operator_writes_what_the_old_one_had_not(in_step: OwnRun) -> None:
    """The operator crashed after creating the Pod and before its batched write: the stored
    status lacks the upstream steps (here: any step) until the new operator, which adopts the
    Pods and records the finished steps again, writes it; the step waits for that."""
    clock = Clock()
    kube = FakeKube([_run(phase="initialized")], NS)
    kube.watch_events = []  # the old operator is gone: nothing happens for a while
    written = _run(rv="40", load="completed", process_0="completed", process_1="completed")

    def get(plural: str, name: str) -> dict[str, Any]:
        kube.requests += 1
        return copy.deepcopy(written if clock.now >= 3 else kube.store[plural][name])

    kube.get = get  # type: ignore[method-assign]
    got = wait_for_upstream(kube, _run(phase="initialized"), UPSTREAM, 120, clock, clock.sleep)
    assert got["metadata"]["resourceVersion"] == "40"
    assert 3 <= clock.now < 4  # polled (twice-failed watches), half a second apart


def test_a_bounded_wait_fails_naming_the_steps_and_the_operator(in_step: OwnRun) -> None:
    clock = Clock()
    kube = FakeKube([_run(process_0="completed", process_1="running")], NS)
    with pytest.raises(KubelineError, match=r"upstream step\(s\) process_1 completed after "
                                            r"5s.*is the operator running"):
        wait_for_upstream(kube, _run(process_0="completed", process_1="running"), UPSTREAM, 5,
                          clock, clock.sleep)
    assert 5 <= clock.now < 6


def test_a_run_that_ended_or_went_away_is_no_reason_to_wait(in_step: OwnRun) -> None:
    kube = FakeKube([_run()], NS)
    with pytest.raises(KubelineError, match=r"ended \(cancelled\).*process_0, process_1"):
        settled(_run(phase="cancelled"), lambda: kube)
    kube.watch_events = [("DELETED", _run())]
    with pytest.raises(NotFoundError, match="deleted while this step waited"):
        settled(_run(), lambda: kube)
