"""``PipelineRunConfiguration``: per-step parameters and cache switches for a run.

Accepted wherever a run configuration is: as this object, as a plain dict of the
same shape (snake_case or camelCase keys), or as a YAML file path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeline.errors import ConfigurationError
from kubeline.resources.models import RunConfiguration, StepRunConfig


class PipelineRunConfiguration(RunConfiguration):
    """A run configuration, e.g.
    ``PipelineRunConfiguration(steps={"trainer": {"parameters": {...}}})``."""

    @classmethod
    def from_yaml(cls, path: str | Path) -> PipelineRunConfiguration:
        """Load a configuration from a YAML file."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigurationError(f"cannot read run configuration {path}: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"run configuration {path} is not valid YAML: {exc}") from None
        return cls.coerce(data, source=str(path))

    @classmethod
    def coerce(cls, value: Any, source: str = "run_configuration") -> PipelineRunConfiguration:
        """Accept an instance, a RunConfiguration, a dict, a YAML path, or None."""
        from pydantic import ValidationError

        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, RunConfiguration):
            return cls.model_validate(value.model_dump())
        if isinstance(value, (str, Path)):
            return cls.from_yaml(value)
        if isinstance(value, dict):
            try:
                return cls.model_validate(value)
            except ValidationError as exc:
                raise ConfigurationError(f"invalid {source}: {_explain(exc)}") from None
        raise ConfigurationError(
            f"{source} must be a PipelineRunConfiguration, a dict or a YAML file path, "
            f"not {type(value).__name__}"
        )


def _explain(exc: Any) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


__all__ = ["PipelineRunConfiguration", "StepRunConfig"]
