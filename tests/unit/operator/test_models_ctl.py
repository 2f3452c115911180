"""ModelControl against an in-memory API server with resourceVersion semantics.

Two controllers (two operator processes, so no shared lock) allocate version numbers for
runs at the same time: the compare-and-swap on the Model's status.lastNumber gives each
run its own number. Stage requests are applied with every write guarded by the version
planned from.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from typing import Any

from kubeline.resources.models import (
    ModelArtifactRef,
    ModelConfig,
    SnapshotSpec,
    StepInput,
    StepOutput,
    StepSpec,
)
from kubeline_operator.api import Conflict, Gone
from kubeline_operator.models_ctl import ModelControl, version_entry

NS = "ml"


class FakeApi:
    """get/create/patch/patch_status of custom objects; a stale resourceVersion conflicts."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.rv = itertools.count(1)
        self.writes = 0

    async def _yield(self) -> None:
        await asyncio.sleep(0)  # let the other controller interleave

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        await self._yield()
        try:
            return copy.deepcopy(self.objects[(plural, name)])
        except KeyError:
            raise Gone(404, f"{plural}/{name}") from None

    async def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        await self._yield()
        name = body["metadata"]["name"]
        if (plural, name) in self.objects:
            raise Conflict(409, f"{plural}/{name} exists")
        obj = copy.deepcopy(body)
        obj["metadata"].update(resourceVersion=str(next(self.rv)), uid=f"uid-{name}",
                               creationTimestamp="2026-12-01T10:00:00Z")
        obj.setdefault("status", {})
        self.objects[(plural, name)] = obj
        self.writes += 1
        return copy.deepcopy(obj)

    async def _patch(self, plural: str, name: str, body: dict[str, Any], part: str
                     ) -> dict[str, Any]:
        await self._yield()
        obj = self.objects.get((plural, name))
        if obj is None:
            raise Gone(404, name)
        want = (body.get("metadata") or {}).get("resourceVersion")
        if want is not None and want != obj["metadata"]["resourceVersion"]:
            raise Conflict(409, "stale")
        for key, value in body.items():
            if key == "metadata":
                for mk, mv in value.items():
                    if isinstance(mv, dict):
                        target = obj["metadata"].setdefault(mk, {})
                        for k, v in mv.items():
                            if v is None:
                                target.pop(k, None)
                            else:
                                target[k] = v
            elif key == part or part == "any":
                obj.setdefault(key, {}).update(value)
        obj["metadata"]["resourceVersion"] = str(next(self.rv))
        self.writes += 1
        return copy.deepcopy(obj)

    async def patch(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
        return await self._patch(plural, name, {k: v for k, v in body.items() if k != "status"},
                                 "spec")

    async def patch_status(self, plural: str, namespace: str, name: str, body: dict[str, Any]
                           ) -> dict[str, Any]:
        return await self._patch(plural, name, body, "status")

    async def list_objects(self, plural: str, namespace: str, selector: str = ""
                           ) -> dict[str, Any]:
        """One consistent read (``key=value`` selectors), as the API server's LIST."""
        await self._yield()
        want = dict(part.split("=", 1) for part in selector.split(",") if part)
        items = [copy.deepcopy(o) for (p, _), o in self.objects.items() if p == plural and all(
            (o["metadata"].get("labels") or {}).get(k) == v for k, v in want.items())]
        return {"items": items}


class IndexStores:
    """The kopf index over the fake server's ModelVersions (always current, as after events)."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api

    @property
    def model_versions_index(self) -> dict[tuple[str, str], list[Any]]:
        out: dict[tuple[str, str], list[Any]] = {}
        for (plural, _), obj in self.api.objects.items():
            if plural == "modelversions":
                entry = version_entry(obj)
                if entry is not None:
                    out.setdefault((NS, entry.model), []).append(entry)
        return out

    def by_name(self, namespace: str, name: str) -> Any:
        return None


def snapshot(model: ModelConfig | None = None, inputs: list[StepInput] | None = None
             ) -> SnapshotSpec:
    return SnapshotSpec(
        pipeline="p", pipeline_name="p", image="img:1", model=model,
        steps=[StepSpec(name="s", id="s", function="s", entrypoint="m:s", code_hash="h",
                        inputs=inputs or [],
                        outputs=[StepOutput(name="o", materializer="m.M")])])


def test_runs_started_together_in_two_operators_never_share_a_number() -> None:
    api = FakeApi()
    stores = IndexStores(api)
    a, b = ModelControl(api, stores), ModelControl(api, stores)  # type: ignore[arg-type]
    snap = snapshot(ModelConfig(name="iris"))

    async def scenario() -> list[Any]:
        jobs = [ctl.resolve_for_run(NS, f"run-{i}", 0.0, snap)
                for i, ctl in zip(range(8), itertools.cycle([a, b]), strict=False)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(scenario())
    numbers = sorted(r.model.number for r in results)
    assert numbers == list(range(1, 9)), numbers
    assert sorted(r.model.version for r in results) == sorted(str(n) for n in range(1, 9))
    assert api.objects[("models", "iris")]["status"]["lastNumber"] == 8
    # Resolving the same run again (a retried pass) reuses its version.
    again = asyncio.run(a.resolve_for_run(NS, "run-0", 0.0, snap))
    assert again.model.object == results[0].model.object


def test_named_versions_templates_and_stage_references() -> None:
    api = FakeApi()
    stores = IndexStores(api)
    ctl = ModelControl(api, stores)  # type: ignore[arg-type]
    when = 1764583200.0  # 2025-12-01 10:00:00 UTC
    named = asyncio.run(ctl.resolve_for_run(
        NS, "r1", when, snapshot(ModelConfig(name="iris", version="v_{date}"))))
    assert named.error is None and named.model.version == "v_2025_12_01"
    assert named.model.number == 1 and named.model.created
    # The same name again is the same version, not a new one.
    same = asyncio.run(ctl.resolve_for_run(
        NS, "r2", when, snapshot(ModelConfig(name="iris", version="v_{date}"))))
    assert same.model.object == named.model.object and not same.model.created
    missing = asyncio.run(ctl.resolve_for_run(
        NS, "r3", when, snapshot(ModelConfig(name="iris", version="production"))))
    assert missing.error is not None and missing.error[0] == "ModelVersionNotFound"
    assert "no version in stage 'production'" in missing.error[1]
    number = asyncio.run(ctl.resolve_for_run(
        NS, "r4", when, snapshot(ModelConfig(name="iris", version="7"))))
    assert number.error is not None and "no version '7'" in number.error[1]
    bad = asyncio.run(ctl.resolve_for_run(
        NS, "r5", when, snapshot(ModelConfig(name="iris", version="v_{nope}"))))
    assert bad.error == ("InvalidModel",
                         "Could not format the name template `v_{nope}`. Missing key: 'nope'")


def test_model_artifact_inputs_resolve_to_the_stage_holder_at_run_start() -> None:
    api = FakeApi()
    stores = IndexStores(api)
    ctl = ModelControl(api, stores)  # type: ignore[arg-type]
    v1 = asyncio.run(ctl.resolve_for_run(NS, "train-1", 0.0, snapshot(ModelConfig(name="iris"))))
    asyncio.run(ctl.link(NS, v1.model.object, [
        {"name": "trained_model", "artifactVersion": "tm-1", "type": "model"},
        {"name": "data", "artifactVersion": "d-1", "type": "data"}]))
    api.objects[("modelversions", v1.model.object)]["spec"]["stage"] = "production"
    asyncio.run(ctl.reconcile(NS, "iris"))  # lookup labels first (their event comes back)
    asyncio.run(ctl.reconcile(NS, "iris"))
    ref = StepInput(name="model", model_artifact=ModelArtifactRef(
        model="iris", version="production", artifact="trained_model", type="model"))
    res = asyncio.run(ctl.resolve_for_run(NS, "predict-1", 0.0, snapshot(
        ModelConfig(name="iris", version="production"), [ref])))
    assert res.error is None and res.model.version == "1" and not res.model.created
    assert [(a.step, a.input, a.version, a.artifact_version) for a in res.artifacts] == [
        ("s", "model", "1", "tm-1")]
    wrong_type = StepInput(name="model", model_artifact=ModelArtifactRef(
        model="iris", version="production", artifact="data", type="model"))
    res = asyncio.run(ctl.resolve_for_run(NS, "predict-2", 0.0, snapshot(None, [wrong_type])))
    assert res.error is not None and res.error[0] == "ModelArtifactNotFound"
    assert "has no model artifact 'data'" in res.error[1]
    assert "trained_model (model), data (data)" in res.error[1]


def test_stage_requests_are_applied_once_with_history_and_model_pointers() -> None:
    api = FakeApi()
    stores = IndexStores(api)
    ctl = ModelControl(api, stores)  # type: ignore[arg-type]
    for i in range(3):
        asyncio.run(ctl.resolve_for_run(NS, f"r{i}", 0.0, snapshot(ModelConfig(name="iris"))))
    ctl._created.clear()  # as once the index has seen them
    names = sorted(n for (p, n) in api.objects if p == "modelversions")
    asyncio.run(ctl.reconcile(NS, "iris"))  # lookup labels
    asyncio.run(ctl.reconcile(NS, "iris"))
    first, second, _ = names
    for name in (first, second):
        obj = api.objects[("modelversions", name)]
        obj["spec"]["stage"] = "production"
        obj["metadata"].setdefault("annotations", {})["kubeline.dev/stage-changed-by"] = "bob"
        obj["metadata"]["resourceVersion"] = str(next(api.rv))
        asyncio.run(ctl.reconcile(NS, "iris"))
    one, two = (api.objects[("modelversions", n)] for n in (first, second))
    assert (one["spec"]["stage"], one["status"]["stage"]) == ("archived", "archived")
    assert two["status"]["stage"] == "production"
    assert [h["stage"] for h in one["status"]["stageHistory"]] == ["production", "archived"]
    assert [h["user"] for h in one["status"]["stageHistory"]] == ["bob", "bob"]
    assert "kubeline.dev/stage-changed-by" not in two["metadata"].get("annotations", {})
    model = api.objects[("models", "iris")]["status"]
    assert model["productionVersion"] == two["spec"]["version"]
    assert model["latestVersion"] == "3" and model["versionCount"] == 3
    writes = api.writes
    asyncio.run(ctl.reconcile(NS, "iris"))  # nothing pending: nothing written
    assert api.writes == writes


class LaggingIndex(IndexStores):
    """A kopf index that lags: each object's entry is the copy last ``deliver``ed, as when
    kopf's per-object workers have not yet indexed the newest events of some versions."""

    def __init__(self, api: FakeApi) -> None:
        super().__init__(api)
        self.seen: dict[str, Any] = {}

    def deliver(self, *names: str) -> None:
        for name in names or [n for (p, n) in self.api.objects if p == "modelversions"]:
            self.seen[name] = version_entry(self.api.objects[("modelversions", name)])

    @property
    def model_versions_index(self) -> dict[tuple[str, str], list[Any]]:
        out: dict[tuple[str, str], list[Any]] = {}
        for entry in self.seen.values():
            out.setdefault((NS, entry.model), []).append(entry)
        return out


def _request(api: FakeApi, name: str, stage: str) -> int:
    """A ``kubectl patch`` of spec.stage; returns the resourceVersion the server gave it."""
    obj = api.objects[("modelversions", name)]
    obj["spec"]["stage"] = stage
    obj["metadata"]["resourceVersion"] = str(next(api.rv))
    return int(obj["metadata"]["resourceVersion"])


def _three_versions() -> tuple[FakeApi, LaggingIndex, ModelControl, list[str]]:
    api = FakeApi()
    stores = LaggingIndex(api)
    ctl = ModelControl(api, stores)  # type: ignore[arg-type]
    for i in range(3):
        asyncio.run(ctl.resolve_for_run(NS, f"r{i}", 0.0, snapshot(ModelConfig(name="iris"))))
    ctl._created.clear()
    names = sorted(n for (p, n) in api.objects if p == "modelversions")
    for _ in range(2):  # lookup labels, then the first stage
        stores.deliver()
        asyncio.run(ctl.reconcile(NS, "iris"))
    stores.deliver()
    return api, stores, ctl, names


def _stages(api: FakeApi, names: list[str]) -> list[str]:
    return [api.objects[("modelversions", n)]["status"]["stage"] for n in names]


def test_a_lagging_index_never_loses_the_last_promotion() -> None:
    """The lost promotion: v3 is promoted, then v2 (archiving v3); the index has seen v2's
    promotion but not v3's archiving yet. Planned from that mixed view, v3 and v2 both look
    like production holders and the planner archived the real one (v2): no production left.
    Planned from one consistent read, v2 stays."""
    api, stores, ctl, (v1, v2, v3) = _three_versions()
    _request(api, v3, "production")
    stores.deliver(v3)
    asyncio.run(ctl.reconcile(NS, "iris"))  # v3 promoted
    stores.deliver(v3)
    _request(api, v2, "production")
    stores.deliver(v2)
    asyncio.run(ctl.reconcile(NS, "iris"))  # v3 archived, v2 promoted
    stores.deliver(v2)  # v2's promotion is indexed, v3's archiving not yet
    asyncio.run(ctl.reconcile(NS, "iris"))
    assert _stages(api, [v1, v2, v3]) == ["none", "production", "archived"]
    stores.deliver()
    asyncio.run(ctl.reconcile(NS, "iris"))
    assert _stages(api, [v1, v2, v3]) == ["none", "production", "archived"]
    assert api.objects[("models", "iris")]["status"]["productionVersion"] == "2"


def test_requests_pending_together_keep_the_last_one_the_server_accepted() -> None:
    """Three requests land before the operator plans (kubectl stamps no request time, and
    all three carry the same managedFields second): the highest resourceVersion wins,
    whatever the version numbers and however far the index lags."""
    for order in ([2, 0, 1], [0, 2, 1], [1, 2, 0]):
        api, stores, ctl, names = _three_versions()
        accepted = {names[i]: _request(api, names[i], "production") for i in order}
        stores.deliver(names[order[0]])  # only the first request's event is indexed
        asyncio.run(ctl.reconcile(NS, "iris"))
        stores.deliver()
        asyncio.run(ctl.reconcile(NS, "iris"))
        winner = max(accepted, key=lambda n: accepted[n])
        stages = dict(zip(names, _stages(api, names), strict=True))
        assert stages == {n: "production" if n == winner else "archived" for n in names}, order
        for name in names:
            if name != winner:
                history = api.objects[("modelversions", name)]["status"]["stageHistory"]
                assert [h["stage"] for h in history] == ["production", "archived"]
