"""``kubeline model ...`` and the Client's model methods against recorded objects.

The stage a version asks for is applied by the operator; here a stand-in applies it the
way the operator's pure planner does (tests/unit/test_models_plan.py covers the planner).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from fake_kube import FakeKube, load_objects
from kubeline.cli.main import cli
from kubeline.client import Client
from kubeline.enums import ModelStages
from kubeline.errors import NotFoundError
from kubeline.resources import names as n
from kubeline_operator.models_ctl import version_entry
from kubeline_operator.models_plan import plan_stages


class OperatedKube(FakeKube):
    """Applies stage requests after each patch, with the operator's planner."""

    def patch(self, plural: str, name: str, body: dict[str, Any],
              field_manager: str | None = None) -> dict[str, Any]:
        out = super().patch(plural, name, body, field_manager)
        if plural == n.MODEL_VERSIONS:
            store = self.store[plural]
            versions = [version_entry(o) for o in store.values()]
            plan = plan_stages([v for v in versions if v is not None], "2026-12-01T10:00:00Z")
            for u in plan.updates:
                if u.spec_stage:
                    store[u.name]["spec"]["stage"] = u.spec_stage
                store[u.name].setdefault("status", {}).update(u.status)
        return out


@pytest.fixture
def kube() -> OperatedKube:
    namespace, objects = load_objects()
    return OperatedKube(objects, namespace)


def invoke(kube: FakeKube, *args: str) -> Result:
    client = Client(kube=kube)  # type: ignore[arg-type]
    return CliRunner().invoke(cli, list(args), obj={"client": client})


def test_model_list_and_versions(kube: OperatedKube) -> None:
    result = invoke(kube, "model", "list")
    assert result.exit_code == 0, result.output
    assert "iris_classifier" in result.output
    data = json.loads(invoke(kube, "model", "list", "-o", "json").output)
    assert [i["spec"]["name"] for i in data["items"]] == ["iris_classifier"]
    out = invoke(kube, "model", "version", "list", "iris_classifier").output
    lines = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [(row[0], row[1], row[2]) for row in lines] == [("1", "1", "archived"),
                                                          ("2", "2", "production")]
    prod = yaml.safe_load(invoke(kube, "model", "version", "list", "iris_classifier",
                                 "--stage", "production", "-o", "yaml").output)
    assert [i["spec"]["version"] for i in prod["items"]] == ["2"]


def test_promotion_without_force_onto_an_occupied_stage_fails_clearly(kube: OperatedKube
                                                                      ) -> None:
    result = invoke(kube, "model", "version", "update", "iris_classifier", "1",
                    "--stage", "production")
    assert result.exit_code != 0
    assert "Model version 2 is in production, but force flag is False." in result.output
    assert "--force" in result.output
    client = Client(kube=kube)  # type: ignore[arg-type]
    assert client.get_model_version("iris_classifier", 1).stage == "archived"  # unchanged
    with pytest.raises(RuntimeError, match="Model version 2 is in production"):
        client.get_model_version("iris_classifier", 1).set_stage(ModelStages.PRODUCTION)
    with pytest.raises(ValueError, match=r"`gold` is not a valid model stage\."):
        client.update_model_version("iris_classifier", "1", stage="gold")


def test_forced_promotion_archives_the_holder_and_records_who(kube: OperatedKube) -> None:
    result = invoke(kube, "model", "version", "update", "iris_classifier", "1",
                    "--stage", "production", "--force", "-o", "json")
    assert result.exit_code == 0, result.output
    promoted = json.loads(result.output)
    assert promoted["status"]["stage"] == "production"
    assert promoted["status"]["stageHistory"][-1]["user"] == "alice"
    client = Client(kube=kube)  # type: ignore[arg-type]
    old = client.get_model_version("iris_classifier", "2")
    assert (old.stage, old.requested_stage) == ("archived", "archived")
    assert old.stage_history[-1]["reason"] == "ArchivedByPromotion"
    assert client.get_model_version("iris_classifier", ModelStages.PRODUCTION).version == "1"
    assert [v.version for v in client.list_model_versions("iris_classifier",
                                                          stage="archived")] == ["2"]
    # The request carried the authenticated user for the admission policy to check.
    stored = kube.store[n.MODEL_VERSIONS][promoted["metadata"]["name"]]
    assert stored["metadata"]["annotations"][n.ANNOTATION_STAGE_CHANGED_BY] == "alice"


def test_model_version_artifacts_by_type(kube: OperatedKube) -> None:
    client = Client(kube=kube)  # type: ignore[arg-type]
    prod = client.get_model_version("iris_classifier", "production")
    assert prod.get_model_artifact("trained_model").name == "trained_model"  # type: ignore[union-attr]
    assert prod.get_data_artifact("trained_model") is None
    assert list(prod.model_artifacts) == ["trained_model"]
    assert prod.get_artifact("nope") is None


def test_versions_by_id_and_deleted_by_id(kube: OperatedKube) -> None:
    client = Client(kube=kube)  # type: ignore[arg-type]
    v1 = client.get_model_version("iris_classifier", 1)
    assert client.get_model_version(model_version_name_or_number_or_id=v1.id).name == "1"
    assert client.get_model_version("iris_classifier", v1.id).object_name == v1.object_name
    client.delete_model_version(v1.id)
    assert [v.name for v in client.list_model_versions("iris_classifier")] == ["2"]
    with pytest.raises(NotFoundError, match="no version '1'"):
        client.get_model_version("iris_classifier", "1")
    with pytest.raises(NotFoundError, match="no model version with id"):
        client.delete_model_version(v1.id)
