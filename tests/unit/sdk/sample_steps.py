"""Steps and pipelines used by the authoring unit tests (module level, importable)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from kubeline import get_step_context, log_metadata, pipeline, step
from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact

SCALE = 3


def helper(x: int) -> int:
    return x * SCALE


@step
def load() -> tuple[Annotated[pd.DataFrame, "features"], Annotated[pd.Series, "labels"]]:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    return frame, pd.Series([0, 1, 0], name="label")


@step
def train(features: pd.DataFrame, labels: pd.Series, gamma: float = 0.1) -> tuple[
    Annotated[dict, "model"], Annotated[float, "accuracy"]
]:
    log_metadata({"rows": len(features)})
    log_metadata({"note": "accuracy is fake"}, artifact_name="accuracy")
    ctx = get_step_context()
    return {"gamma": gamma, "run": ctx.pipeline_run.name, "step": ctx.step_name}, 0.5


@step(enable_cache=False, cache_version="2", retries=3, timeout=60,
      settings={"resources": {"cpu_count": 0.5, "memory": "1GB", "gpu_count": 1}},
      env={"MODE": "fast"}, extra={"team": "ml"})
def configured(x: int = 1) -> int:
    return helper(x)


@step
def unannotated(x: int = 2):
    return x + 1


@step
def nothing() -> None:
    return None


@step
def takes_ref(data: UnmaterializedArtifact) -> str:
    return f"{data.name}:{data.version}:{data.id}"


@step
def fails(message: str = "boom") -> int:
    raise ValueError(message)


@step
def bad_arity() -> tuple[Annotated[int, "a"], Annotated[int, "b"]]:
    return 1  # type: ignore[return-value]


@step
def collide() -> tuple[Annotated[int, "same"], Annotated[int, "same"]]:
    return 1, 2


@pipeline
def two_step(gamma: float = 0.2) -> None:
    features, labels = load()
    train(features=features, labels=labels, gamma=gamma)


@pipeline(enable_cache=False, settings={"docker": {"image": "example/img:1"}})
def repeated() -> None:
    configured()
    configured(x=5)
    configured(id="custom", after="configured")


class FakeArtifactVersion:
    """What Client().get_artifact_version returns, as far as the compiler cares."""

    def __init__(self, name: str, version: str, uid: str) -> None:
        self.name, self.version, self.id = name, version, uid

    def to_artifact_ref(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "id": self.id}


@pipeline
def from_artifact() -> None:
    takes_ref(FakeArtifactVersion("iris_dataset", "raw_2023", "1234"))
