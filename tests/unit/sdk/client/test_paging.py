"""ZenML's page sizes and limits (``zenml.constants``, ``BaseFilter``): a listing without a
size returns 20 items, a size outside 1..10000, a page below 1 or past the last page is a
``ValueError``; ``pipeline.runs`` is the 20 newest runs."""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_kube import R1, FakeKube, P, load_objects
from kubeline.client import Client
from kubeline.client._base import Page
from kubeline.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM, PAGINATION_STARTING_PAGE
from kubeline.errors import ConfigurationError, NotFoundError, PaginationError
from kubeline.resources import names as n
from kubeline.utils.pagination_utils import depaginate

RUNS = 25


@pytest.fixture
def kube() -> FakeKube:
    """The recorded objects plus runs of training_pipeline up to 25 in all (one a second),
    with the operator's pointers (recentRuns, newest first, as many as it keeps: 50)."""
    namespace, objects = load_objects()
    kube = FakeKube(objects, namespace)
    runs = kube.store[n.PIPELINE_RUNS]
    template = runs[R1]
    for index in range(len(runs) + 1, RUNS + 1):
        obj = copy.deepcopy(template)
        name = f"training-pipeline-c7f210eb-20250302-{index:06d}-abcd"
        obj["metadata"].update(name=name, uid=f"uid-run-{index}",
                               creationTimestamp=f"2025-03-02T10:00:{index:02d}Z")
        obj["status"]["index"] = index
        runs[name] = obj
    newest = sorted(runs.values(), key=lambda o: o["metadata"]["creationTimestamp"],
                    reverse=True)
    status = kube.store[n.PIPELINES][P].setdefault("status", {})
    status.update(runCount=RUNS, recentRuns=[o["metadata"]["name"] for o in newest],
                  lastRun=newest[0]["metadata"]["name"])
    versions = kube.store[n.ARTIFACT_VERSIONS]
    av = next(o for o in versions.values() if o["spec"].get("artifactName") == "iris_dataset")
    for number in range(1, RUNS + 1):
        obj = copy.deepcopy(av)
        obj["metadata"]["name"] = f"paged-{number}"
        obj["metadata"]["uid"] = f"uid-av-{number}"
        obj["metadata"]["labels"][n.LABEL_ARTIFACT] = "paged"
        obj["spec"].update(artifactName="paged", version=str(number))
        versions[obj["metadata"]["name"]] = obj
    models = kube.store[n.MODELS]
    model = next(iter(models.values()))
    for number in range(1, RUNS + 1):  # models m-01..m-25, made one a second, m-25 first
        obj = copy.deepcopy(model)
        obj["metadata"].update(name=f"m-{number:02d}", uid=f"uid-model-{number}",
                               creationTimestamp=f"2025-02-01T10:00:{RUNS - number:02d}Z")
        obj["spec"]["name"] = f"m-{number:02d}"
        models[obj["metadata"]["name"]] = obj
    model_versions = kube.store[n.MODEL_VERSIONS]
    mv = next(iter(model_versions.values()))
    for number in range(1, RUNS + 1):  # 25 versions of model m-01
        obj = copy.deepcopy(mv)
        obj["metadata"].update(name=f"m-01-{number}", uid=f"uid-mv-{number}",
                               creationTimestamp=f"2025-02-02T10:00:{number:02d}Z",
                               labels={n.LABEL_MODEL: "m-01"})
        obj["spec"].update(model="m-01", version=f"v{number}", stage="none")
        obj["status"] = {"number": number, "stage": "production" if number == 3 else "none"}
        model_versions[obj["metadata"]["name"]] = obj
    return kube


@pytest.fixture
def client(kube: FakeKube) -> Client:
    return Client(kube=kube)  # type: ignore[arg-type]


def test_zenml_constants() -> None:
    assert (PAGINATION_STARTING_PAGE, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM) == (1, 20, 10_000)


def test_25_runs_make_a_first_page_of_20_and_a_second_of_5(client: Client) -> None:
    first = client.list_pipeline_runs()
    assert (len(first), first.size, first.max_size, first.index) == (20, 20, 20, 1)
    assert (first.total, first.total_pages) == (RUNS, 2)
    second = client.list_pipeline_runs(page=2)
    assert (len(second.items), second.index, second.total, second.total_pages) == (5, 2, 25, 2)
    assert {r.name for r in first}.isdisjoint(r.name for r in second)
    everything = client.list_pipeline_runs(size=PAGE_SIZE_MAXIMUM)
    assert [r.name for r in everything] == [r.name for r in [*first, *second]]
    assert (everything.total_pages, everything.max_size) == (1, PAGE_SIZE_MAXIMUM)


def listings(client: Client, page: int, size: int) -> dict[str, Callable[[], Page[Any]]]:
    """Every paged listing of the Client, at ``page`` and ``size``."""
    return {
        "list_pipeline_runs": lambda: client.list_pipeline_runs(page=page, size=size),
        "list_pipelines": lambda: client.list_pipelines(page=page, size=size),
        "list_snapshots": lambda: client.list_snapshots(page=page, size=size),
        "list_schedules": lambda: client.list_schedules(page=page, size=size),
        "list_artifacts": lambda: client.list_artifacts(page=page, size=size),
        "list_artifact_versions": lambda: client.list_artifact_versions(page=page, size=size),
        "list_run_steps": lambda: client.list_run_steps(pipeline_run_id=R1, page=page,
                                                        size=size),
        "list_models": lambda: client.list_models(page=page, size=size),
        "list_model_versions": lambda: client.list_model_versions("m-01", page=page, size=size),
    }


def test_a_page_past_the_last_one_is_a_value_error(client: Client) -> None:
    """ZenML's store (``SqlZenStore.filter_and_paginate``) raises ``ValueError("Invalid page
    ...")`` for a page past the last one, whatever the listing; its REST client re-raises it
    as a ``ValueError``. An empty listing has one empty page, as there."""
    for name in listings(client, 1, 20):
        last = listings(client, 1, 20)[name]().total_pages
        assert len(listings(client, last, 20)[name]()) >= 1 or last == 1, name
        with pytest.raises(ValueError, match=f"Invalid page {last + 1}: ") as caught:
            listings(client, last + 1, 20)[name]()
        assert isinstance(caught.value, PaginationError), name
        assert f"the last page is {last}" in str(caught.value), name
    with pytest.raises(PaginationError, match=r"25 item.* make 2 page.*the last page is 2"):
        client.list_pipeline_runs(page=3)
    empty = client.list_pipeline_runs(name="no-such-run")
    assert (list(empty), empty.index, empty.total, empty.total_pages) == ([], 1, 0, 1)
    with pytest.raises(PaginationError, match="Invalid page 2"):
        client.list_pipeline_runs(name="no-such-run", page=2)


def test_the_client_pages_loop_raises_past_the_last_page_as_in_zenml(client: Client) -> None:
    """The loop of ZenML's "Client" page ("next page until one is empty") ends with that
    ``ValueError`` in ZenML when there are runs; so it does here, after every run was read."""
    walked, page = [], 1
    with pytest.raises(ValueError, match="Invalid page 3"):
        while True:
            runs_page = client.list_pipeline_runs(size=20, page=page)
            if not runs_page:
                break
            walked.extend(runs_page)
            page += 1
    assert (len(walked), page) == (RUNS, 3)


def test_depaginate_reads_every_page_and_none_past_the_last(client: Client,
                                                            kube: FakeKube) -> None:
    """``kubeline.utils.pagination_utils.depaginate`` (ZenML's): pages 1..total_pages."""
    seen: list[int] = []

    def listing(**kwargs: Any) -> Page[Any]:
        seen.append(kwargs["page"])
        return client.list_pipeline_runs(**kwargs)

    runs = depaginate(listing, size=7, sort_by="asc:index")
    assert [r.index for r in runs] == list(range(1, RUNS + 1))
    assert seen == [1, 2, 3, 4]  # 25 runs at 7 a page: 4 pages, never a 5th
    assert [m.name for m in depaginate(client.list_models, sort_by="name", page=9)][:2] == [
        "iris_classifier", "m-01"]  # a page given is ignored: all pages are read
    assert depaginate(client.list_pipeline_runs, name="no-such-run") == []


@pytest.mark.parametrize("page, size, message", [
    (1, 0, "size must be between 1 and 10000"),
    (1, PAGE_SIZE_MAXIMUM + 1, "size must be between 1 and 10000"),
    (0, 20, "page must be 1 or more"),
    (-1, 20, "page must be 1 or more"),
])
def test_sizes_and_pages_out_of_range_are_value_errors(client: Client, page: int, size: int,
                                                        message: str) -> None:
    for listing in listings(client, page, size).values():
        with pytest.raises(ValueError, match=message) as caught:
            listing()
        assert isinstance(caught.value, PaginationError)
        assert isinstance(caught.value, ConfigurationError)


def test_every_paged_listing_defaults_to_zenml_page_size() -> None:
    paged = {name: inspect.signature(fn).parameters for name, fn in inspect.getmembers(Client)
             if name.startswith("list_") and "size" in inspect.signature(fn).parameters}
    assert set(paged) >= {"list_pipelines", "list_pipeline_runs", "list_snapshots",
                          "list_schedules", "list_artifacts", "list_artifact_versions",
                          "list_run_steps", "list_models", "list_model_versions"}
    for name, params in paged.items():
        assert (params["page"].default, params["size"].default) == (1, 20), name


def test_artifact_versions_page_at_20(client: Client) -> None:
    page = client.list_artifact_versions(name="paged")
    assert (len(page), page.total, page.total_pages) == (20, RUNS, 2)
    assert len(client.list_artifact_versions(name="paged", page=2)) == 5
    # the artifact itself still has all its versions (ZenML lists 20 there: see authoring.md)
    assert len(client.get_artifact("paged").versions) == RUNS


def test_pipeline_runs_are_the_20_newest_and_num_runs_counts_all(client: Client,
                                                                 kube: FakeKube) -> None:
    pipeline = client.get_pipeline("training_pipeline")
    newest = client.list_pipeline_runs(pipeline="training_pipeline")
    assert [r.name for r in pipeline.runs] == [r.name for r in newest]
    assert len(pipeline.runs) == PAGE_SIZE_DEFAULT
    assert pipeline.num_runs == RUNS
    assert pipeline.last_run.name == newest[0].name
    assert isinstance(pipeline.get_runs(), list)
    assert len(pipeline.get_runs(page=2)) == 5
    # without the operator's pointers the fallback listing returns the same 20
    kube.store[n.PIPELINES][P].pop("status")
    bare = client.get_pipeline("training_pipeline")
    assert [r.name for r in bare.runs] == [r.name for r in newest]


def test_last_run_of_a_pipeline_without_runs_is_a_runtime_error(client: Client,
                                                                 kube: FakeKube) -> None:
    kube.store[n.PIPELINE_RUNS].clear()
    kube.store[n.PIPELINES][P]["status"] = {"runCount": 0, "recentRuns": []}
    pipeline = client.get_pipeline("training_pipeline")
    for attribute in ("last_run", "last_successful_run"):
        with pytest.raises(RuntimeError, match="has no") as caught:
            getattr(pipeline, attribute)
        assert isinstance(caught.value, NotFoundError)


def test_models_page_at_20_oldest_first(client: Client) -> None:
    """ZenML's ``list_models``: ``sort_by="created"`` (ascending), 20 a page."""
    page = client.list_models()
    assert (len(page), page.total, page.total_pages) == (20, RUNS + 1, 2)
    assert [m.name for m in page][:3] == ["m-25", "m-24", "m-23"]  # the oldest first
    by_name = client.list_models(sort_by="name", page=2)  # iris_classifier, m-01.. m-19 first
    assert [m.name for m in by_name] == [f"m-{i:02d}" for i in range(20, 26)]
    assert [m.name for m in client.list_models(name="m-07")] == ["m-07"]
    with pytest.raises(ConfigurationError, match="cannot sort by 'colour'"):
        client.list_models(sort_by="colour")


def test_model_versions_page_at_20_by_number(client: Client) -> None:
    """ZenML's ``list_model_versions``: ``sort_by="number"`` (ascending), 20 a page; the
    model's ``versions`` are all of them (ZenML depaginates), ``latest`` is the highest."""
    page = client.list_model_versions("m-01")
    assert [v.number for v in page] == list(range(1, 21))
    assert (page.total, page.total_pages, page.max_size) == (RUNS, 2, 20)
    assert [v.number for v in client.list_model_versions("m-01", page=2)] == list(
        range(21, 26))
    assert [v.number for v in client.list_model_versions("m-01", sort_by="desc:number",
                                                         size=2)] == [25, 24]
    assert [v.number for v in client.list_model_versions("m-01", stage="production")] == [3]
    assert len(client.get_model("m-01").versions) == RUNS
    assert client.get_model_version("m-01").number == RUNS
    assert client.get_model_version("m-01", "production").number == 3


def test_cli_lists_every_model_version_run_and_artifact_version(kube: FakeKube) -> None:
    """The CLI calls the Client with sizes of its own: all 26 models, 25 model versions,
    25 runs and 25 artifact versions are shown, not the first 20."""
    from click.testing import CliRunner
    from kubeline.cli.main import cli

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "-o", "json"],
                                    obj={"client": Client(kube=kube)})  # type: ignore[arg-type]
        assert result.exit_code == 0, result.output
        return result.output

    models = json.loads(invoke("model", "list"))["items"]
    assert len(models) == RUNS + 1
    assert models[0]["spec"]["name"] == "iris_classifier"  # by name, as before
    versions = json.loads(invoke("model", "version", "list", "m-01"))["items"]
    assert [v["status"]["number"] for v in versions] == list(range(1, RUNS + 1))
    runs = json.loads(invoke("pipeline", "runs", "list"))["items"]
    assert len(runs) == RUNS  # the CLI's own --size default (50)
    artifacts = json.loads(invoke("artifact", "versions", "paged"))["items"]
    assert len(artifacts) == RUNS
    past = CliRunner().invoke(cli, ["pipeline", "runs", "list", "--size", "20", "--page", "3"],
                              obj={"client": Client(kube=kube)})  # type: ignore[arg-type]
    assert past.exit_code == 1
    assert "Error: Invalid page 3: at page size 20 the 25 item(s)" in past.output


def ui_http(kube: FakeKube, tmp_path: Path) -> Any:
    """The dashboard's HTTP API over ``kube`` (read-only: no access reviews)."""
    import warnings

    from kubeline.ui.app import make_app
    from kubeline.ui.auth import Connector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    class Local(Connector):
        @property
        def read_only(self) -> bool:
            return True  # the model page then asks no access review

        def client(self, token: str | None, namespace: str | None = None) -> Client:
            return Client(kube=kube)  # type: ignore[arg-type]

        def release(self, client: Client) -> None:
            pass

    kube._call = lambda *args, **kwargs: None  # type: ignore[attr-defined]  # counted wraps it
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    return TestClient(make_app(Local("local", kube.namespace), static_dir=tmp_path),
                      base_url="http://127.0.0.1:8050")


def test_ui_lists_every_model_and_version(kube: FakeKube, tmp_path: Path) -> None:
    """The dashboard's model list and model page show all 26 models and 25 versions."""
    http = ui_http(kube, tmp_path)
    models = http.get("/api/models").json()["items"]
    assert len(models) == RUNS + 1
    versions = http.get("/api/models/m-01").json()["versions"]
    assert len(versions) == RUNS


def test_cli_and_ui_lists_go_past_one_page_of_10000(kube: FakeKube, tmp_path: Path) -> None:
    """More items than the largest page (10,000): the CLI's lists and the dashboard's model
    list page through all of them (they stopped at 10,000 without a word before)."""
    from click.testing import CliRunner
    from kubeline.cli.main import cli

    extra = PAGE_SIZE_MAXIMUM + 5
    model = kube.store[n.MODELS]["m-01"]
    for number in range(extra):
        name = f"z-{number:05d}"
        kube.store[n.MODELS][name] = {
            "metadata": {"name": name, "uid": f"uid-z-{number}",
                         "creationTimestamp": "2025-02-03T00:00:00Z"},
            "spec": {**model["spec"], "name": name}, "status": {}}
    result = CliRunner().invoke(cli, ["model", "list", "-o", "json"],
                                obj={"client": Client(kube=kube)})  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    names = [m["spec"]["name"] for m in json.loads(result.output)["items"]]
    assert len(names) == RUNS + 1 + extra and names[-1] == f"z-{extra - 1:05d}"
    rows = ui_http(kube, tmp_path).get("/api/models").json()["items"]
    assert len(rows) == RUNS + 1 + extra
    assert rows[-1]["name"] == f"z-{extra - 1:05d}"


@pytest.mark.parametrize("variable", ["ZENML_PAGINATION_DEFAULT_LIMIT",
                                      "KUBELINE_PAGINATION_DEFAULT_LIMIT"])
def test_the_pagination_limit_variable_sets_the_default_and_largest_page(variable: str) -> None:
    """ZenML's ``ZENML_PAGINATION_DEFAULT_LIMIT`` sets both ``PAGE_SIZE_DEFAULT`` and
    ``PAGE_SIZE_MAXIMUM`` (``zenml.constants``); a value that is no whole number is refused
    naming the variable, where ZenML would ignore it."""
    import os
    import subprocess
    import sys

    probe = (
        "import inspect; from kubeline.client import Client; "
        "from kubeline.client._base import check_page_size; "
        "from kubeline.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM; "
        "print(PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM, "
        "inspect.signature(Client.list_pipeline_runs).parameters['size'].default); "
        "check_page_size(1, 50)\n"
        "try:\n    check_page_size(1, 51)\nexcept ValueError as e:\n    print(e)")

    def run(value: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("PAGINATION_DEFAULT_LIMIT")}
        return subprocess.run([sys.executable, "-c", probe], env={**env, variable: value},
                              capture_output=True, text=True, timeout=60)

    done = run("50")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "50 50 50", "size must be between 1 and 50 (PAGE_SIZE_MAXIMUM), got 51"]
    refused = run("lots")
    assert refused.returncode == 1
    assert f"{variable}='lots': the page size must be a whole number" in refused.stderr
