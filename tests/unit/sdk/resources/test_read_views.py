"""The Client's typed read views read the keys the resource models write, with their defaults."""

from __future__ import annotations

import pytest
from kubeline.resources import models, read
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

pytestmark = pytest.mark.unit

VIEWS = [v for v in vars(read).values()
         if isinstance(v, type) and issubclass(v, read.ReadView) and v.model]


def _aliases(model: type[BaseModel]) -> dict[str, str]:
    return {f.alias or name: name for name, f in model.model_fields.items()}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_every_key_is_a_field_of_its_model(view: type[read.ReadView]) -> None:
    model = getattr(models, view.model)
    aliases = _aliases(model)
    unknown = set(view.keys().values()) - set(aliases)
    assert not unknown, f"{view.__name__} reads keys {model.__name__} does not have: {unknown}"
    for key, nested in view.nested_views().items():
        annotation = str(model.model_fields[aliases[key]].annotation)
        assert nested.model in annotation, (view.__name__, key, nested.model, annotation)


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_defaults_are_the_models(view: type[read.ReadView]) -> None:
    model = getattr(models, view.model)
    aliases = _aliases(model)
    empty = view({})
    for attr, key in view.keys().items():
        if key in view.nested_views():
            continue
        field = model.model_fields[aliases[key]]
        default = field.get_default(call_default_factory=True)
        if default is PydanticUndefined or default is None or isinstance(default, BaseModel):
            continue  # required, unset, or an object the view hands out in its wire form
        assert getattr(empty, attr) == default, (view.__name__, attr)


def test_a_run_status_reads_as_written() -> None:
    status = models.PipelineRunStatus(
        phase="completed", index=3, start_time="2026-12-01T09:00:00Z", steps=[
            models.StepStatus(name="trainer", phase="cached", attempts=0,
                              cache=models.CacheInfo(key="k" * 64, parts={"code": "c"}),
                              cached_from=models.CachedFrom(run="r0", step="trainer"),
                              outputs={"model": "model-1"}, metadata={"accuracy": 0.9})])
    view = read.PipelineRunStatusView(status.to_k8s())
    assert (view.phase, view.index, view.start_time, view.end_time) == (
        "completed", 3, "2026-12-01T09:00:00Z", None)
    (step,) = view.steps
    assert (step.name, step.phase, step.attempts, step.pod) == ("trainer", "cached", 0, None)
    assert step.cache.key == "k" * 64 and step.cache.parts == {"code": "c"}
    assert (step.cached_from.run, step.cached_from.step) == ("r0", "trainer")
    assert step.outputs == {"model": "model-1"} and step.metadata == {"accuracy": 0.9}
    assert not read.PipelineRunStatusView(None).steps and not read.StepStatusView({}).cache
