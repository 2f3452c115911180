"""Operator settings from the environment, operator classes, step Pod pinning, and the
finished-run fast path (pure)."""

from __future__ import annotations

import pytest
from kubeline.resources.models import SnapshotSpec, StepSpec
from kubeline.resources.names import LABEL_OPERATOR_CLASS
from kubeline_operator.controller import finished_run_needs_work
from kubeline_operator.observe import PodObservation
from kubeline_operator.pod_spec import PodSettings, RunRef, build_step_pod
from kubeline_operator.settings import OperatorSettings

pytestmark = pytest.mark.unit

STEP = StepSpec(name="s0", id="s0", function="s0", entrypoint="m:s0", code_hash="0" * 64)
SNAP = SnapshotSpec(pipeline="p", pipeline_name="p", image="img:1", steps=[STEP])
RUN = RunRef(name="r", uid="u", namespace="ns", pipeline="p", snapshot="snap")


def test_defaults_pin_nothing_and_own_unlabelled_runs():
    s = OperatorSettings.from_env({})
    assert s.operator_class == "" and s.pod.node_selector == () and s.pod.tolerations == ()
    assert s.owns({}) and s.owns(None) and s.owns({"other": "x"})
    assert not s.owns({LABEL_OPERATOR_CLASS: "bench"})
    assert not s.owns({LABEL_OPERATOR_CLASS: ""})  # as the server-side selector sees it
    assert s.class_selector() == f"!{LABEL_OPERATOR_CLASS}"


def test_operator_class_owns_only_its_labelled_runs():
    s = OperatorSettings.from_env({"KUBELINE_OPERATOR_CLASS": " bench "})
    assert s.operator_class == "bench" and s.pod.operator_class == "bench"
    assert s.owns({LABEL_OPERATOR_CLASS: "bench"})
    assert not s.owns({}) and not s.owns({LABEL_OPERATOR_CLASS: "other"})
    assert s.class_selector() == f"{LABEL_OPERATOR_CLASS}=bench"


def test_node_selector_and_tolerations_reach_the_pod():
    s = OperatorSettings.from_env({
        "KUBELINE_STEP_NODE_SELECTOR": "type=kwok, zone=a",
        "KUBELINE_STEP_TOLERATIONS": '[{"key": "kwok.x-k8s.io/node", "operator": "Exists"}]',
        "KUBELINE_OPERATOR_CLASS": "bench",
    })
    pod = build_step_pod(RUN, SNAP, STEP, 1, {}, {}, "bucket", s.pod)
    assert pod["spec"]["nodeSelector"] == {"type": "kwok", "zone": "a"}
    assert pod["spec"]["tolerations"] == [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}]
    assert pod["metadata"]["labels"][LABEL_OPERATOR_CLASS] == "bench"


def test_default_pod_has_no_pinning_or_class_label():
    pod = build_step_pod(RUN, SNAP, STEP, 1, {}, {}, "bucket", PodSettings())
    assert "nodeSelector" not in pod["spec"] and "tolerations" not in pod["spec"]
    assert LABEL_OPERATOR_CLASS not in pod["metadata"]["labels"]


@pytest.mark.parametrize("env, message", [
    ({"KUBELINE_STEP_NODE_SELECTOR": "type"}, "key=value"),
    ({"KUBELINE_STEP_NODE_SELECTOR": "=kwok"}, "key=value"),
    ({"KUBELINE_STEP_TOLERATIONS": "not json"}, "JSON list"),
    ({"KUBELINE_STEP_TOLERATIONS": '{"key": "a"}'}, "JSON list of toleration objects"),
    ({"KUBELINE_API_QPS": "fast"}, "KUBELINE_API_QPS must be a number"),
    # a step that reads its own run waits at most 120 s for the record of its upstream steps
    ({"KUBELINE_STATUS_BATCH_SECONDS": "120"}, "below 120 .*waits that long"),
    ({"KUBELINE_STATUS_BATCH_SECONDS": "-1"}, "at least 0"),
])
def test_bad_settings_say_what_to_fix(env, message):
    with pytest.raises(ValueError, match=message):
        OperatorSettings.from_env(env)


def pod(phase: str, deleting: bool = False) -> PodObservation:
    return PodObservation(name="p", step="s0", attempt=1, phase=phase, deleting=deleting)


@pytest.mark.parametrize("status, spec, pods, needed", [
    ({}, {}, [], True),  # new run
    ({"phase": "running"}, {}, [], True),
    ({"phase": "completed"}, {}, [], False),
    ({"phase": "failed"}, {}, [pod("Failed")], False),
    ({"phase": "cancelled"}, {}, [pod("Running")], True),  # a Pod left running: stop it
    ({"phase": "cancelled"}, {}, [pod("Running", deleting=True)], False),
    ({"phase": "completed"}, {"ttlSecondsAfterFinished": 5}, [pod("Succeeded")], True),
    ({"phase": "completed"}, {"ttlSecondsAfterFinished": 5}, [], False),  # TTL done
    ({"phase": "completed"}, {"ttlSecondsAfterFinished": 5, "deleteAfterTtl": True}, [], True),
])
def test_finished_run_needs_work(status, spec, pods, needed):
    assert finished_run_needs_work({"status": status, "spec": spec}, pods) is needed


def test_pipeline_ops_fold_into_one_patch_with_consecutive_indexes():
    from kubeline_operator.bookkeeping import fold_pipeline_ops

    out: list = []
    ops = [("admit", "r5"), ("admit", "r6"), ("admit", "r4"), ("finish", "r5", "1"),
           ("finish", "r6", "")]
    patch = fold_pipeline_ops({"runCount": 4, "recentRuns": ["r4", "r3"]}, ops, out)
    assert out == [5, 6, 4, None, None]  # r4 was admitted before: same index
    assert patch == {"runCount": 6, "lastRun": "r6", "recentRuns": ["r6", "r5", "r4", "r3"],
                     "lastSuccessfulRun": "r5"}
    assert fold_pipeline_ops({"runCount": 1, "recentRuns": ["a"]}, [("admit", "a")], []) is None


def test_cache_index_replaces_and_forgets_a_runs_entries():
    from kubeline_operator.cache_key import CacheCandidate
    from kubeline_operator.handlers import cache_candidates
    from kubeline_operator.stores import Stores

    body = {"metadata": {"name": "r1"}, "status": {"steps": [
        {"name": "a", "phase": "completed", "endTime": "2026-01-01T00:00:00Z",
         "cache": {"key": "k1"}, "outputs": {"o": "av-1"}},
        {"name": "b", "phase": "failed", "endTime": "2026-01-01T00:00:00Z",
         "cache": {"key": "k2"}},
        {"name": "c", "phase": "completed", "cache": {"key": "k3"}},  # no endTime yet
    ]}}
    found = cache_candidates(body)
    assert [(c.run, c.step, c.key, dict(c.outputs)) for c in found] == [
        ("r1", "a", "k1", {"o": "av-1"})]
    stores = Stores()
    stores.index_run("ns", "r1", found)
    stores.index_run("ns", "r2", [CacheCandidate("r2", "a", {}, 1.0, "k1")])
    assert {c.run for c in stores.candidates("ns", "k1")} == {"r1", "r2"}
    assert stores.candidates("other", "k1") == []
    stores.index_run("ns", "r1", [])  # deleted
    assert [c.run for c in stores.candidates("ns", "k1")] == ["r2"]
    stores.index_run("ns", "r2", [CacheCandidate("r2", "a", {}, 1.0, "k9")])  # replaced
    assert stores.candidates("ns", "k1") == [] and stores.cache_keys.keys() == {("ns", "k9")}


def test_group_commit_batches_ops_that_arrive_while_a_patch_is_in_flight():
    import asyncio

    from kubeline_operator import bookkeeping

    class FakeApi:
        def __init__(self) -> None:
            self.patches: list[dict] = []
            self.obj = {"metadata": {"resourceVersion": "1"}, "status": {"runCount": 0}}

        async def get(self, plural, namespace, name):
            return self.obj

        async def patch_status(self, plural, namespace, name, body):
            await asyncio.sleep(0.01)
            self.patches.append(body["status"])
            status = {**self.obj["status"], **body["status"]}
            rv = str(int(self.obj["metadata"]["resourceVersion"]) + 1)
            self.obj = {"metadata": {"resourceVersion": rv}, "status": status}
            return self.obj

    async def scenario() -> tuple[list[int | None], list[dict]]:
        api = FakeApi()
        commit = bookkeeping.GroupCommit("pipelines", bookkeeping.fold_pipeline_ops, 0.05)
        first = commit.submit(api, "ns", "p-run-index", ("admit", "r1"))
        await asyncio.sleep(0.001)  # its patch is in flight now
        rest = [commit.submit(api, "ns", "p-run-index", ("admit", f"r{i}")) for i in (2, 3, 4)]
        finish = commit.submit(api, "ns", "p-run-index", ("finish", "r1", "1"))
        indexes = [await f for f in (first, *rest)]
        await finish
        return indexes, api.patches

    indexes, patches = asyncio.run(scenario())
    assert indexes == [1, 2, 3, 4]
    assert len(patches) == 2  # r1 alone at once; r2-r4 and the finish while it was in flight
    assert patches[1]["runCount"] == 4 and patches[1]["lastSuccessfulRun"] == "r1"
