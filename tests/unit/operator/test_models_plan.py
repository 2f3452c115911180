"""The model control plane's pure rules: stage requests, history, lookups, name templates."""

from __future__ import annotations

import pytest
from kubeline.resources.names import format_name_template
from kubeline_operator.models_plan import (
    VersionEntry,
    find_link,
    find_version,
    model_status,
    plan_stages,
)

NOW = "2026-12-01T10:00:00Z"


def _v(n: int, requested: str = "none", stage: str | None = "none", rv: int = 0,
       **kw: object) -> VersionEntry:
    """Version ``n``; ``rv``: its resourceVersion (the order its last write was accepted)."""
    return VersionEntry(name=f"m-{n}", model="m", version=str(n), requested=requested,
                        stage=stage, number=n, created=float(n),
                        resource_version=str(rv or 100 + n), **kw)  # type: ignore[arg-type]


def _by_name(plan: object) -> dict[str, object]:
    return {u.name: u for u in plan.updates}  # type: ignore[attr-defined]


def test_promotion_archives_the_previous_holder_first() -> None:
    plan = plan_stages([_v(1, "production", "production"), _v(2, "production", "none", 205,
                                                                 changed_by="alice")], NOW)
    updates = _by_name(plan)
    old, new = updates["m-1"], updates["m-2"]
    assert old.spec_stage == "archived" and old.status["stage"] == "archived"
    assert old.status["stageHistory"][-1] == {
        "stage": "archived", "previous": "production", "time": NOW,
        "reason": "ArchivedByPromotion", "user": "alice",
        "message": "version 2 was promoted to production"}
    assert new.spec_stage is None and new.status["stage"] == "production"
    assert new.status["stageHistory"] == [{"stage": "production", "previous": "none",
                                           "time": NOW, "reason": "Requested", "user": "alice"}]
    assert new.clear_changed_by and not old.clear_changed_by
    # The displaced holder is written before the new one: never two in production.
    assert [u.name for u in plan.updates] == ["m-1", "m-2"]
    assert plan.model_status["productionVersion"] == "2"


def test_racing_promotions_keep_one_production_the_later_request_wins() -> None:
    plan = plan_stages([_v(1, "production", "none", 210), _v(2, "production", "none", 209),
                        _v(3, "staging", "staging")], NOW)
    updates = _by_name(plan)
    assert updates["m-1"].status["stage"] == "production"
    assert updates["m-2"].status["stage"] == "archived"
    assert updates["m-2"].spec_stage == "archived"
    assert [h["stage"] for h in updates["m-2"].status["stageHistory"]] == [
        "production", "archived"]
    assert "m-3" not in updates  # nothing asked of it
    assert plan.model_status["productionVersion"] == "1"
    assert plan.model_status["stagingVersion"] == "3"
    final = {n: u.status["stage"] for n, u in updates.items()}
    assert list(final.values()).count("production") == 1


def test_requests_are_ordered_by_resource_version_as_numbers_not_names_or_numbers() -> None:
    """The last request the API server accepted wins: resourceVersion order (as numbers:
    "1000" is after "999"), not the version number, the name or the creation time."""
    for order in ([1, 2, 3], [3, 1, 2], [2, 3, 1]):
        rvs = dict(zip(order, (999, 1000, 1001), strict=True))  # order[-1] accepted last
        plan = plan_stages([_v(n, "production", "none", rvs[n]) for n in (1, 2, 3)], NOW)
        final = {u.name: u.status["stage"] for u in plan.updates}
        assert final == {f"m-{n}": "production" if n == order[-1] else "archived"
                         for n in (1, 2, 3)}, order
        assert plan.model_status["productionVersion"] == str(order[-1])


def test_archived_and_none_are_not_exclusive() -> None:
    plan = plan_stages([_v(1, "archived", "archived"), _v(2, "archived", "none", 201)], NOW)
    updates = _by_name(plan)
    assert set(updates) == {"m-2"} and updates["m-2"].status["stage"] == "archived"


def test_a_second_holder_from_a_hand_edited_status_is_archived() -> None:
    hist = ({"stage": "production", "time": "2026-12-01T09:00:00Z"},)
    newer = ({"stage": "production", "time": "2026-12-01T09:30:00Z"},)
    plan = plan_stages([_v(1, "production", "production", history=hist),
                        _v(2, "production", "production", history=newer)], NOW)
    updates = _by_name(plan)
    assert set(updates) == {"m-1"} and updates["m-1"].status["stage"] == "archived"


def test_history_is_bounded() -> None:
    long = tuple({"stage": "staging", "time": f"t{i}"} for i in range(20))
    plan = plan_stages([_v(1, "production", "staging", history=long)], NOW)
    hist = _by_name(plan)["m-1"].status["stageHistory"]
    assert len(hist) == 20 and hist[-1]["stage"] == "production" and hist[0]["time"] == "t1"


def test_new_versions_get_their_stage_initialised_without_history() -> None:
    plan = plan_stages([_v(1, "none", None)], NOW)
    assert _by_name(plan)["m-1"].status == {"stage": "none"}
    assert plan_stages([_v(1)], NOW).updates == []


def test_find_version_by_stage_number_name_latest() -> None:
    versions = [_v(1, "archived", "archived"), _v(2, "production", "production"),
                VersionEntry("m-x", "m", "v1.2", number=3, created=3.0)]
    assert find_version(versions, "production").version == "2"  # type: ignore[union-attr]
    assert find_version(versions, "latest").version == "v1.2"  # type: ignore[union-attr]
    assert find_version(versions, None).version == "v1.2"  # type: ignore[union-attr]
    assert find_version(versions, "3").version == "v1.2"  # type: ignore[union-attr]
    assert find_version(versions, "v1.2").number == 3  # type: ignore[union-attr]
    assert find_version(versions, "staging") is None
    assert find_version(versions, "9") is None
    # A stage asked for but not applied yet does not count.
    assert find_version([_v(1, "production", "none")], "production") is None


def test_find_link_by_type_and_version() -> None:
    v = VersionEntry("m-1", "m", "1", artifacts=(
        {"name": "trained_model", "artifactVersion": "a1", "type": "model"},
        {"name": "dataset", "artifactVersion": "d1", "type": "data"},
        {"name": "trained_model", "artifactVersion": "a2", "type": "model"}))
    assert find_link(v, "trained_model", "model")["artifactVersion"] == "a2"  # type: ignore[index]
    assert find_link(v, "dataset", "model") is None
    assert find_link(v, "dataset")["artifactVersion"] == "d1"  # type: ignore[index]
    versions = {"a1": "1", "a2": "2"}
    found = find_link(v, "trained_model", "model", "1", lambda lk: versions[lk["artifactVersion"]])
    assert found["artifactVersion"] == "a1"  # type: ignore[index]


def test_model_status_pointers() -> None:
    st = model_status([_v(1, "archived", "archived"), _v(2, "production", "production"),
                       _v(3, "staging", "staging"), _v(4, deleting=True)])
    assert st == {"latestVersion": "3", "productionVersion": "2", "stagingVersion": "3",
                  "versionCount": 3}


def test_name_templates_as_zenml() -> None:
    when = 1764583200.5  # 2025-12-01 10:00:00.5 UTC
    assert format_name_template("run_{date}_{time}", when) == "run_2025_12_01_10_00_00_500000"
    assert format_name_template("plain", when) == "plain"
    with pytest.raises(KeyError, match="Missing key: 'foo'"):
        format_name_template("v_{foo}", when)
