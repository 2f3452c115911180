"""``@pipeline``: a function whose step calls form a DAG; calling it runs it on Kubernetes."""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, overload

from kubeline.errors import ConfigurationError
from kubeline.model import Model
from kubeline.settings import StepOptions, check_unsupported, options_from_kwargs
from kubeline.tracing import active_tracer

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("kubeline")

# Set by the step runtime while it imports user code: a module-level pipeline
# call (a script without `if __name__ == "__main__":`) must not submit a run.
IMPORTING_STEP_CODE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kubeline_importing_step_code", default=False
)

_RUN_CONFIG_KEYS = ("enable_cache", "run_name", "tags")


@dataclass(frozen=True)
class PipelineOptions:
    """Everything configurable on a pipeline (see ``Pipeline.with_options``)."""

    name: str | None = None
    enable_cache: bool | None = None
    model: Model | None = None
    step_defaults: StepOptions = field(default_factory=StepOptions)
    synchronous: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    step_options: dict[str, StepOptions] = field(default_factory=dict)
    run_name: str | None = None
    tags: tuple[str, ...] = ()
    namespace: str | None = None
    code_max_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    substitutions: dict[str, str] = field(default_factory=dict)
    snapshot_description: str | None = None  # create_snapshot(description=...)
    schedule: Any = None  # a kubeline.config.schedule.Schedule: calling creates it, no run


def _coerce_model(value: Any, where: str) -> Model | None:
    if value is None or isinstance(value, Model):
        return value
    if isinstance(value, dict):
        return Model(**value)
    raise ConfigurationError(f"{where}: model must be a Model(...) or a dict with a name")


def _coerce_schedule(value: Any, where: str) -> Any:
    from kubeline.config.schedule import Schedule

    if value is None or isinstance(value, Schedule):
        return value
    if isinstance(value, dict):
        from pydantic import ValidationError

        try:
            return Schedule(**value)
        except ValidationError as exc:
            raise ConfigurationError(f"{where}: invalid schedule: {exc}") from None
    raise ConfigurationError(f"{where}: schedule must be a Schedule(...) or a dict of its fields")


def _load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"configuration file {path} must hold a mapping at top level")
    return expand_env(data, str(path))


def expand_env(value: Any, where: str) -> Any:
    """ZenML's ``${VAR}`` references in a YAML configuration, filled from the environment;
    an unset variable is an error naming it."""
    import os
    import re

    if isinstance(value, dict):
        return {k: expand_env(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, where) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigurationError(f"{where}: environment variable {name} (${{{name}}}) "
                                     "is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", fill, value)


#: ZenML's YAML spellings -> the keyword they stand for.
_YAML_ALIASES = {"failure_hook_source": "on_failure", "success_hook_source": "on_success"}


def _yaml_keys(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A YAML configuration's keys as decorator keywords (ZenML's hook-source names)."""
    out = dict(data)
    for yaml_key, keyword in _YAML_ALIASES.items():
        if yaml_key in out:
            value = out.pop(yaml_key)
            if isinstance(value, dict):  # ZenML's source object form {module, attribute}
                value = f"{value.get('module')}.{value.get('attribute')}"
            out[keyword] = value
    if "build" in out and out.pop("build") is not None:
        raise ConfigurationError(f"{where}: build is not supported: Kubeline builds no "
                                 "images; set settings.docker.image")
    return out


def _pipeline_settings(kw: dict[str, Any], where: str) -> dict[str, Any]:
    """Take ZenML's ``settings={"orchestrator": {"synchronous": ...}}`` out of ``settings``."""
    settings = kw.get("settings")
    if not isinstance(settings, dict):
        return kw
    settings = dict(settings)
    for key in ("orchestrator", "orchestrator.kubernetes"):
        orch = settings.pop(key, None)
        if orch is None:
            continue
        orch = orch.model_dump() if hasattr(orch, "model_dump") else dict(orch)
        if "synchronous" in orch:
            kw.setdefault("synchronous", orch.pop("synchronous"))
        orch = {k: v for k, v in orch.items() if v not in (None, {}, [])}
        if orch:
            raise ConfigurationError(
                f"{where}: settings['{key}'] {sorted(orch)} are not supported: Kubeline's "
                "orchestrator settings are only synchronous (step Pods: resources, image, env)")
    kw = dict(kw)
    kw["settings"] = settings
    return kw


def _check_execution_mode(mode: Any, where: str) -> None:
    value = getattr(mode, "value", mode)
    if value not in (None, "fail_fast"):
        raise ConfigurationError(
            f"{where}: execution_mode={value!r} is not supported: Kubeline runs fail_fast "
            "(when a step fails, running steps are stopped and the rest skipped)")


def _tag_name(tag: Any, where: str) -> str:
    """A tag as its name: strings and ``Tag(name=...)`` (exclusive/cascade are refused)."""
    if isinstance(tag, str):
        return tag
    name = getattr(tag, "name", None)
    if not isinstance(name, str):
        raise ConfigurationError(f"{where}: tags must be strings or Tag(name=...)")
    if getattr(tag, "exclusive", False) or getattr(tag, "cascade", False):
        raise ConfigurationError(
            f"{where}: Tag({name!r}) with exclusive/cascade is not supported on run tags")
    return name


def build_options(base: PipelineOptions, where: str, **kw: Any) -> PipelineOptions:
    """Apply decorator / with_options keywords (and a ``config_path`` YAML) onto ``base``."""
    config_path = kw.pop("config_path", None)
    if config_path is not None:
        file_kw = _yaml_keys(_load_yaml(config_path), f"{where}, {config_path}")
        file_kw.update(kw)
        kw = file_kw
    kw = _pipeline_settings(kw, where)
    check_unsupported(where, kw)
    if "execution_mode" in kw:
        _check_execution_mode(kw.pop("execution_mode"), where)
    run_configuration = kw.pop("run_configuration", None)
    if run_configuration is not None:
        from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration

        rc = PipelineRunConfiguration.coerce(run_configuration).model_dump(exclude_none=True)
        for key, val in rc.items():
            kw.setdefault(key, val)
    updates: dict[str, Any] = {}
    if "name" in kw:
        updates["name"] = kw.pop("name")
    if "enable_cache" in kw:
        updates["enable_cache"] = kw.pop("enable_cache")
    if "model" in kw:
        updates["model"] = _coerce_model(kw.pop("model"), where)
    if "synchronous" in kw:
        updates["synchronous"] = bool(kw.pop("synchronous"))
    for key in ("run_name", "namespace", "code_max_bytes"):
        if key in kw:
            updates[key] = kw.pop(key)
    if "schedule" in kw:
        updates["schedule"] = _coerce_schedule(kw.pop("schedule"), where)
    if "tags" in kw:
        updates["tags"] = tuple(_tag_name(t, where) for t in kw.pop("tags") or ())
    if "extra" in kw:  # the pipeline's own extra (ZenML: not a default of the steps)
        extra = kw.pop("extra") or {}
        if not isinstance(extra, dict):
            raise ConfigurationError(f"{where}: extra must be a dict")
        updates["extra"] = {**base.extra, **extra}
    if "substitutions" in kw:
        subs = kw.pop("substitutions") or {}
        if not isinstance(subs, dict) or not all(isinstance(v, str) for v in subs.values()):
            raise ConfigurationError(f"{where}: substitutions must map names to strings")
        updates["substitutions"] = {**base.substitutions, **subs}
    if "parameters" in kw:
        params = kw.pop("parameters") or {}
        if not isinstance(params, dict):
            raise ConfigurationError(f"{where}: parameters must be a mapping")
        updates["parameters"] = {**base.parameters, **params}
    steps_cfg = kw.pop("steps", None) or {}
    if not isinstance(steps_cfg, dict):
        raise ConfigurationError(f"{where}: steps must be a mapping of step id -> configuration")
    new_steps = {k: dict(v) for k, v in base.steps.items()}
    new_step_options = dict(base.step_options)
    for step_id, cfg in steps_cfg.items():
        if hasattr(cfg, "model_dump"):
            cfg = cfg.model_dump(exclude_none=True)
        cfg = _yaml_keys(dict(cfg or {}), f"{where}, steps.{step_id}")
        run_part = {k: cfg.pop(k) for k in ("parameters", "enable_cache") if k in cfg}
        merged = new_steps.setdefault(step_id, {})
        if "parameters" in run_part:
            merged["parameters"] = {**merged.get("parameters", {}), **run_part["parameters"]}
        if "enable_cache" in run_part:
            merged["enable_cache"] = run_part["enable_cache"]
        if cfg:
            opts = options_from_kwargs(f"{where}, steps.{step_id}", **cfg)
            prev = new_step_options.get(step_id, StepOptions())
            new_step_options[step_id] = prev.merged(opts)
    updates["steps"] = new_steps
    updates["step_options"] = new_step_options
    step_kw = {k: kw.pop(k) for k in list(kw) if k in (
        "settings", "resources", "image", "env", "environment", "retry", "retries", "timeout",
        "cache_version", "cache_expires_after", "on_failure", "on_success",
        "enable_artifact_metadata", "enable_artifact_visualization")}
    if step_kw:
        updates["step_defaults"] = base.step_defaults.merged(options_from_kwargs(where, **step_kw))
    if kw:
        raise ConfigurationError(f"{where}: unknown option(s) {sorted(kw)}")
    return replace(base, **updates)


class Pipeline:
    """A pipeline: call it to run, ``with_options`` to configure, ``compile`` to inspect."""

    def __init__(self, func: Callable[..., Any], options: PipelineOptions) -> None:
        self.entrypoint = func
        self.options = options
        #: Whose file decides the source root (a single step's pipeline: the step's).
        self.source_function: Callable[..., Any] | None = None
        functools.update_wrapper(self, func)

    @property
    def name(self) -> str:
        return self.options.name or self.entrypoint.__name__

    @property
    def enable_cache(self) -> bool | None:
        return self.options.enable_cache

    def with_options(self, **options: Any) -> Pipeline:
        """A copy with options changed.

        Keywords: ``config_path`` (YAML with any of these keys), ``run_configuration``
        (PipelineRunConfiguration/dict), ``steps`` ({step id: {parameters, enable_cache,
        settings, ...}}), ``parameters`` (pipeline arguments), ``enable_cache``,
        ``synchronous``, ``model``, ``settings``, ``run_name``, ``tags``, ``namespace``,
        ``code_max_bytes``, ``schedule`` (a ``Schedule``: calling the pipeline then creates
        the Snapshot and the Schedule instead of a run) and step defaults (``image``,
        ``resources``, ``env``, ...).
        """
        return Pipeline(self.entrypoint,
                        build_options(self.options, f"pipeline '{self.name}'", **options))

    def configure(self, **options: Any) -> Pipeline:
        self.options = build_options(self.options, f"pipeline '{self.name}'", **options)
        return self

    def compile(self, *args: Any, image: str | None = None, code: Any = None,
                source_root: Path | None = None, display_name: str | None = None,
                allow_unset_parameters: bool = False, **kwargs: Any) -> Any:
        """Trace the pipeline into a ``CompiledPipeline`` (pure: no cluster, no S3).

        ``allow_unset_parameters``: compile as a snapshot, whose step parameters without a
        value are left to each run's configuration.
        """
        from kubeline.compiler import compile_pipeline

        return compile_pipeline(self, args, kwargs, image=image, code=code,
                                source_root=source_root, display_name=display_name,
                                allow_unset_parameters=allow_unset_parameters)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Compile, upload code, create the Snapshot and a PipelineRun; wait unless async."""
        if active_tracer() is not None:
            # Composition (ZenML): the inner pipeline's steps join the outer pipeline.
            return self.entrypoint(*args, **{**self.options.parameters, **kwargs})
        if IMPORTING_STEP_CODE.get():
            log.info("not running pipeline %s: called while a step Pod imports its code",
                     self.name)
            return None
        if self.options.schedule is not None:
            from kubeline.submit import schedule_pipeline

            return schedule_pipeline(self, args, kwargs)
        from kubeline.submit import run_pipeline

        return run_pipeline(self, args, kwargs)

    def create_snapshot(self, name: str | None = None, description: str | None = None,
                        **parameters: Any) -> Any:
        """Create (or reuse) a Snapshot of this pipeline without running it.

        ``name`` is the snapshot's display name (runnable by that name), ``description``
        its description; ``parameters`` are pipeline arguments.
        """
        from kubeline.submit import create_snapshot

        target = self
        if description is not None:
            target = Pipeline(self.entrypoint, replace(self.options,
                                                       snapshot_description=str(description)))
            target.source_function = self.source_function
        return create_snapshot(target, (), parameters, display_name=name)

    @property
    def model(self) -> Any:
        """The pipeline as stored in the cluster: ``Client().get_pipeline(name)``."""
        from kubeline.client import Client

        return Client(**_client_kwargs(self.options.namespace)).get_pipeline(self.name)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"


def _client_kwargs(namespace: str | None) -> dict[str, Any]:
    return {"namespace": namespace} if namespace else {}


@overload
def pipeline(_func: F) -> Pipeline: ...


@overload
def pipeline(
    _func: None = None, *, name: str | None = None, enable_cache: bool | None = None,
    model: Model | None = None, settings: dict[str, Any] | None = None,
    synchronous: bool | None = None, **options: Any,
) -> Callable[[F], Pipeline]: ...


def pipeline(_func: Any = None, **options: Any) -> Any:
    """Decorate a function as a pipeline: ``@pipeline`` or ``@pipeline(enable_cache=..., ...)``.

    Options as in :meth:`Pipeline.with_options`; ``settings`` and step options given
    here are defaults for every step.
    """

    def decorate(func: Callable[..., Any]) -> Pipeline:
        where = f"pipeline '{options.get('name') or getattr(func, '__name__', func)}'"
        return Pipeline(func, build_options(PipelineOptions(), where, **dict(options)))

    if _func is not None:
        if options:
            raise TypeError("use @pipeline or @pipeline(...), not both a function and options")
        return decorate(_func)
    return decorate


BasePipeline = Pipeline
