"""Step and pipeline options: resources, image, env, retries, timeout, cache switches.

Options come from ``@step(...)``/``@pipeline(...)`` keywords, from
``settings={"resources": ..., "docker": ...}`` (ZenML's keys) and from
``with_options(...)``. All are normalized into :class:`StepOptions`, a frozen
value merged with :meth:`StepOptions.merged` (later values win).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from kubeline.errors import ConfigurationError


class ByteUnit(StrEnum):
    """Memory units as ZenML names them (``ResourceSettings(memory="2GB")``)."""

    KB = "KB"
    KIB = "KiB"
    MB = "MB"
    MIB = "MiB"
    GB = "GB"
    GIB = "GiB"
    TB = "TB"
    TIB = "TiB"
    PB = "PB"
    PIB = "PiB"


@dataclass(frozen=True)
class ResourceSettings:
    """Compute resources of a step Pod (``cpu_count`` cores, ``memory`` like '2GB' or '512Mi')."""

    cpu_count: float | None = None
    memory: str | None = None
    gpu_count: int | None = None

    @property
    def empty(self) -> bool:
        """True when no resource is set."""
        return self.cpu_count is None and self.memory is None and self.gpu_count is None


@dataclass(frozen=True)
class DockerSettings:
    """Image settings: ``image`` (or ``parent_image``); ``code_in_image`` skips the code archive;
    ``environment`` goes into the step Pods. ZenML's image-building fields are accepted at
    their defaults; any other value raises (Kubeline builds no images: see
    :data:`IMAGE_BUILD_FIELDS`)."""

    image: str | None = None
    parent_image: str | None = None
    code_in_image: bool | None = None
    environment: dict[str, str] = field(default_factory=dict)
    skip_build: bool = False
    requirements: Any = None
    required_integrations: list[str] = field(default_factory=list)
    apt_packages: list[str] = field(default_factory=list)
    dockerfile: str | None = None
    build_context_root: str | None = None
    python_package_installer: Any = None
    replicate_local_python_environment: Any = None
    install_stack_requirements: bool = True
    copy_files: bool = True
    copy_global_config: bool = True
    allow_including_files_in_images: bool = True
    allow_download_from_code_repository: bool = True
    allow_download_from_artifact_store: bool = True
    user: str | None = None
    target_repository: str | None = None
    prevent_build_reuse: bool = False
    build_config: Any = None
    parent_image_build_config: Any = None
    dockerignore: str | None = None

    def __post_init__(self) -> None:
        changed = [name for name, default in IMAGE_BUILD_FIELDS.items()
                   if getattr(self, name) not in default]
        if changed:
            raise ConfigurationError(
                f"DockerSettings {changed} are not supported: Kubeline builds no images; build "
                "your image with these in it (see docs/authoring.md) and give it as "
                "parent_image or image")


#: ZenML's image-building fields of DockerSettings and the values Kubeline accepts for them
#: (what it does anyway: it never builds, it ships the code as an archive).
IMAGE_BUILD_FIELDS: dict[str, tuple[Any, ...]] = {
    "requirements": (None, [], ""), "required_integrations": ([],), "apt_packages": ([],),
    "dockerfile": (None,), "build_context_root": (None,), "python_package_installer": (None,),
    "replicate_local_python_environment": (None,), "copy_files": (True,),
    "allow_including_files_in_images": (True,), "allow_download_from_code_repository": (True,),
    "allow_download_from_artifact_store": (True,), "user": (None,),
    "target_repository": (None,), "prevent_build_reuse": (False,), "build_config": (None,),
    "parent_image_build_config": (None,), "dockerignore": (None,),
}


@dataclass(frozen=True)
class StepRetryConfig:
    """Retries after a failed attempt: ``delay`` seconds, multiplied by ``backoff`` each time.

    ZenML's defaults (one retry, no delay). A ``backoff`` below 1 keeps the delay constant.
    """

    max_retries: int = 1
    delay: float = 0
    backoff: float = 0
    max_delay: float = 600.0


@dataclass(frozen=True)
class StepOptions:
    """Everything configurable on a step (None/empty = inherit)."""

    name: str | None = None
    enable_cache: bool | None = None
    cache_version: str | None = None
    cache_expires_after: int | None = None
    image: str | None = None
    code_in_image: bool | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    retry: dict[str, Any] | None = None
    timeout: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    output_materializers: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)  # on_failure/on_success: callable or str
    substitutions: dict[str, str] = field(default_factory=dict)
    enable_artifact_metadata: bool | None = None
    enable_artifact_visualization: bool | None = None

    def merged(self, other: StepOptions) -> StepOptions:
        """``self`` overridden by the set fields of ``other`` (dicts are merged)."""
        updates: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, dict) and isinstance(theirs, dict):
                if theirs:
                    updates[f.name] = {**mine, **theirs}
            elif theirs is not None:
                updates[f.name] = theirs
        return replace(self, **updates)


def _cpu(value: Any, where: str) -> str:
    if isinstance(value, bool):
        raise ConfigurationError(f"{where}: cpu must be a number of cores or a string like '500m'")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ConfigurationError(f"{where}: cpu must be positive, got {value}")
        return str(int(value)) if float(value).is_integer() else f"{round(value * 1000)}m"
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?m?", value.strip()):
        return value.strip()
    raise ConfigurationError(f"{where}: cpu {value!r} is not a core count like 2, 0.5 or '500m'")


_MEMORY_UNITS = {"KB": "k", "MB": "M", "GB": "G", "TB": "T", "KIB": "Ki", "MIB": "Mi",
                 "GIB": "Gi", "TIB": "Ti", "K": "k", "M": "M", "G": "G", "T": "T",
                 "KI": "Ki", "MI": "Mi", "GI": "Gi", "TI": "Ti", "": ""}


def _memory(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
    if m and m.group(2).upper() in _MEMORY_UNITS:
        return f"{m.group(1)}{_MEMORY_UNITS[m.group(2).upper()]}"
    raise ConfigurationError(
        f"{where}: memory {value!r} is not a size like '512Mi', '2GB' or a byte count"
    )


def normalize_resources(value: Any, where: str) -> dict[str, Any]:
    """ResourceSettings or a dict (cpu/cpu_count, memory, gpu/gpu_count) -> {cpu, memory, gpu}."""
    if value is None:
        return {}
    if isinstance(value, ResourceSettings):
        value = asdict(value)
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: resources must be a dict or ResourceSettings")
    out: dict[str, Any] = {}
    for key, val in value.items():
        if val is None:
            continue
        if key in ("cpu", "cpu_count"):
            out["cpu"] = _cpu(val, where)
        elif key == "memory":
            out["memory"] = _memory(val, where)
        elif key in ("gpu", "gpu_count"):
            if not isinstance(val, int) or isinstance(val, bool) or val < 0:
                raise ConfigurationError(f"{where}: gpu count must be a non-negative integer")
            out["gpu"] = val
        else:
            raise ConfigurationError(
                f"{where}: unknown resource {key!r} (use cpu_count, memory, gpu_count)"
            )
    return out


def normalize_retry(value: Any, where: str) -> dict[str, Any] | None:
    """int (max retries), StepRetryConfig or dict -> RetryPolicy wire dict."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigurationError(f"{where}: retries must be a count or a StepRetryConfig")
    if isinstance(value, int):
        value = {"max_retries": value}
    if isinstance(value, StepRetryConfig):
        value = asdict(value)
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: retries must be a count, dict or StepRetryConfig")
    aliases = {"max_retries": "maxRetries", "delay": "backoffSeconds",
               "backoff_seconds": "backoffSeconds", "backoff": "backoffFactor",
               "backoff_factor": "backoffFactor", "max_delay": "maxBackoffSeconds",
               "max_backoff_seconds": "maxBackoffSeconds"}
    out: dict[str, Any] = {}
    for key, val in value.items():
        wire = aliases.get(key, key if key in aliases.values() else None)
        if wire is None:
            raise ConfigurationError(
                f"{where}: unknown retry option {key!r} "
                "(use max_retries, delay, backoff, max_delay)"
            )
        out[wire] = val
    if isinstance(out.get("backoffFactor"), (int, float)) and out["backoffFactor"] < 1:
        out["backoffFactor"] = 1  # ZenML's backoff=0 default: no growth
    return out


def _positive_seconds(value: Any, what: str, where: str) -> int | None:
    if value is None:
        return None
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ConfigurationError(f"{where}: {what} must be a positive number of seconds")
    return int(seconds)


SETTINGS_KEYS = ("resources", "docker", "retry", "env", "timeout")
HOOKS = ("on_failure", "on_success")
#: Where a step's ZenML ``step_type`` label is kept (the step's ``extra``).
STEP_TYPE_KEY = "stepType"

#: Options of ZenML's decorators that cannot mean anything on Kubeline: the error says why
#: (docs/authoring.md, "Differences from ZenML").
UNSUPPORTED = {
    "experiment_tracker": "Kubeline has no stack components; log to your tracker from the step",
    "step_operator": "every Kubeline step already runs as its own Pod; set resources/image",
    "secrets": "ZenML secrets do not exist on Kubeline; mount a Kubernetes Secret as env",
    "cache_policy": "Kubeline's cache key is fixed (code, image, parameters, inputs, env, "
                    "cache_version); use cache_version or enable_cache",
    "on_start": "only on_failure and on_success hooks run on Kubeline",
    "on_end": "only on_failure and on_success hooks run on Kubeline",
    "on_init": "only on_failure and on_success hooks run on Kubeline",
    "on_cleanup": "only on_failure and on_success hooks run on Kubeline",
    "runtime": "every Kubeline step runs isolated in its own Pod",
    "heartbeat_healthy_threshold": "the operator watches step Pods; there are no heartbeats",
    "group": "step groups are not supported",
}
#: Switches whose only supported value is ZenML's default; the other value raises.
ALWAYS_ON = {
    "enable_step_logs": "Kubeline always keeps step logs (each step's Pod logs)",
    "enable_pipeline_logs": "Kubeline always keeps run events (kubectl describe pipelinerun)",
}
#: Switches whose only supported value is False (what Kubeline does anyway).
ALWAYS_OFF = {
    "enable_heartbeat": "Kubeline steps send no heartbeats: the operator watches their Pods",
}


def check_unsupported(where: str, kw: dict[str, Any]) -> None:
    """Raise for a ZenML option Kubeline deliberately does not support; drop accepted no-ops."""
    for key in list(kw):
        if key in UNSUPPORTED and kw[key] not in (None, [], {}):
            raise ConfigurationError(f"{where}: {key}= is not supported: {UNSUPPORTED[key]}")
        if key in UNSUPPORTED:
            kw.pop(key)
        elif key in ALWAYS_ON:
            value = kw.pop(key)
            if value is False:
                raise ConfigurationError(f"{where}: {key}=False is not supported: "
                                         f"{ALWAYS_ON[key]}")
        elif key in ALWAYS_OFF:
            value = kw.pop(key)
            if value is True:
                raise ConfigurationError(f"{where}: {key}=True is not supported: "
                                         f"{ALWAYS_OFF[key]}")


def hook_source(hook: Any, where: str, kind: str) -> Any:
    """A hook as given: a module-level function, or a source string ('pkg.mod.func' or
    'pkg.mod:func'); checked here, resolved to 'module:function' by the compiler."""
    if isinstance(hook, str):
        if not re.fullmatch(r"[A-Za-z_][\w.]*[.:][A-Za-z_]\w*", hook):
            raise ConfigurationError(
                f"{where}: {kind}={hook!r} is not a source like 'my_module.my_hook'")
        return hook
    if not callable(hook):
        raise ConfigurationError(f"{where}: {kind} must be a function or a source string")
    why = getattr(hook, "__kubeline_unsupported_hook__", None)
    if why:
        raise ConfigurationError(f"{where}: {kind}={hook.__name__} is not supported: {why}")
    return hook


#: ``output_materializers=SomeMaterializer`` (no mapping): the materializer of every output.
ALL_OUTPUTS = "*"


def _output_materializers(value: Any, where: str) -> dict[str, Any]:
    """ZenML's forms: {output: materializer} or one materializer (class or source) for all."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (str, type)):
        return {ALL_OUTPUTS: value}
    raise ConfigurationError(f"{where}: output_materializers must be a materializer or a "
                             "mapping of output name to materializer")


def options_from_kwargs(where: str, **kw: Any) -> StepOptions:
    """Build StepOptions from decorator / with_options keywords (``settings`` included)."""
    check_unsupported(where, kw)
    if "environment" in kw:  # ZenML's name for env
        kw["env"] = {**(kw.pop("environment") or {}), **(kw.pop("env", None) or {})}
    hooks = {k: hook_source(kw.pop(k), where, k) for k in HOOKS if kw.get(k) is not None}
    for k in HOOKS:
        kw.pop(k, None)
    substitutions = kw.pop("substitutions", None) or {}
    if not isinstance(substitutions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in substitutions.items()):
        raise ConfigurationError(f"{where}: substitutions must map names to strings")
    step_type = kw.pop("step_type", None)
    if step_type is not None:
        from kubeline.enums import StepType

        try:
            step_type = StepType(getattr(step_type, "value", step_type)).value
        except ValueError:
            raise ConfigurationError(
                f"{where}: step_type {step_type!r} is not one of "
                f"{', '.join(t.value for t in StepType)}") from None
    flags = {k: kw.pop(k) for k in ("enable_artifact_metadata", "enable_artifact_visualization")
             if k in kw}
    for k, v in flags.items():
        if v is not None and not isinstance(v, bool):
            raise ConfigurationError(f"{where}: {k} must be true or false")
    settings = dict(kw.pop("settings", None) or {})
    unknown = [k for k in settings if k not in SETTINGS_KEYS]
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown settings key(s) {unknown} (known: {', '.join(SETTINGS_KEYS)})"
        )
    docker = settings.get("docker")
    if isinstance(docker, dict):
        unknown_docker = sorted(set(docker) - {f.name for f in fields(DockerSettings)})
        if unknown_docker:
            raise ConfigurationError(f"{where}: unknown DockerSettings field(s) {unknown_docker}")
        docker = DockerSettings(**docker)
    if docker is not None and not isinstance(docker, DockerSettings):
        raise ConfigurationError(f"{where}: settings['docker'] must be a dict or DockerSettings")
    resources = normalize_resources(settings.get("resources"), where)
    resources.update(normalize_resources(kw.pop("resources", None), where))
    env = dict(docker.environment) if docker else {}
    env.update(settings.get("env") or {})
    env.update(kw.pop("env", None) or {})
    bad_env = [k for k, v in env.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad_env:
        raise ConfigurationError(f"{where}: env values must be strings (check {bad_env})")
    retry = kw.pop("retry", None)
    retries = kw.pop("retries", None)
    retry = next((r for r in (retry, retries, settings.get("retry")) if r is not None), None)
    cache_version = kw.pop("cache_version", None)
    extra = kw.pop("extra", None) or {}
    if not isinstance(extra, dict):
        raise ConfigurationError(f"{where}: extra must be a dict")
    if step_type is not None:
        extra = {**extra, STEP_TYPE_KEY: step_type}
    timeout = kw.pop("timeout", None)
    if timeout is None:
        timeout = settings.get("timeout")
    options = StepOptions(
        name=kw.pop("name", None),
        enable_cache=kw.pop("enable_cache", None),
        cache_version=None if cache_version is None else str(cache_version),
        cache_expires_after=_positive_seconds(
            kw.pop("cache_expires_after", None), "cache_expires_after", where),
        image=kw.pop("image", None) or (docker and (docker.image or docker.parent_image)) or None,
        code_in_image=docker.code_in_image if docker else None,
        resources=resources,
        env=env,
        retry=normalize_retry(retry, where),
        timeout=_positive_seconds(timeout, "timeout", where),
        extra=dict(extra),
        output_materializers=_output_materializers(kw.pop("output_materializers", None), where),
        hooks=hooks,
        substitutions=dict(substitutions),
        enable_artifact_metadata=flags.get("enable_artifact_metadata"),
        enable_artifact_visualization=flags.get("enable_artifact_visualization"),
    )
    if kw.get("model") is not None:
        raise ConfigurationError(
            f"{where}: a model per step (@step(model=...)) is not supported by Kubeline: a run "
            "belongs to one model version, so configure it on the pipeline with "
            "@pipeline(model=Model(...)); steps see it as get_step_context().model")
    kw.pop("model", None)
    if kw:
        raise ConfigurationError(f"{where}: unknown option(s) {sorted(kw)}")
    return options
