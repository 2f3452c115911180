"""``ArtifactConfig``: name (and optionally version/tags) of a step output's artifact."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArtifactConfig:
    """Use as ``Annotated[pd.DataFrame, ArtifactConfig(name="iris_dataset", version="raw")]``."""

    name: str | None = None
    version: str | int | None = None
    tags: list[str] = field(default_factory=list)
