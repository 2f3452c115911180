"""ZenML's page sizes and limits (``zenml.constants``, ``BaseFilter``): a listing without a
size returns 20 items, a size outside 1..10000 or a page below 1 is a ``ValueError``, a page
past the last one too; ``pipeline.runs`` is the 20 newest runs."""

from __future__ import annotations

import copy
import inspect

import pytest
from fake_kube import R1, FakeKube, P, load_objects
from kubeline.client import Client
from kubeline.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAXIMUM, PAGINATION_STARTING_PAGE
from kubeline.errors import ConfigurationError, NotFoundError, PaginationError
from kubeline.resources import names as n

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


def test_a_page_past_the_last_one_is_refused(client: Client) -> None:
    with pytest.raises(ValueError, match="page 3 is past the last page: 25 item"):
        client.list_pipeline_runs(page=3)
    # no runs at all: page 1 is one empty page, page 2 is refused
    empty = client.list_pipeline_runs(name="no-such-run")
    assert (list(empty), empty.total, empty.total_pages) == ([], 0, 1)
    with pytest.raises(PaginationError, match="past the last page"):
        client.list_pipeline_runs(name="no-such-run", page=2)


@pytest.mark.parametrize("page, size, message", [
    (1, 0, "size must be between 1 and 10000"),
    (1, PAGE_SIZE_MAXIMUM + 1, "size must be between 1 and 10000"),
    (0, 20, "page must be 1 or more"),
    (-1, 20, "page must be 1 or more"),
])
def test_sizes_and_pages_out_of_range_are_value_errors(client: Client, page: int, size: int,
                                                        message: str) -> None:
    listings = [
        lambda: client.list_pipeline_runs(page=page, size=size),
        lambda: client.list_pipelines(page=page, size=size),
        lambda: client.list_snapshots(page=page, size=size),
        lambda: client.list_schedules(page=page, size=size),
        lambda: client.list_artifacts(page=page, size=size),
        lambda: client.list_artifact_versions(page=page, size=size),
        lambda: client.list_run_steps(pipeline_run_id=R1, page=page, size=size),
    ]
    for listing in listings:
        with pytest.raises(ValueError, match=message) as caught:
            listing()
        assert isinstance(caught.value, ConfigurationError)


def test_every_paged_listing_defaults_to_zenml_page_size() -> None:
    paged = {name: inspect.signature(fn).parameters for name, fn in vars(Client).items()
             if name.startswith("list_") and "size" in inspect.signature(fn).parameters}
    assert set(paged) >= {"list_pipelines", "list_pipeline_runs", "list_snapshots",
                          "list_schedules", "list_artifacts", "list_artifact_versions",
                          "list_run_steps"}
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
