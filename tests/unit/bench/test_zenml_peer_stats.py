"""The ZenML side-by-side bench's pure parts (bench/peers/zenml_stats.py): the turn order, the
checks on a worker's answer and the table, on made-up samples (no processes, no cluster)."""


import pytest
from bench_modules import load_bench_module

S = load_bench_module("peers/zenml_stats.py")


def worker(**changes):
    answer = {"cached": [0.2, 0.3, 0.25], "lineage": [0.01] * 3, "runs1": [0.02] * 3,
              "run_ids": ["r1", "r2", "r3", "r4"], "cached_step_statuses": ["cached"],
              "runs1_ids": ["r3"] * 3, "lineage_names": ["trained_model"] * 3, "peak_rss": 300.0}
    return {**answer, **changes}


def test_turns_alternate_strictly_starting_with_zenml():
    assert S.turns(3) == ["zenml", "kubeline"] * 3
    with pytest.raises(ValueError):
        S.turns(0)


def test_a_correct_worker_answer_passes_the_checks():
    assert S.check_worker(worker(), 3) == []


@pytest.mark.parametrize("changes, complaint", [
    ({"runs1_ids": ["r4", "r3", "r3"]}, "runs[1] was"),  # the newest, not the one before
    ({"cached_step_statuses": ["cached", "completed"]}, "not all cached"),
    ({"lineage_names": ["trained_model", "training_acc", "trained_model"]}, "lineage lookup"),
    ({"lineage": [0.01, 0.01]}, "lineage: expected 3 samples"),
    ({"run_ids": ["r1"]}, "fewer than two runs"),
    ({"peak_rss": None}, "no peak RSS"),
])
def test_a_worker_answer_that_measured_something_else_is_refused(changes, complaint):
    problems = S.check_worker(worker(**changes), 3)
    assert len(problems) == 1 and complaint in problems[0]


def test_the_table_pools_every_turn_and_divides_the_medians():
    def turn(scale, rss):
        return {"import_s": [0.02 * scale, 0.03 * scale], "import_rss": [20.0 * scale] * 2,
                "cached": [0.1 * scale, 0.2 * scale, 0.3 * scale],
                "lineage": [0.01 * scale] * 3, "runs1": [0.004 * scale] * 3,
                "peak_rss": rss}
    results = {"kubeline": [turn(1, 100.0), turn(1, 120.0)],
               "zenml": [turn(4, 300.0), turn(4, 340.0)]}
    rows = {row.key: (k, z) for row, k, z in S.table(results)}
    k, z = rows["cached"]
    assert (k.median, k.low, k.high, k.n) == (pytest.approx(0.2), 0.1, 0.3, 6)
    assert z.median == pytest.approx(0.8)
    k, z = rows["peak_rss"]
    assert (k.median, k.n, z.median) == (110.0, 2, 320.0)
    lines = S.format_table(S.table(results))
    assert lines[0].startswith("| figure |") and len(lines) == 2 + len(S.ROWS)
    cached = next(line for line in lines if "fully cached" in line)
    assert "| 200 ms (100-300, n=6) | 800 ms (400-1200, n=6) | 0.25x |" in cached
    rss = next(line for line in lines if "SDK peak RSS" in line)
    assert "110 MiB (100-120, n=2)" in rss and "0.34x" in rss


def test_the_load_summary_is_the_median_and_range():
    assert S.load_summary([1.0, 3.0, 2.0]).endswith("2.00 (1.00-3.00)")
