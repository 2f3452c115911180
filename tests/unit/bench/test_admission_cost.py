"""bench/admission_cost.py's pure parts: the CRD variants, the rotating order, the metrics and
audit-log arithmetic (no API server, no timing)."""

import json

import yaml
from bench_modules import ROOT, load_bench_module

AC = load_bench_module("admission_cost.py")

CRD = yaml.safe_load((ROOT / "charts/kubeline/crds/kubeline.dev_pipelineruns.yaml").read_text())


def _rules(node):
    if isinstance(node, dict):
        return len(node.get("x-kubernetes-validations", [])) + sum(map(_rules, node.values()))
    if isinstance(node, list):
        return sum(map(_rules, node))
    return 0


def test_variants_keep_the_kind_under_their_own_group_and_drop_only_what_they_name():
    same = AC.variant_crd(CRD, "plain.admit.test")
    assert same["metadata"] == {"name": "pipelineruns.plain.admit.test"}
    assert same["spec"]["group"] == "plain.admit.test"
    assert same["spec"]["names"] == CRD["spec"]["names"]
    assert _rules(same) == _rules(CRD) >= 8
    nocel = AC.variant_crd(CRD, "nocel.admit.test", cel=False)
    assert _rules(nocel) == 0
    props = nocel["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert props["spec"]["properties"]["snapshot"]["maxLength"] == 253  # the schema stays
    bare = AC.variant_crd(CRD, "noschema.admit.test", schema=False)
    version = bare["spec"]["versions"][0]
    assert version["schema"] == {"openAPIV3Schema": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    assert "selectableFields" not in version
    assert CRD["spec"]["group"] == "kubeline.dev" and _rules(CRD) >= 8  # input untouched


def test_rotations_give_every_variant_every_position():
    orders = list(AC.rotations(["a", "b", "c"], 4))
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_histogram_sums_only_the_matching_series():
    text = "\n".join([
        "# HELP x", 'req_seconds_bucket{verb="POST",group="g",le="1"} 9',
        'req_seconds_sum{verb="POST",group="g",resource="r"} 0.5',
        'req_seconds_count{verb="POST",group="g",resource="r"} 10',
        'req_seconds_sum{verb="POST",group="g",resource="other"} 7',
        'req_seconds_count{verb="POST",group="g",resource="other"} 1',
        'req_seconds_sum{verb="GET",group="g",resource="r"} 3',
        'req_seconds_count{verb="GET",group="g",resource="r"} 3'])
    assert AC.histogram(text, "req_seconds", {"verb": "POST", "resource": "r"}) == (0.5, 10)
    assert AC.histogram(text, "req_seconds", {"verb": "POST"}) == (7.5, 11)
    assert AC.histogram(text, "req_seconds", {"verb": "DELETE"}) == (0, 0)


def _event(verb, resource, name, received, stored, ns="kl", stage="ResponseComplete"):
    return json.dumps({
        "stage": stage, "verb": verb,
        "objectRef": {"namespace": ns, "resource": resource, "name": name},
        "requestReceivedTimestamp": f"2026-12-01T18:00:00.{received:06d}Z",
        "stageTimestamp": f"2026-12-01T18:00:00.{stored:06d}Z"})


def test_admissions_split_a_run_into_its_post_the_reaction_and_the_pod_post():
    lines = [
        _event("create", "pipelineruns", "r-1", 0, 4000),
        _event("create", "pipelineruns", "r-1", 0, 4000, stage="RequestReceived"),
        _event("watch", "pods", "", 4100, 4100),
        _event("patch", "snapshots", "chain3", 6000, 9000),
        _event("create", "events", "r-1.abc", 7000, 8000),
        _event("create", "pods", "r-1-s0-1", 10000, 15000),
        _event("create", "pods", "r-1-s1-1", 30000, 31000),  # a later Pod: not the first
        _event("create", "pipelineruns", "r-2", 40000, 41000),  # no Pod yet: left out
        _event("create", "pods", "x-s0-1", 1000, 2000, ns="other"),
    ]
    got = AC.admissions(lines, "kl", "pipelineruns", lambda pod: pod.split("-s0-")[0])
    assert set(got) == {"r-1"}
    a = got["r-1"]
    assert abs(a.run_post - 0.004) < 1e-6
    assert abs(a.reaction - 0.006) < 1e-6
    assert abs(a.pod_post - 0.005) < 1e-6
    assert abs(a.total - 0.015) < 1e-6
    assert a.before_pod == 2  # the snapshot patch and the event; the watch is not counted
