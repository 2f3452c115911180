"""Cache key parts, hit selection and the cache switches (pure)."""

from __future__ import annotations

import pytest
from kubeline.resources.models import (
    RunConfiguration,
    SnapshotSpec,
    StepOutput,
    StepRunConfig,
    StepSpec,
)
from kubeline.resources.run_config import effective_enable_cache
from kubeline_operator.cache_key import (
    PARTS,
    CacheCandidate,
    InputIdentity,
    changed_parts,
    choose_hit,
    compute_cache_info,
)

pytestmark = pytest.mark.unit


def trainer(**kw: object) -> StepSpec:
    base = {"name": "trainer", "id": "trainer", "function": "trainer", "entrypoint": "m:trainer",
            "code_hash": "a" * 64, "outputs": [StepOutput(name="model", materializer="m.Pickle")],
            "env": {"MODE": "fast"}, "cache_version": ""}
    base.update(kw)
    return StepSpec(**base)


INPUTS = {"X": InputIdentity(content_hash="f" * 64, id="uid-1")}
BASE = compute_cache_info(trainer(), "img:1", {"gamma": 0.1}, INPUTS)


@pytest.mark.parametrize(("change", "part"), [
    (lambda: compute_cache_info(trainer(code_hash="b" * 64), "img:1", {"gamma": 0.1}, INPUTS),
     "code"),
    (lambda: compute_cache_info(trainer(), "img:2", {"gamma": 0.1}, INPUTS), "image"),
    (lambda: compute_cache_info(trainer(), "img:1", {"gamma": 0.2}, INPUTS), "parameters"),
    (lambda: compute_cache_info(trainer(), "img:1", {"gamma": 0.1},
                                {"X": InputIdentity(content_hash="e" * 64, id="uid-1")}), "inputs"),
    (lambda: compute_cache_info(
        trainer(outputs=[StepOutput(name="model", materializer="m.Joblib")]), "img:1",
        {"gamma": 0.1}, INPUTS), "outputs"),
    (lambda: compute_cache_info(trainer(env={"MODE": "slow"}), "img:1", {"gamma": 0.1}, INPUTS),
     "env"),
    (lambda: compute_cache_info(trainer(cache_version="2"), "img:1", {"gamma": 0.1}, INPUTS),
     "cacheVersion"),
])
def test_each_part_changes_the_key(change, part: str) -> None:
    other = change()
    assert other.key != BASE.key
    assert changed_parts(BASE, other) == [part]


def test_key_is_deterministic_and_ignores_dict_order() -> None:
    a = compute_cache_info(trainer(), "img:1", {"a": 1, "b": {"y": 2, "x": 1}}, INPUTS)
    b = compute_cache_info(trainer(), "img:1", {"b": {"x": 1, "y": 2}, "a": 1}, INPUTS)
    assert a == b
    assert len(a.key) == 64 and set(a.parts) == set(PARTS)
    assert all(len(v) == 64 for v in a.parts.values())


def test_content_hash_wins_over_id_and_id_used_without_hash() -> None:
    same_content = compute_cache_info(trainer(), "img:1", {"gamma": 0.1},
                                      {"X": InputIdentity(content_hash="f" * 64, id="uid-2")})
    assert same_content.key == BASE.key  # same data saved twice still hits
    by_id = compute_cache_info(trainer(), "img:1", {"gamma": 0.1}, {"X": InputIdentity(id="u1")})
    by_other_id = compute_cache_info(trainer(), "img:1", {"gamma": 0.1},
                                     {"X": InputIdentity(id="u2")})
    assert by_id.key != by_other_id.key


def cand(run: str, end: float, outputs: dict[str, str] | None = None,
         key: str = BASE.key) -> CacheCandidate:
    return CacheCandidate(run=run, step="trainer", outputs=outputs or {"model": f"m-{run}"},
                          end_time=end, key=key)


def test_choose_newest_usable_hit() -> None:
    cands = [cand("r1", 100), cand("r2", 200), cand("r3", 300, key="x" * 64)]
    best = choose_hit(cands, BASE.key, ["model"], 1000, None, lambda _: True)
    assert best is not None and best.run == "r2"


def test_expired_results_are_not_reused() -> None:
    cands = [cand("r1", 100), cand("r2", 900)]
    assert choose_hit(cands, BASE.key, ["model"], 1000, 50, lambda _: True) is None
    best = choose_hit(cands, BASE.key, ["model"], 1000, 200, lambda _: True)
    assert best is not None and best.run == "r2"


def test_missing_outputs_or_deleted_artifacts_are_not_reused() -> None:
    cands = [cand("r1", 100, {"other": "x"}), cand("r2", 200)]
    assert choose_hit(cands, BASE.key, ["model"], 1000, None, lambda n: n != "m-r2") is None


SNAP = SnapshotSpec(pipeline="p", pipeline_name="p", image="i", steps=[trainer()])


@pytest.mark.parametrize(("step_flag", "snap_flag", "run_config", "expected"), [
    (True, True, RunConfiguration(), True),
    (False, True, RunConfiguration(), False),
    (True, False, RunConfiguration(), False),
    (True, True, RunConfiguration(enable_cache=False), False),
    (False, True, RunConfiguration(enable_cache=True), False),  # run-wide on keeps step opt-out
    (True, False, RunConfiguration(enable_cache=True), True),
    (True, True, RunConfiguration(steps={"trainer": StepRunConfig(enable_cache=False)}), False),
    (False, False, RunConfiguration(steps={"trainer": StepRunConfig(enable_cache=True)}), True),
])
def test_enable_cache_switches(step_flag: bool, snap_flag: bool, run_config: RunConfiguration,
                               expected: bool) -> None:
    snap = SNAP.model_copy(update={"enable_cache": snap_flag})
    assert effective_enable_cache(trainer(enable_cache=step_flag), snap, run_config) is expected
