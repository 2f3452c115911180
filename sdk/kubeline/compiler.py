"""Compile a ``@pipeline`` function into a SnapshotSpec (pure: no cluster, no S3).

The pipeline function runs once with a tracer active; each step call records an
*invocation* (id ``trainer``, ``trainer_2``, ... or an explicit ``id=``) and
returns :class:`OutputRef` placeholders. The invocations, run configuration and
options then become the SnapshotSpec, whose canonical JSON hash names the
Snapshot: the same code, DAG and configuration give the same Snapshot name.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from kubeline import __version__
from kubeline.context import PipelineContext, pipeline_context
from kubeline.errors import CompileError, InvalidRunConfiguration
from kubeline.materializers.registry import (
    artifact_type_of,
    materializer_path_for_type,
    materializer_path_of,
)
from kubeline.resources.json_values import canonical_json, is_json, type_name
from kubeline.resources.models import (
    CodeArchive,
    ModelConfig,
    ResourceRequirements,
    RetryPolicy,
    RunConfiguration,
    SnapshotSpec,
    StepInput,
    StepOutput,
    StepRunConfig,
    StepSpec,
)
from kubeline.resources.name_templates import RUN_TIME_PLACEHOLDERS, fill_run_time_placeholders
from kubeline.resources.names import (
    API_VERSION,
    ENV_CODE_IN_IMAGE,
    ENV_IMAGE,
    ENV_SOURCE_ROOT,
    LABEL_PIPELINE,
    dns_name,
    is_dns_label,
    short_hash,
    snapshot_input_labels,
)
from kubeline.resources.run_config import StepParameters, parameter_problem, run_config_problems
from kubeline.settings import StepOptions
from kubeline.signature import parameter_types, type_path
from kubeline.source_hash import code_hash
from kubeline.tracing import Invocation, OutputRef, Tracer, tracing

if TYPE_CHECKING:
    from kubeline.pipelines import Pipeline
    from kubeline.resources.models import ModelArtifactType as ArtifactLinkType

SOURCE_ROOT_MARKER = ".kubeline"
#: A script whose file name is no module name (``01_train.py``): its path in the source root.
SCRIPT_PATH = re.compile(r"^(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9_][A-Za-z0-9_./-]*\.py$")


# --------------------------------------------------------------------------- source root


def find_source_root(func: Any) -> Path:
    """The directory whose contents are packaged as the step code.

    In order: ``KUBELINE_SOURCE_ROOT``; the nearest ancestor of the pipeline's file
    holding a ``.kubeline`` marker; for a module imported by dotted name, the
    sys.path entry it was imported from; else the directory of the pipeline's file.
    """
    env = os.environ.get(ENV_SOURCE_ROOT)
    if env:
        return Path(env).resolve()
    file = inspect.getsourcefile(func)
    if not file:
        raise CompileError(
            f"pipeline '{func.__name__}' has no source file (defined interactively?); define "
            "pipelines and steps in a .py file"
        )
    path = Path(file).resolve()
    for parent in path.parents:
        if (parent / SOURCE_ROOT_MARKER).exists():
            return parent
    module = getattr(func, "__module__", "__main__")
    if module != "__main__" and path.stem == module.rsplit(".", 1)[-1]:
        depth = module.count(".") + (1 if path.stem == "__init__" else 0)
        return path.parents[depth]
    return path.parent


def entrypoint_of(func: Any, root: Path, step_name: str) -> str:
    """'module:qualname' to import ``func`` (or its Step) from the source root."""
    qualname = func.__qualname__
    if "<locals>" in qualname:
        raise CompileError(
            f"step '{step_name}' is defined inside a function; define steps at module level so "
            "the step Pod can import them"
        )
    module = func.__module__
    file = inspect.getsourcefile(func)
    rel: Path | None = None
    if file:
        try:
            rel = Path(file).resolve().relative_to(root.resolve())
        except ValueError:
            rel = None
    if rel is not None and not _importable_from(root, module):
        parts = list(rel.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts and all(p.isidentifier() for p in parts):
            module = ".".join(parts)
        elif module == "__main__" and rel.suffix == ".py" and SCRIPT_PATH.match(rel.as_posix()):
            return f"{rel.as_posix()}:{qualname}"  # a script like 01_train.py, loaded by path
    if module == "__main__":
        raise CompileError(
            f"step '{step_name}' lives in a __main__ module outside the source root {root}; "
            "move it into a .py file under the source root"
        )
    return f"{module}:{qualname}"


def hook_entrypoint(hook: Any, root: Path, step_id: str) -> str:
    """A hook as 'module:function': a function is located like a step; a source string
    'pkg.mod.func' becomes 'pkg.mod:func'."""
    if isinstance(hook, str):
        if ":" in hook:
            return hook
        module, _, attr = hook.rpartition(".")
        return f"{module}:{attr}"
    try:
        return entrypoint_of(hook, root, f"{step_id} (hook {getattr(hook, '__name__', hook)})")
    except CompileError as exc:
        raise CompileError(f"{exc} (hooks, like steps, must be module-level functions)") from None


def substitute(template: str, substitutions: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders from ``substitutions``; ``{date}``/``{time}`` stay for the
    run; an unknown placeholder is an error naming it."""
    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in substitutions:
            return substitutions[key]
        if key in RUN_TIME_PLACEHOLDERS:
            return match.group(0)
        raise CompileError(
            f"name {template!r} uses placeholder {{{key}}}, which has no value: give "
            f"substitutions={{'{key}': ...}} (known: date, time, {', '.join(substitutions)})")

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", fill, template)


def _importable_from(root: Path, module: str) -> bool:
    if module == "__main__":
        return False
    base = root.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def step_dns_names(ids: list[str]) -> dict[str, str]:
    """Invocation id -> unique DNS label ('svc_trainer' -> 'svc-trainer'), deterministic."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for inv_id in ids:
        candidate = inv_id.replace("_", "-").replace(".", "-")
        if not is_dns_label(candidate):
            candidate = dns_name(inv_id)
        if candidate in used:
            candidate = f"{candidate[:54].rstrip('-')}-{short_hash(inv_id)}"
        out[inv_id] = candidate
        used.add(candidate)
    return out


# --------------------------------------------------------------------------- compile


@dataclass
class CompiledPipeline:
    """The result of compiling: the SnapshotSpec, its object name and the run config."""

    spec: SnapshotSpec
    snapshot_name: str
    pipeline_object_name: str
    source_root: Path
    run_config: dict[str, Any]
    code_in_image: bool

    def snapshot_object(self) -> dict[str, Any]:
        spec = self.spec.to_k8s()
        return {
            "apiVersion": API_VERSION, "kind": "Snapshot",
            "metadata": {"name": self.snapshot_name,
                         "labels": {LABEL_PIPELINE: self.pipeline_object_name,
                                    **snapshot_input_labels(spec)}},
            "spec": spec,
        }


def default_image() -> str:
    return os.environ.get(ENV_IMAGE) or f"localhost/kubeline:{__version__}"


def snapshot_name(spec: SnapshotSpec) -> str:
    """Content-addressed Snapshot object name: '<pipeline dns>-<sha256(spec)[:12]>'."""
    digest = hashlib.sha256(canonical_json(spec.to_k8s()).encode()).hexdigest()[:12]
    return f"{spec.pipeline[:50].rstrip('-')}-{digest}"


def _bind_pipeline_params(pipeline: Pipeline, args: tuple[Any, ...],
                          kwargs: dict[str, Any]) -> dict[str, Any]:
    sig = inspect.signature(pipeline.entrypoint)
    merged = dict(pipeline.options.parameters)
    merged.update(kwargs)
    try:
        bound = sig.bind(*args, **{k: v for k, v in merged.items()
                                   if k in sig.parameters or _has_var_kw(sig)})
    except TypeError as exc:
        raise CompileError(f"pipeline '{pipeline.name}': {exc}") from None
    unknown = [k for k in merged if k not in sig.parameters and not _has_var_kw(sig)]
    if unknown:
        raise CompileError(
            f"pipeline '{pipeline.name}': unknown parameter(s) {unknown}; the pipeline function "
            f"accepts: {', '.join(sig.parameters) or '(no arguments)'}"
        )
    bound.apply_defaults()
    params = dict(bound.arguments)
    for key, value in params.items():
        if not is_json(value) and not callable(getattr(value, "to_artifact_ref", None)):
            raise CompileError(
                f"pipeline '{pipeline.name}': parameter '{key}' is a {type_name(value)}, not a "
                "JSON value; pipeline parameters must be JSON (numbers, strings, lists, dicts)"
            )
    return params


def _has_var_kw(sig: inspect.Signature) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def step_parameters(inv: Invocation, dns: str) -> StepParameters:
    """What a run configuration may set on this invocation, typed from its annotations."""
    typed = parameter_types(inv.step.entrypoint, inv.id)
    return StepParameters(
        id=inv.id, name=dns,
        types={n: typed[n][0] if n in typed else None for n in inv.arg_names},
        inputs={n: _source_of(i) for n, i in inv.inputs.items()},
        any_parameter=inv.var_kwargs, annotations={n: a for n, (_, a) in typed.items()})


def check_invocation_parameters(tracer: Tracer) -> None:
    """Parameter values written in the pipeline code (and pipeline parameters passed on)
    follow the same rule as a run configuration's: the annotation's JSON type."""
    for inv in tracer.invocations.values():
        params = step_parameters(inv, inv.id)
        problems = [p for name, value in inv.parameters.items()
                    if (p := parameter_problem(params, name, value))]
        if problems:
            raise InvalidRunConfiguration(f"pipeline '{tracer.pipeline_name}': "
                                          + "; ".join(problems))


def _apply_run_config(pipeline: Pipeline, tracer: Tracer, dns: dict[str, str]) -> None:
    """Check the pipeline's ``steps`` configuration with the run-configuration rule (what
    the operator and ``trigger_pipeline`` check too), then set its parameter values."""
    by_name = {v: k for k, v in dns.items()}
    steps = [step_parameters(inv, dns[inv.id]) for inv in tracer.invocations.values()]
    config = RunConfiguration(steps={
        key: StepRunConfig(parameters=dict(cfg.get("parameters") or {}))
        for key, cfg in pipeline.options.steps.items()})
    problems = run_config_problems(steps, (config,), check_required=False)
    if problems:
        raise InvalidRunConfiguration(f"pipeline '{pipeline.name}': " + "; ".join(problems))
    for key, cfg in pipeline.options.steps.items():
        inv = tracer.invocations[key if key in tracer.invocations else by_name[key]]
        inv.parameters.update(cfg.get("parameters") or {})
    for key in pipeline.options.step_options:
        if key not in tracer.invocations and key not in by_name:
            raise CompileError(
                f"step settings name step '{key}', which is not in pipeline '{pipeline.name}' "
                f"(steps: {', '.join(tracer.invocations)})"
            )


def _source_of(inp: dict[str, Any]) -> str:
    if "step" in inp:
        return f"output '{inp['output']}' of step '{inp['step']}'"
    if "model_artifact" in inp:
        ref = inp["model_artifact"]
        return f"artifact '{ref.get('artifact')}' of model '{ref.get('model')}'"
    return f"artifact '{inp['artifact'].get('name')}'"


def _fill_defaults_and_check(tracer: Tracer, allow_unset: bool = False) -> None:
    """Fill parameter defaults; a parameter without default and value is an error, or, with
    ``allow_unset`` (snapshots), left to the run configuration (recorded as required)."""
    for inv in tracer.invocations.values():
        sig = inspect.signature(inv.step.entrypoint)
        for name in inv.arg_names:
            if name in inv.inputs or name in inv.parameters:
                continue
            param = sig.parameters[name]
            if param.default is inspect.Parameter.empty and allow_unset:
                inv.parameters[name] = None
                inv.unset.append(name)
                continue
            if param.default is inspect.Parameter.empty:
                raise CompileError(
                    f"step '{inv.id}': missing input '{name}'; pass a step output or a value "
                    f"for it in the pipeline, or set steps.{inv.id}.parameters.{name} in the run "
                    "configuration"
                )
            if not is_json(param.default):
                raise CompileError(
                    f"step '{inv.id}': parameter '{name}' has a non-JSON default "
                    f"({type_name(param.default)}); use a JSON default or pass the value"
                )
            inv.parameters[name] = param.default


def _parameter_extra(inv: Invocation, extra: dict[str, Any]) -> dict[str, Any]:
    """The step's ``extra`` plus what the run-configuration rule needs to know of its
    parameters: ``parameterTypes`` (the JSON type of each annotated parameter),
    ``parameterAnnotations`` (as written, for messages) and ``requiredParameters`` (those
    left to the run configuration)."""
    out = dict(extra)
    typed = {name: kind for name, kind in parameter_types(inv.step.entrypoint, inv.id).items()
             if name not in inv.inputs}
    if typed:
        out["parameterTypes"] = {**(extra.get("parameterTypes") or {}),
                                 **{n: t for n, (t, _) in sorted(typed.items())}}
        out["parameterAnnotations"] = {**(extra.get("parameterAnnotations") or {}),
                                       **{n: a for n, (_, a) in sorted(typed.items())}}
    if inv.unset:
        out["requiredParameters"] = sorted(inv.unset)
    return out


def _topological_order(tracer: Tracer) -> tuple[list[str], dict[str, list[str]]]:
    """Invocation ids in a stable topological order, and each one's extra upstream ids."""
    after: dict[str, list[str]] = {}
    for inv in tracer.invocations.values():
        resolved: list[str] = []
        for item in inv.after:
            if isinstance(item, OutputRef):
                target = item.invocation_id
            elif isinstance(item, str):
                target = item
            elif hasattr(item, "entrypoint") and hasattr(item, "name"):
                target = item.name
            else:
                raise CompileError(
                    f"step '{inv.id}': after= takes invocation ids, steps or outputs, not "
                    f"{type_name(item)}"
                )
            if target not in tracer.invocations:
                raise CompileError(
                    f"step '{inv.id}': after='{target}' names no step in this pipeline "
                    f"(steps: {', '.join(tracer.invocations)})"
                )
            if target == inv.id:
                raise CompileError(f"step '{inv.id}': after= names the step itself")
            if target not in resolved:
                resolved.append(target)
        after[inv.id] = resolved
    deps = {
        inv.id: {i["step"] for i in inv.inputs.values() if "step" in i} | set(after[inv.id])
        for inv in tracer.invocations.values()
    }
    order: list[str] = []
    done: set[str] = set()
    pending = list(tracer.invocations)
    while pending:  # invocation order, except where a dependency comes later (after=)
        ready = next((i for i in pending if deps[i] <= done), None)
        if ready is None:
            raise CompileError(
                f"the steps {pending} depend on each other in a cycle (check after=)")
        order.append(ready)
        done.add(ready)
        pending.remove(ready)
    return order, after


def compile_pipeline(pipeline: Pipeline, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                     image: str | None = None, code: Any = None,
                     source_root: Path | None = None,
                     display_name: str | None = None,
                     allow_unset_parameters: bool = False) -> CompiledPipeline:
    """Trace ``pipeline`` with its arguments and build the SnapshotSpec.

    ``allow_unset_parameters`` (snapshots only): a step parameter without default or value
    becomes a required parameter each run configuration must set.
    """
    options = pipeline.options
    params = _bind_pipeline_params(pipeline, args, kwargs)
    root = (source_root or find_source_root(
        getattr(pipeline, "source_function", None) or pipeline.entrypoint)).resolve()
    tracer = Tracer(pipeline.name)
    ctx = PipelineContext(name=pipeline.name, model=options.model,
                          enable_cache=options.enable_cache, parameters=dict(params),
                          extra=dict(options.extra))
    with tracing(tracer), pipeline_context(ctx):
        pipeline.entrypoint(**params)
    if not tracer.invocations:
        raise CompileError(f"pipeline '{pipeline.name}' calls no steps")
    dns = step_dns_names(list(tracer.invocations))
    _apply_run_config(pipeline, tracer, dns)
    _fill_defaults_and_check(tracer, allow_unset=allow_unset_parameters)
    check_invocation_parameters(tracer)
    order, after = _topological_order(tracer)

    defaults = options.step_defaults
    snapshot_image = image or defaults.image or default_image()
    pipeline_dns = dns_name(pipeline.name)
    by_name = {v: k for k, v in dns.items()}
    step_specs = []
    config_steps = {}
    code_in_image = bool(defaults.code_in_image)
    for inv_id in order:
        inv = tracer.invocations[inv_id]
        opts: StepOptions = defaults.merged(inv.step.options)
        for key, extra in options.step_options.items():
            if key == inv_id or by_name.get(key) == inv_id:
                opts = opts.merged(extra)
        code_in_image = code_in_image or bool(opts.code_in_image)
        run_cfg = options.steps.get(inv_id) or options.steps.get(dns[inv_id]) or {}
        func = inv.step.entrypoint
        inputs = []
        for arg in inv.arg_names + sorted(set(inv.inputs) - set(inv.arg_names)):
            src = inv.inputs.get(arg)
            if src is None:
                continue
            if "step" in src:
                inputs.append(StepInput(name=arg, step=dns[src["step"]], output=src["output"],
                                        unmaterialized=src.get("unmaterialized", False)))
            elif "model_artifact" in src:
                inputs.append(StepInput(name=arg, model_artifact=src["model_artifact"],
                                        unmaterialized=src.get("unmaterialized", False)))
            else:
                inputs.append(StepInput(name=arg, artifact=src["artifact"],
                                        unmaterialized=src.get("unmaterialized", False)))
        outputs = []
        substitutions = {**options.substitutions, **opts.substitutions}
        for out in inv.outputs:
            override = opts.output_materializers.get(
                out.name, opts.output_materializers.get("*"))
            outputs.append(StepOutput(
                name=out.name,
                materializer=(materializer_path_of(override) if override is not None
                              else materializer_path_for_type(out.type)),
                data_type=type_path(out.type),
                artifact_name=(substitute(out.artifact_name or out.name, substitutions)
                               if out.named else f"{pipeline.name}::{inv_id}::{out.name}"),
                artifact_type=cast("ArtifactLinkType", out.link_type or artifact_type_of(
                    override if override is not None else out.type)),
            ))
        step_specs.append(StepSpec(
            name=dns[inv_id], id=inv_id, function=func.__qualname__,
            entrypoint=entrypoint_of(func, root, inv_id),
            code_hash=code_hash(func, root),
            image=opts.image if opts.image and opts.image != snapshot_image else None,
            inputs=inputs, parameters=dict(sorted(inv.parameters.items())), outputs=outputs,
            after=[dns[a] for a in after[inv_id]],
            # The step's own switch; what a run decides from it, the pipeline's switch and
            # the configuration is kubeline.resources.run_config.effective_enable_cache.
            enable_cache=inv.step.options.enable_cache is not False,
            cache_version=opts.cache_version or "",
            cache_expires_after_seconds=opts.cache_expires_after,
            retry=RetryPolicy.model_validate(opts.retry) if opts.retry else None,
            timeout_seconds=opts.timeout,
            resources=ResourceRequirements(**opts.resources) if opts.resources else None,
            env=dict(sorted(opts.env.items())), extra=_parameter_extra(inv, opts.extra),
            hooks={kind: hook_entrypoint(hook, root, inv_id)
                   for kind, hook in sorted(opts.hooks.items())},
            enable_artifact_metadata=opts.enable_artifact_metadata is not False,
            enable_artifact_visualization=opts.enable_artifact_visualization is not False,
        ))
        # ZenML's rule: a step's explicit enable_cache (decorator, with_options, the
        # pipeline's steps options) wins over the pipeline's; unset, the pipeline's applies.
        step_cache = run_cfg.get("enable_cache")
        if step_cache is None:
            step_cache = opts.enable_cache if inv.step.options.enable_cache is None else (
                inv.step.options.enable_cache)
        config_steps[inv_id] = StepRunConfig(parameters=dict(sorted(inv.parameters.items())),
                                             enable_cache=step_cache)

    if code_in_image or os.environ.get(ENV_CODE_IN_IMAGE, "").lower() in ("1", "true"):
        code_in_image, code = True, None
    if isinstance(code, dict):
        code = CodeArchive.model_validate(code)
    spec = SnapshotSpec(
        pipeline=pipeline_dns, pipeline_name=pipeline.name, display_name=display_name,
        description=options.snapshot_description,
        image=snapshot_image, code=code, steps=step_specs,
        config_template=RunConfiguration(enable_cache=options.enable_cache, steps=config_steps),
        enable_cache=True if options.enable_cache is None else bool(options.enable_cache),
        model=ModelConfig.model_validate(options.model.to_spec()) if options.model else None,
        pipeline_parameters={k: v for k, v in params.items() if is_json(v)},
        extra=dict(options.extra),
    )
    run_config: dict[str, Any] = {}
    if options.enable_cache is not None:
        run_config["enableCache"] = options.enable_cache
    if options.run_name:
        run_config["runName"] = fill_run_time_placeholders(
            substitute(options.run_name, options.substitutions), datetime.now(UTC))
    if options.tags:
        run_config["tags"] = list(options.tags)
    user_steps = {
        (k if k in tracer.invocations else by_name[k]): {
            **({"parameters": v["parameters"]} if v.get("parameters") else {}),
            **({"enableCache": v["enable_cache"]} if v.get("enable_cache") is not None else {}),
        }
        for k, v in options.steps.items()
    }
    user_steps = {k: v for k, v in user_steps.items() if v}
    if user_steps:
        run_config["steps"] = user_steps
    return CompiledPipeline(spec=spec, snapshot_name=snapshot_name(spec),
                            pipeline_object_name=pipeline_dns, source_root=root,
                            run_config=run_config, code_in_image=code_in_image)
