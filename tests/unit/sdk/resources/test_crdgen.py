"""The generated CRDs: in sync with the models, structural, bounded, described."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubeline.resources import crdgen
from kubeline.resources import models as m
from pydantic import Field

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[4]
KINDS = {r.kind: r for r in crdgen.RESOURCES}


def _crds() -> dict[str, dict[str, Any]]:
    return {r.kind: crdgen.crd(r) for r in crdgen.RESOURCES}


def _schema(kind: str) -> dict[str, Any]:
    return _crds()[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path (properties, items, map values)."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if "items" in node:
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}.*")


def _all_nodes() -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in KINDS:
        for path, node in _walk(_schema(kind)):
            yield f"{kind}{path}", node


# --------------------------------------------------------------------------- drift


def test_committed_crds_match_the_models() -> None:
    stale = crdgen.stale_files(ROOT)
    assert not stale, (
        f"generated CRDs are out of date: {stale}; "
        "run `python -m kubeline.resources.crdgen` and commit the result"
    )


def test_generation_is_deterministic() -> None:
    assert crdgen.generated_files() == crdgen.generated_files()


def test_committed_files_parse_and_both_copies_agree() -> None:
    for name in crdgen.generated_files():
        top = (ROOT / "crds" / name).read_text()
        chart = (ROOT / "charts" / "kubeline" / "crds" / name).read_text()
        assert top == chart, name
        doc = yaml.safe_load(top)
        assert doc["apiVersion"] == "apiextensions.k8s.io/v1"


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    crdgen.write(tmp_path)
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 0
    victim = tmp_path / "crds" / "kubeline.dev_snapshots.yaml"
    victim.write_text(victim.read_text() + "# edited by hand\n")
    (tmp_path / "crds" / "leftover.yaml").write_text("{}\n")
    stale = crdgen.stale_files(tmp_path)
    assert stale == ["crds/kubeline.dev_snapshots.yaml", "crds/leftover.yaml"]
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 1
    crdgen.write(tmp_path)
    assert crdgen.stale_files(tmp_path) == []


# --------------------------------------------------------------------------- structural


def test_no_refs_or_unions_anywhere() -> None:
    text = json.dumps(_crds())
    for keyword in ('"$ref"', '"anyOf"', '"allOf"', '"oneOf"', '"not"', '"$defs"', '"title"'):
        assert keyword not in text, f"{keyword} left in a generated schema"


def test_every_node_is_typed_or_a_json_value() -> None:
    for path, node in _all_nodes():
        if node.get("x-kubernetes-preserve-unknown-fields"):
            assert "type" not in node or node["type"] == "object", path
            continue
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, (
            f"{path} has no usable type: {node}"
        )
        assert not ("properties" in node and "additionalProperties" in node), path


def test_every_property_has_a_description() -> None:
    for path, node in _all_nodes():
        for name, sub in node.get("properties", {}).items():
            if "." not in path and name == "metadata":
                assert sub == {"type": "object"}, "the API server refuses more on metadata"
                continue
            assert sub.get("description", "").strip(), f"{path}.{name} has no description"


def test_every_string_list_and_map_is_bounded() -> None:
    for path, node in _all_nodes():
        if path.count(".") <= 1 and path.split(".")[-1] in {"apiVersion", "kind", "metadata"}:
            continue
        kind = node.get("type")
        if kind == "string" and "enum" not in node:
            assert "maxLength" in node, f"{path}: string without maxLength"
        if kind == "array":
            assert "maxItems" in node, f"{path}: list without maxItems"
        if kind == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, f"{path}: map without maxProperties"


def test_json_values_keep_null() -> None:
    params = _schema("Snapshot")["properties"]["spec"]["properties"]["steps"]["items"][
        "properties"
    ]["parameters"]["additionalProperties"]
    assert params == {
        "description": "Any JSON value.",
        "nullable": True,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def test_required_fields_come_from_the_models() -> None:
    step = _schema("Snapshot")["properties"]["spec"]["properties"]["steps"]["items"]
    assert step["required"] == ["codeHash", "entrypoint", "function", "id", "name"]
    assert _schema("PipelineRun")["required"] == ["spec"]


def test_unions_are_refused() -> None:
    class Bad(m.K8sModel):
        value: int | str = Field(0, description="Either.")

    with pytest.raises(crdgen.SchemaError, match=r"Bad\.value: a union of 2 types"):
        crdgen.structural_schema(Bad)


def test_a_field_without_description_is_refused() -> None:
    class Undocumented(m.K8sModel):
        count: int = 0

    with pytest.raises(crdgen.SchemaError, match=r"Undocumented\.count: no description"):
        crdgen.structural_schema(Undocumented)


def test_exclusive_bounds_become_openapi_v3_booleans() -> None:
    class Positive(m.K8sModel):
        size: float = Field(1.0, gt=0, lt=10, description="Size.")

    prop = crdgen.structural_schema(Positive)["properties"]["size"]
    assert prop == {
        "description": "Size.",
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10,
        "exclusiveMaximum": True,
    }


# --------------------------------------------------------------------------- kubectl experience


def test_names_short_names_categories_and_status_subresource() -> None:
    shorts = set()
    for kind, doc in _crds().items():
        spec = doc["spec"]
        assert spec["scope"] == "Namespaced"
        assert spec["group"] == "kubeline.dev"
        assert spec["names"]["categories"] == ["kubeline"], kind
        assert spec["names"]["shortNames"], kind
        shorts.update(spec["names"]["shortNames"])
        (version,) = spec["versions"]
        assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
        assert version["subresources"] == {"status": {}}, kind
        assert doc["metadata"]["name"] == f"{spec['names']['plural']}.kubeline.dev"
    assert {"pl", "snap", "plr", "prun", "av", "mdl", "mv"} <= shorts


def test_pipelinerun_columns() -> None:
    cols = _crds()["PipelineRun"]["spec"]["versions"][0]["additionalPrinterColumns"]
    default = [c["name"].upper() for c in cols if not c.get("priority")]
    assert default == ["PIPELINE", "SNAPSHOT", "STATUS", "PROGRESS", "CACHED", "DURATION", "AGE"]
    by_name = {c["name"]: c for c in cols}
    assert by_name["Progress"]["jsonPath"] == ".status.progress"
    assert by_name["Cached"] == {
        "name": "Cached",
        "jsonPath": ".status.cachedSteps",
        "type": "integer",
        "description": "Steps served from the cache.",
    }


def test_printer_columns_point_at_existing_fields() -> None:
    for kind, doc in _crds().items():
        schema = _schema(kind)
        for col in doc["spec"]["versions"][0]["additionalPrinterColumns"]:
            parts = col["jsonPath"].lstrip(".").split(".")
            if parts[0] == "metadata":
                continue
            node = schema
            for part in parts:
                assert part in node.get("properties", {}), f"{kind} column {col['name']}: {part}"
                node = node["properties"][part]
            expected = {"integer": "integer", "boolean": "boolean"}.get(node["type"], "string")
            if col["type"] == "date":  # a timestamp column (kubectl shows its age)
                expected = "date" if node["type"] == "string" else node["type"]
            assert col["type"] == expected, f"{kind} column {col['name']}"


# --------------------------------------------------------------------------- validation rules


def _rules(node: dict[str, Any]) -> list[dict[str, str]]:
    return node.get("x-kubernetes-validations", [])


def test_snapshot_spec_is_immutable() -> None:
    spec = _schema("Snapshot")["properties"]["spec"]
    (rule,) = [r for r in _rules(spec) if "oldSelf" in r["rule"]]
    assert rule["rule"] == "self == oldSelf"
    assert rule["message"] == "Snapshot spec is immutable: create a new Snapshot instead"


def test_every_run_spec_field_but_cancel_is_frozen() -> None:
    spec = _schema("PipelineRun")["properties"]["spec"]
    frozen = {r["fieldPath"].lstrip("."): r for r in _rules(spec) if "== has(oldSelf." in r["rule"]}
    assert set(frozen) == set(spec["properties"]) - {"cancel"}
    for name, rule in frozen.items():
        assert rule["rule"] == (
            f"has(self.{name}) == has(oldSelf.{name}) && "
            f"(!has(self.{name}) || self.{name} == oldSelf.{name})"
        )
        assert rule["message"].startswith(f"spec.{name} of a PipelineRun is immutable")
    messages = [r["message"] for r in _rules(spec)]
    assert any(msg.startswith("spec.cancel cannot go back from true to false") for msg in messages)
    assert any(msg.startswith("set spec.snapshot") for msg in messages)


def test_step_names_are_dns_labels_and_list_map_keys() -> None:
    steps = _schema("Snapshot")["properties"]["spec"]["properties"]["steps"]
    assert steps["x-kubernetes-list-type"] == "map"
    assert steps["x-kubernetes-list-map-keys"] == ["name"]
    assert steps["maxItems"] == m.MAX_STEPS
    name = steps["items"]["properties"]["name"]
    assert name["pattern"] == m.DNS_LABEL and name["maxLength"] == 63
    assert any("s.id" in r["rule"] for r in _rules(steps))


def test_step_input_sets_exactly_one_source() -> None:
    item = _schema("Snapshot")["properties"]["spec"]["properties"]["steps"]["items"]
    (rule,) = _rules(item["properties"]["inputs"]["items"])
    assert "exactly one" in rule["message"]


def test_references_are_checked_with_constant_time_lookups() -> None:
    spec = _schema("Snapshot")["properties"]["spec"]
    ref_rule = next(r for r in _rules(spec) if "transformMapEntry" in r["rule"])
    # `x in list` inside a loop over steps x inputs would be quadratic: only map lookups.
    assert ".map(" not in ref_rule["rule"] and ".exists(" not in ref_rule["rule"]
    assert "x.step in m" in ref_rule["rule"]


def test_every_rule_has_a_message_saying_what_to_do() -> None:
    for path, node in _all_nodes():
        for rule in _rules(node):
            assert len(rule.get("message", "")) > 20, f"{path}: {rule}"


def test_rules_guard_every_optional_field_they_read() -> None:
    """The CRDs carry no defaults (the models and read views hold them), so a hand-written
    object may leave out any optional field: a rule reading ``self.f`` of an optional ``f``
    without ``has(self.f)`` would refuse that object at apply time with CEL's "no such key"
    instead of using the model's default."""
    import re

    checked = 0
    for path, node in _all_nodes():
        optional = set(node.get("properties", {})) - set(node.get("required", []))
        for rule in _rules(node):
            for var, name in set(re.findall(r"\b(self|oldSelf)\.([A-Za-z_]\w*)", rule["rule"])):
                if name in optional:
                    checked += 1
                    assert f"has({var}.{name})" in rule["rule"], (
                        f"{path}: rule reads optional {var}.{name} without has(): {rule['rule']}")
    assert checked > 20  # the immutability rules alone read every optional run spec field


def test_hand_written_objects_without_defaulted_fields_read_the_model_defaults() -> None:
    """What the operator sees of a kubectl/GitOps object that leaves the defaults out."""
    run = m.PipelineRunSpec.model_validate({"snapshot": "s"})
    assert (run.cancel, run.delete_after_ttl, run.config.steps) == (False, False, {})
    schedule = m.ScheduleSpec.model_validate({"pipeline": "p", "cron": ["0 * * * *"]})
    assert (schedule.time_zone, schedule.suspend, schedule.concurrency_policy,
            schedule.catch_up) == ("UTC", False, "Allow", "latest")


def test_model_version_stage_is_an_enum() -> None:
    stage = _schema("ModelVersion")["properties"]["spec"]["properties"]["stage"]
    assert stage["enum"] == ["none", "staging", "production", "archived"]


# --------------------------------------------------------------------------- sizes


def _typical_snapshot(steps: int) -> m.SnapshotSpec:
    specs = []
    for i in range(steps):
        specs.append(
            m.StepSpec(
                name=f"step-{i}",
                id=f"step_{i}",
                function="train_model",
                entrypoint="my_project.steps.training:train_model",
                code_hash="a" * 64,
                inputs=[m.StepInput(name="data", step=f"step-{i - 1}", output="output")]
                if i
                else [],
                parameters={"learning_rate": 0.01, "epochs": 10},
                outputs=[
                    m.StepOutput(
                        name="output",
                        materializer="kubeline.materializers.pandas.DataFrameMaterializer",
                        data_type="pandas.core.frame.DataFrame",
                    )
                ],
            )
        )
    return m.SnapshotSpec(
        pipeline="big-pipeline",
        pipeline_name="big_pipeline",
        image="localhost/kubeline:0.1.0",
        steps=specs,
    )


def _typical_run_status(steps: int) -> m.PipelineRunStatus:
    return m.PipelineRunStatus(
        phase="running",
        progress=f"{steps // 2}/{steps}",
        steps=[
            m.StepStatus(
                name=f"step_{i}",
                phase="completed",
                attempts=1,
                pod=f"big-pipeline-run-abc12-step-{i}-1",
                start_time="2025-01-01T00:00:00Z",
                end_time="2025-01-01T00:01:00Z",
                cache=m.CacheInfo(key="b" * 64),
                outputs={"output": f"big-pipeline-step-{i}-output-{i:04d}"},
            )
            for i in range(steps)
        ],
    )


def test_a_1000_step_snapshot_and_run_stay_far_below_the_etcd_limit() -> None:
    etcd_limit = 1.5 * 1024 * 1024
    snapshot = len(json.dumps(_typical_snapshot(m.MAX_STEPS).to_k8s()))
    status = len(json.dumps(_typical_run_status(m.MAX_STEPS).to_k8s()))
    assert snapshot < etcd_limit / 2, f"1,000-step snapshot spec is {snapshot} bytes"
    assert status < etcd_limit / 2, f"1,000-step run status is {status} bytes"
