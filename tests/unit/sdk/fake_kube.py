"""An in-memory stand-in for ``kubeline.kube.Kube`` serving the recorded API objects of
``fixtures/client_objects.json``; it counts requests as ``Kube`` does (shared by the Client
and CLI unit tests)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubeline.errors import AlreadyExistsError, NotFoundError
from kubeline.resources import names as n

FIXTURES = Path(__file__).parent / "fixtures" / "client_objects.json"
PLURALS = {"Pipeline": n.PIPELINES, "Snapshot": n.SNAPSHOTS, "PipelineRun": n.PIPELINE_RUNS,
           "ArtifactVersion": n.ARTIFACT_VERSIONS, "Model": n.MODELS,
           "ModelVersion": n.MODEL_VERSIONS, "Schedule": n.SCHEDULES}


def _selected(obj: dict[str, Any], selector: str | None) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeKube:
    """The subset of ``Kube`` the Client uses, in memory, counting requests like Kube."""

    def __init__(self, objects: list[dict[str, Any]], namespace: str = "ml") -> None:
        self.namespace = namespace
        self.requests = 0
        self.gets = 0  # of them: single-object reads, and watches started
        self.watches = 0
        self.store: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in PLURALS.values()}
        for obj in objects:
            self.store[PLURALS[obj["kind"]]][obj["metadata"]["name"]] = copy.deepcopy(obj)
        self.logs: dict[str, str] = {}
        self.watch_events: list[tuple[str, dict[str, Any]]] = []
        self.created: list[dict[str, Any]] = []

    def get(self, plural: str, name: str) -> dict[str, Any]:
        self.requests += 1
        self.gets += 1
        try:
            return copy.deepcopy(self.store[plural][name])
        except KeyError:
            raise NotFoundError(f"{plural}/{name} not found") from None

    def list(self, plural: str, label_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None, field_selector: str | None = None
             ) -> dict[str, Any]:
        self.requests += 1
        items = [o for _, o in sorted(self.store[plural].items()) if _selected(o, label_selector)]
        start = int(continue_token or 0)
        end = start + limit if limit else len(items)
        meta = {"continue": str(end)} if end < len(items) else {}
        return {"items": copy.deepcopy(items[start:end]), "metadata": meta}

    def iter(self, plural: str, label_selector: str | None = None, page_size: int = 500
             ) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.list(plural, label_selector, limit=page_size, continue_token=token)
            yield from page["items"]
            token = page["metadata"].get("continue")
            if not token:
                return

    def count(self, plural: str, label_selector: str | None = None, page_size: int = 500
              ) -> int:
        """As ``Kube.count``: one request per page of matching objects."""
        found = sum(1 for o in self.store[plural].values() if _selected(o, label_selector))
        self.requests += max(1, -(-found // page_size))
        return found

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        name = body["metadata"]["name"]
        if name in self.store[plural]:
            raise AlreadyExistsError(f"{plural}/{name}: already exists")
        obj = copy.deepcopy(body)
        obj["metadata"].update(uid=str(uuid.uuid4()), namespace=self.namespace,
                               creationTimestamp="2025-03-02T00:00:00Z", resourceVersion="5000")
        self.store[plural][name] = obj
        self.created.append(obj)
        return copy.deepcopy(obj)

    def patch(self, plural: str, name: str, body: dict[str, Any],
              field_manager: str | None = None) -> dict[str, Any]:
        self.requests += 1
        obj = self.store[plural].get(name)
        if obj is None:
            raise NotFoundError(f"{plural}/{name} not found")
        for key, value in body.items():
            if isinstance(value, dict):  # a JSON merge patch, one level deep
                part = obj.setdefault(key, {})
                part.update({k: v for k, v in value.items() if v is not None})
                for k in [k for k, v in value.items() if v is None]:
                    part.pop(k, None)
            else:
                obj[key] = value
        return copy.deepcopy(obj)

    def whoami(self) -> str | None:
        return "alice"

    def delete(self, plural: str, name: str) -> dict[str, Any]:
        self.requests += 1
        if self.store[plural].pop(name, None) is None:
            raise NotFoundError(f"{plural}/{name} not found")
        return {}

    def pod_logs(self, pod: str, tail_lines: int | None = None) -> str:
        self.requests += 1
        if pod not in self.logs:
            raise NotFoundError(f"pods/{pod} not found")
        lines = self.logs[pod].splitlines(keepends=True)
        return "".join(lines[-tail_lines:] if tail_lines else lines)

    def watch(self, plural: str, name: str, resource_version: str | None = None,
              timeout_seconds: int = 60) -> Iterator[tuple[str, dict[str, Any]]]:
        self.requests += 1
        self.watches += 1
        while self.watch_events:
            kind, obj = self.watch_events.pop(0)
            if kind != "DELETED":
                self.store[plural][name] = copy.deepcopy(obj)
            yield kind, copy.deepcopy(obj)


def load_objects() -> tuple[str, list[dict[str, Any]]]:
    data = json.loads(FIXTURES.read_text())
    return data["namespace"], data["objects"]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in load_objects()[1] if o["kind"] == kind]


P = n.dns_name("training_pipeline")
R1, R2, R3 = (o["metadata"]["name"] for o in by_kind("PipelineRun"))
SNAP = by_kind("Snapshot")[0]["metadata"]["name"]
