"""The Argo side-by-side bench's pure parts: the workloads as Argo Workflows and Kubeline
Snapshots, the Pod keys, the etcd byte attribution and the ratio table (no cluster, no timing)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "bench" / "peers" / "argo_workloads.py"
_spec = importlib.util.spec_from_file_location("argo_workloads", _PATH)
assert _spec and _spec.loader
W = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("argo_workloads", W)
_spec.loader.exec_module(W)


def test_the_three_workloads_have_the_issue_shapes():
    chain3, fan20, chain200 = (W.WORKLOADS[k] for k in ("chain3", "fan20", "chain200"))
    assert chain3 == [("s0", []), ("s1", ["s0"]), ("s2", ["s1"])]
    assert len(chain200) == 200 and chain200[-1] == ("s199", ["s198"])
    assert len(fan20) == 22
    assert fan20[0] == ("s0", [])
    assert all(after == ["s0"] for _, after in fan20[1:21])
    assert fan20[-1] == ("s21", [f"s{i}" for i in range(1, 21)])


def test_argo_workflow_is_a_pinned_dag_of_the_shape():
    wf = W.argo_workflow("wf-1", "ns", W.WORKLOADS["fan20"], "node-a", "img:0", "bench/node",
                         "kwok.x-k8s.io/node")
    assert (wf["apiVersion"], wf["kind"]) == ("argoproj.io/v1alpha1", "Workflow")
    assert wf["metadata"] == {"name": "wf-1", "namespace": "ns"}
    spec = wf["spec"]
    assert spec["nodeSelector"] == {"bench/node": "node-a"}
    assert spec["tolerations"] == [{"key": "kwok.x-k8s.io/node", "operator": "Exists",
                                    "effect": "NoSchedule"}]
    main = next(t for t in spec["templates"] if t["name"] == spec["entrypoint"])
    tasks = {t["name"]: t for t in main["dag"]["tasks"]}
    assert len(tasks) == 22 and "dependencies" not in tasks["s0"]
    assert tasks["s5"]["dependencies"] == ["s0"]
    assert tasks["s21"]["dependencies"] == [f"s{i}" for i in range(1, 21)]
    assert {t["template"] for t in tasks.values()} == {"noop"}
    noop = next(t for t in spec["templates"] if t["name"] == "noop")
    assert noop["container"]["image"] == "img:0"


def test_kubeline_snapshot_has_the_same_dag():
    snap = W.kubeline_snapshot("fan20", W.WORKLOADS["fan20"], "img:0")
    assert snap["kind"] == "Snapshot" and snap["metadata"]["name"] == "fan20"
    steps = {s["name"]: s for s in snap["spec"]["steps"]}
    assert len(steps) == 22
    assert steps["s0"].get("after", []) == []
    assert steps["s21"]["after"] == [f"s{i}" for i in range(1, 21)]
    assert snap["spec"]["enableCache"] is False


def test_pod_keys_of_both_systems():
    argo_pod = {"metadata": {"labels": {"workflows.argoproj.io/workflow": "tput-00001"},
                             "annotations": {"workflows.argoproj.io/node-name": "tput-00001.s2"}}}
    assert W.argo_step(argo_pod) == ("tput-00001", "s2")
    kl_pod = {"metadata": {"labels": {"kubeline.dev/run": "r1", "kubeline.dev/step": "s1"}}}
    assert W.kubeline_step(kl_pod) == ("r1", "s1")
    assert W.kubeline_step({"metadata": {}}) == ("", "")


def test_run_bytes_counts_the_run_its_pods_and_events_only():
    keys = {
        "/registry/argoproj.io/workflows/ns/adm-00001": 1000,
        "/registry/pods/ns/adm-00001-noop-123": 300,
        "/registry/events/ns/adm-00001.18a": 50,
        "/registry/events/ns/adm-00001-noop-123.18b": 20,
        "/registry/pods/ns/adm-000010-noop-9": 7,  # another run whose name starts alike
        "/registry/pods/ns/adm-00002-noop-1": 9,
    }
    assert W.run_bytes(keys, "adm-00001") == 1370


def test_percentiles_and_medians():
    values = [float(v) for v in range(1, 101)]
    assert W.percentile(values, 50) == 50.0 and W.percentile(values, 99) == 99.0
    assert W.percentile([3.0], 99) == 3.0
    assert math.isnan(W.percentile([], 50)) and math.isnan(W.median([]))


def test_advantage_is_times_better_in_the_rows_direction():
    tput = next(r for r in W.ROWS if r.key == "throughput")
    lat = next(r for r in W.ROWS if r.key == "trans1_p99")
    assert W.advantage(tput, 3000, 1500) == pytest.approx(2.0)
    assert W.advantage(lat, 100, 400) == pytest.approx(4.0)
    assert W.advantage(lat, 400, 100) == pytest.approx(0.25)
    assert math.isnan(W.advantage(lat, math.nan, 100))


def test_table_and_behind():
    results = {"matched": {"kubeline": {"throughput": 3000.0, "trans1_p99": 120.0,
                                        "chain200_s": 40.0},
                           "argo": {"throughput": 1000.0, "trans1_p99": 100.0,
                                    "chain200_s": 240.0}}}
    text = W.table(results, [("matched", "100 QPS")], {"matched": {"chain200_s"}})
    lines = text.splitlines()
    assert lines[0].startswith("| figure | unit | Kubeline (100 QPS) | Argo (100 QPS) |")
    assert len(lines) == 2 + len(W.ROWS)
    row = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert row["throughput, 3-step runs, 50 in flight"].endswith("| 3,000 | 1,000 | 3.00 |")
    assert row["step transition p99, 1 run"].endswith("| 120 | 100 | 0.83 |")
    assert row["200-step run, create -> finished"].endswith("| 40 | > 240 | ≥ 6.00 |")
    assert row["etcd bytes per 3-step run"].endswith("| — | — | — |")
    assert W.behind(results, "matched") == ["trans1_p99"]


def test_behind_leaves_out_rows_known_only_as_a_lower_bound():
    # Argo's 200-step run cut off after a part of it: its bytes so far are less than
    # Kubeline's whole run, which says nothing about which stores less.
    results = {"matched": {"kubeline": {"etcd_chain200": 1400.0, "etcd_step200": 7.0},
                           "argo": {"etcd_chain200": 300.0, "etcd_step200": 10.0}}}
    assert W.behind(results, "matched") == ["etcd_chain200"]
    assert W.behind(results, "matched", {"etcd_chain200"}) == []
