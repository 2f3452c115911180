"""The Argo side-by-side bench's pure parts: the workloads as Argo Workflows and Kubeline
Snapshots, the Pod keys, the etcd byte attribution and the ratio table (no cluster, no timing)."""

import math

import pytest
from bench_modules import load_bench_module

W = load_bench_module("peers/argo_workloads.py")


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
    text = W.table(results, [("matched", "100 QPS")], {"matched": {"argo": {"chain200_s"}}},
                   {"matched": {"kubeline": 2, "argo": 1}})
    lines = text.splitlines()
    assert lines[0].startswith("| figure | unit | Kubeline (100 QPS; 2 turns) | "
                               "Argo (100 QPS; 1 turn) |")
    assert len(lines) == 2 + len(W.ROWS)
    row = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert row["throughput, 3-step runs, 50 in flight"].endswith("| 3,000 | 1,000 | 3.00 |")
    assert row["step transition p99, 1 run"].endswith("| 120 | 100 | 0.83 |")
    assert row["200-step run, create -> finished"].endswith("| 40 | > 240 | ≥ 6.00 |")
    assert row["etcd bytes per 3-step run"].endswith("| — | — | — |")
    assert W.behind(results, "matched") == ["trans1_p99"]


def test_a_bound_on_kubelines_side_bounds_the_advantage_the_other_way():
    lat = next(r for r in W.ROWS if r.key == "chain200_s")
    tput = next(r for r in W.ROWS if r.key == "throughput")
    assert W.advantage_text(lat, 240.0, 480.0, k_capped=True) == "≤ 2.00"
    assert W.advantage_text(lat, 240.0, 480.0, a_capped=True) == "≥ 2.00"
    assert W.advantage_text(lat, 240.0, 240.0, k_capped=True, a_capped=True) == "—"
    assert W.advantage_text(tput, 100.0, 50.0, a_capped=True) == "≤ 2.00"


def test_behind_leaves_out_rows_known_only_as_a_lower_bound():
    # Argo's 200-step run cut off after a part of it: its bytes so far are less than
    # Kubeline's whole run, which says nothing about which stores less.
    results = {"matched": {"kubeline": {"etcd_chain200": 1400.0, "etcd_step200": 7.0},
                           "argo": {"etcd_chain200": 300.0, "etcd_step200": 10.0}}}
    assert W.behind(results, "matched") == ["etcd_chain200"]
    assert W.behind(results, "matched", {"argo": {"etcd_chain200"}}) == []
    assert W.behind(results, "matched", {"kubeline": {"etcd_chain200"}, "argo": set()}) == []


SAME = {"matched": "matched", "defaults": "matched"}  # Kubeline's defaults = matched budget


def test_default_order_alternates_with_a_kubeline_turn_before_each_argo_turn():
    assert W.default_order(["matched", "defaults"], SAME) == [
        ("kubeline", "matched"), ("argo", "matched"), ("kubeline", "matched"),
        ("argo", "defaults")]
    other = {"matched": "matched", "defaults": "defaults"}
    assert W.default_order(["matched", "defaults"], other) == [
        ("kubeline", "matched"), ("argo", "matched"), ("kubeline", "defaults"),
        ("argo", "defaults")]


def test_parse_order_and_its_errors():
    assert W.parse_order("kubeline:matched, argo:defaults,", ["matched", "defaults"]) == [
        ("kubeline", "matched"), ("argo", "defaults")]
    for bad in ("zenml:matched", "argo:tuned", "argo", ""):
        with pytest.raises(ValueError):
            W.parse_order(bad, ["matched", "defaults"])


def test_parse_phases_and_its_errors():
    assert W.parse_phases("chain200, throughput,") == {"chain200", "throughput"}
    assert W.parse_phases(",".join(W.PHASES)) == set(W.PHASES)
    for bad in ("", ",", "chain200,latency"):
        with pytest.raises(ValueError, match="expected some of admission"):
            W.parse_phases(bad)


def test_combine_takes_medians_over_the_turns_each_column_has():
    turns = [
        W.Turn("kubeline", "matched", {"throughput": 2000.0, "admit_p50": 30.0}),
        W.Turn("argo", "matched", {"throughput": 1000.0, "chain200_s": 240.0},
               capped={"chain200_s"}),
        W.Turn("kubeline", "matched", {"throughput": 3000.0, "admit_p50": math.nan}),
        W.Turn("argo", "defaults", {"throughput": 300.0}),
    ]
    results, capped, counts = W.combine(turns, ["matched", "defaults"], SAME)
    assert counts == {"matched": {"kubeline": 2, "argo": 1},
                      "defaults": {"kubeline": 2, "argo": 1}}
    assert results["matched"]["kubeline"]["throughput"] == 2500.0  # median of 2: their mean
    assert results["defaults"]["kubeline"] == results["matched"]["kubeline"]
    assert results["matched"]["kubeline"]["admit_p50"] == 30.0  # a NaN is not a sample
    assert results["matched"]["argo"]["throughput"] == 1000.0
    assert results["defaults"]["argo"] == {"throughput": 300.0}
    assert capped["matched"]["argo"] == {"chain200_s"} and capped["defaults"]["argo"] == set()
    # Kubeline under other settings serves only its own column.
    _, _, counts = W.combine(turns, ["matched", "defaults"],
                             {"matched": "matched", "defaults": "defaults"})
    assert counts["defaults"] == {"argo": 1}


def test_turn_table_has_a_column_per_turn_and_the_load():
    turns = [W.Turn("kubeline", "matched", {"throughput": 2000.0}, load={"load_mean": 2.5},
                    minutes=5.2),
             W.Turn("argo", "defaults", {"chain200_s": 120.0}, capped={"chain200_s"},
                    minutes=12.8, failed=True)]
    lines = W.turn_table(turns).splitlines()
    assert lines[0] == ("| figure | unit | 1: kubeline matched | "
                        "2: argo defaults (cut short) |")
    row = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert row["throughput, 3-step runs, 50 in flight"].endswith("| 2,000 | — |")
    assert row["200-step run, create -> finished"].endswith("| — | > 120 |")
    assert row["load average 1 min, mean over the turn"].endswith("| 2.5 | — |")
    assert row["turn length"].endswith("| 5.2 | 12.8 |")
    assert "etcd bytes per 3-step run" not in row  # no turn has it
    assert turns[1].to_json()["capped"] == ["chain200_s"]


def _sample(name: str, value: float, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "} " + str(value)


_POST = {"component": "apiserver", "dry_run": "", "group": "kubeline.dev",
         "resource": "pipelineruns", "scope": "resource", "subresource": "", "verb": "POST",
         "version": "v1alpha1"}
_PATCH = {**_POST, "subresource": "status", "verb": "PATCH"}
_DURATION = "apiserver_request_duration_seconds"


def _metrics(post_sum: float, post_count: int) -> str:
    return "\n".join([
        "# HELP apiserver_request_duration_seconds x",
        _sample(_DURATION + "_sum", post_sum, **_POST),
        _sample(_DURATION + "_count", post_count, **_POST),
        _sample(_DURATION + "_count", 5, **_PATCH),
        _sample(_DURATION + "_sum", 9.0, **_PATCH),
        _sample("apiserver_request_total", 7, code="201", group="", resource="pods",
                subresource="", verb="POST"),
        _sample("apiserver_request_total", 3, code="201", group="events.k8s.io",
                resource="events", subresource="", verb="POST"),
        _sample("apiserver_request_total", 2, code="201", group="", resource="events",
                subresource="", verb="POST"),
        _sample("apiserver_request_total", 1, code="409", group="", resource="pods",
                subresource="", verb="POST"),
        "process_cpu_seconds_total 12.5",
    ]) + "\n"


METRICS_BEFORE, METRICS_AFTER = _metrics(1.0, 10), _metrics(1.5, 20)


def test_api_server_metrics_parsing():
    assert W.split_labels('a="x",b="y,z=1",c="q\\"r"') == {"a": "x", "b": "y,z=1", "c": 'q"r'}
    got = W.series(METRICS_BEFORE, "apiserver_request_duration_seconds_count")
    assert [v for _, v in got] == [10.0, 5.0]
    assert W.series(METRICS_BEFORE, "apiserver_request_duration_seconds") == []  # exact name
    n, ms = W.histogram_mean_ms(METRICS_BEFORE, METRICS_AFTER,
                                "apiserver_request_duration_seconds",
                                {"verb": "POST", "resource": "pipelineruns", "subresource": None})
    assert n == 10 and ms == pytest.approx(50.0)
    n, ms = W.histogram_mean_ms(METRICS_BEFORE, METRICS_AFTER,
                                "apiserver_request_duration_seconds", {"resource~": "pipeline"})
    assert n == 10
    n, ms = W.histogram_mean_ms(METRICS_BEFORE, METRICS_AFTER, "no_such_metric", {})
    assert n == 0 and math.isnan(ms)
    assert W.series(METRICS_BEFORE, "process_cpu_seconds_total") == [({}, 12.5)]
    assert W.request_counts(METRICS_BEFORE) == {("POST", "pods", ""): 8,
                                                ("POST", "events.k8s.io/events", ""): 3,
                                                ("POST", "events", ""): 2}
