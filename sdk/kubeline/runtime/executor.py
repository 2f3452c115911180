"""Run one step attempt: code -> inputs -> function -> outputs -> manifest -> termination message.

Exit codes: 0 success; 1 the step failed (user code, its inputs or outputs);
2 setup failed (bad invocation, code digest mismatch, artifact store unreachable).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubeline.errors import ArtifactStoreError, KubelineError
from kubeline.runtime.messages import failure_message, success_message, write_termination

EXIT_OK, EXIT_STEP, EXIT_SETUP = 0, 1, 2
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
MANIFEST = "manifest.json"


class SetupError(KubelineError):
    """The runtime could not prepare the step (exit code 2)."""


class StepOutputError(KubelineError):
    """The step's return value does not match its declared outputs."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _log(message: str) -> None:
    print(f"kubeline: {message}", flush=True)


def parse_invocation(raw: str | None) -> dict[str, Any]:
    if not raw:
        raise SetupError("KUBELINE_INVOCATION is not set: this command runs inside step Pods")
    try:
        inv = json.loads(raw)
    except ValueError as exc:
        raise SetupError(f"KUBELINE_INVOCATION is not valid JSON: {exc}") from None
    missing = [k for k in ("run", "step", "outputsUri") if k not in inv]
    if missing:
        raise SetupError(f"KUBELINE_INVOCATION lacks {missing}")
    for key in ("entrypoint", "id", "outputs"):
        if key not in inv["step"]:
            raise SetupError(f"KUBELINE_INVOCATION step lacks '{key}'")
    return inv


def prepare_code(inv: dict[str, Any], store: Any) -> None:
    """Fetch and verify the code archive (if any) and put it first on sys.path."""
    code = inv.get("code")
    if code:
        from kubeline.code_archive import CodeArchiveError, fetch_code

        cache = Path(os.environ.get("KUBELINE_CODE_DIR") or "/tmp/kubeline-code")
        try:
            root = fetch_code(store, code["uri"], code["sha256"], cache)
        except CodeArchiveError as exc:
            raise SetupError(str(exc)) from None
        except (FileNotFoundError, ArtifactStoreError) as exc:
            raise SetupError(f"cannot download the code archive {code['uri']}: {exc}") from None
        sys.path.insert(0, str(root))
        _log(f"code {code['sha256'][:12]} ready in {root}")
    elif os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def import_step_function(entrypoint: str) -> Any:
    """Import 'module:qualname'; a Step object yields its function."""
    from kubeline.pipelines import IMPORTING_STEP_CODE

    module_name, _, qualname = entrypoint.partition(":")
    token = IMPORTING_STEP_CODE.set(True)
    try:
        obj: Any = importlib.import_module(module_name)
    finally:
        IMPORTING_STEP_CODE.reset(token)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    entry = getattr(obj, "entrypoint", None)
    return entry if callable(entry) else obj


def _load_inputs(inv: dict[str, Any], func: Any, store: Any) -> dict[str, Any]:
    from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from kubeline.materializers.registry import import_object
    from kubeline.signature import concrete_type, type_hints

    hints = type_hints(func, inv["step"]["id"])
    unmaterialized = {i["name"] for i in inv["step"].get("inputs", []) if i.get("unmaterialized")}
    values: dict[str, Any] = {}
    for name, ref in (inv.get("inputs") or {}).items():
        if name in unmaterialized or concrete_type(hints.get(name)) is UnmaterializedArtifact:
            values[name] = UnmaterializedArtifact(
                id=ref.get("id"), uri=ref["uri"], name=ref.get("artifactName"),
                version=ref.get("version"), materializer=ref.get("materializer"),
                data_type=ref.get("dataType"), artifact_version=ref.get("artifactVersion"))
            continue
        tp = concrete_type(hints.get(name))
        if tp is None and ref.get("dataType") and ref["dataType"] != "typing.Any":
            try:
                tp = import_object(ref["dataType"])
            except (ImportError, AttributeError):
                tp = None
        cls = import_object(ref["materializer"])
        started = time.monotonic()
        values[name] = cls(ref["uri"], store).load(tp if isinstance(tp, type) else object)
        _log(f"loaded input {name} ({ref.get('artifactName', '')} v{ref.get('version', '?')}) "
             f"in {time.monotonic() - started:.2f}s")
    return values


def check_required_parameters(step: dict[str, Any], params: dict[str, Any]) -> None:
    """A parameter the snapshot left unset (``extra.requiredParameters``) needs a value."""
    from kubeline.errors import ConfigurationError

    for name in (step.get("extra") or {}).get("requiredParameters") or []:
        if params.get(name) is None:
            raise ConfigurationError(
                f"step {step['id']!r} needs parameter {name!r}, which has no default: set "
                f"spec.config.steps.{step['id']}.parameters.{name} in the PipelineRun"
            )


def _call_kwargs(func: Any, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    from kubeline.signature import parameter_names

    names, var_kw = parameter_names(func)
    kwargs = {k: v for k, v in params.items() if k in names or var_kw}
    kwargs.update(inputs)
    return kwargs


def _split_outputs(step: dict[str, Any], result: Any) -> list[Any]:
    outputs = step["outputs"]
    if not outputs:
        return []
    if len(outputs) == 1:
        return [result]
    if not isinstance(result, (tuple, list)) or len(result) != len(outputs):
        got = (f"{len(result)} values" if isinstance(result, (tuple, list))
               else f"a single {type(result).__name__}")
        raise StepOutputError(
            f"step '{step['id']}' declares {len(outputs)} outputs "
            f"({', '.join(o['name'] for o in outputs)}) but returned {got}"
        )
    return list(result)


def save_outputs(inv: dict[str, Any], func: Any, values: list[Any], store: Any,
                 ctx: Any) -> dict[str, Any]:
    """Save each output through its materializer; returns the manifest's ``outputs``."""
    from kubeline.compiler import fill_run_time_placeholders
    from kubeline.materializers.base import json_safe
    from kubeline.materializers.registry import materializer_for_value, materializer_path_of
    from kubeline.signature import parse_outputs, type_path

    step = inv["step"]
    declared = {o.name: o for o in parse_outputs(func, step["id"])}
    with_metadata = step.get("enableArtifactMetadata", True)
    with_visualizations = step.get("enableArtifactVisualization", True)
    now = datetime.now(UTC)
    manifest: dict[str, Any] = {}
    for out, value in zip(step["outputs"], values, strict=True):
        name = out["name"]
        uri = f"{inv['outputsUri'].rstrip('/')}/{name}"
        cls = materializer_for_value(value, out.get("materializer"))
        materializer = cls(uri, store)
        started = time.monotonic()
        materializer.save(value)
        spec = declared.get(name)
        metadata: dict[str, Any] = {}
        if with_metadata:
            try:
                metadata.update(materializer.extract_metadata(value))
            except Exception as exc:  # metadata is best effort; the data is saved
                _log(f"warning: metadata of output {name} failed: {exc!r}")
        metadata["storage_size"] = materializer.storage_size
        metadata.update(dict(spec.run_metadata) if spec else {})
        metadata.update(ctx.output_metadata.get(name, {}))
        visualizations: dict[str, str] = {}
        if with_visualizations:
            try:
                visualizations = materializer.save_visualizations(value) or {}
            except Exception as exc:
                _log(f"warning: visualization of output {name} failed: {exc!r}")
        tags = list(spec.tags) if spec else []
        tags += [t for t in ctx.output_tags.get(name, []) if t not in tags]
        value_type = type_path(type(value)) if value is not None else "builtins.NoneType"
        manifest[name] = {
            "uri": uri, "materializer": materializer_path_of(cls),
            "dataType": value_type, "contentHash": materializer.content_hash(),
            "metadata": json_safe(metadata),
            "visualizations": [{"uri": u, "type": t} for u, t in visualizations.items()],
            "artifactName": fill_run_time_placeholders(out.get("artifactName") or name, now),
            "version": spec.version if spec else None,
        }
        if tags:
            manifest[name]["tags"] = tags
        artifact_type = (spec.artifact_type if spec else None) or getattr(
            cls, "ASSOCIATED_ARTIFACT_TYPE", None)
        if artifact_type and artifact_type != "BaseArtifact":
            manifest[name]["artifactType"] = str(getattr(artifact_type, "value", artifact_type))
        _log(f"saved output {name} ({materializer.storage_size} bytes, "
             f"{materializer_path_of(cls).rsplit('.', 1)[-1]}) in "
             f"{time.monotonic() - started:.2f}s")
    return manifest


def run_invocation(inv: dict[str, Any], store: Any,
                   termination_log: str = DEFAULT_TERMINATION_LOG) -> int:
    """Run a parsed invocation against ``store``; writes the termination message."""
    from kubeline.context import (
        RunInfo,
        StepContext,
        StepRunInfo,
        reset_step_context,
        set_step_context,
    )
    from kubeline.model import Model

    step = inv["step"]
    start = _now()
    _log(f"step {step['id']} of run {inv['run']} (attempt {inv.get('attempt', 1)}) starting")
    try:
        prepare_code(inv, store)
    except SetupError as exc:
        return _fail(exc, termination_log, EXIT_SETUP)
    params = dict(inv.get("parameters") or {})
    ctx = StepContext(
        pipeline_run=RunInfo(inv["run"], inv.get("runUid", ""), inv.get("pipelineName", ""),
                             inv.get("namespace", "default")),
        step_run=StepRunInfo(step["id"], step.get("name", step["id"]), int(inv.get("attempt", 1)),
                             params, id=f"{inv.get('runUid', '')}/{step['id']}",
                             config=step_run_config(step, params, inv)),
        model=Model.from_spec(inv.get("model")),
        output_names=[o["name"] for o in step["outputs"]],
        inputs=input_references(inv),
        outputs_uri=inv["outputsUri"],
        artifact_store=store,
    )
    token = set_step_context(ctx)
    try:
        check_required_parameters(step, dict(inv.get("parameters") or {}))
        func = import_step_function(step["entrypoint"])
        inputs = _load_inputs(inv, func, store)
        kwargs = _call_kwargs(func, inputs, dict(inv.get("parameters") or {}))
        started = time.monotonic()
        result = func(**kwargs)
        _log(f"step function returned in {time.monotonic() - started:.2f}s")
        values = _split_outputs(step, result)
        outputs = save_outputs(inv, func, values, store, ctx)
        run_hook(step, "on_success")
        manifest = {
            "outputs": outputs, "stepMetadata": ctx.step_metadata,
            "runMetadata": ctx.run_metadata, "modelMetadata": ctx.model_metadata,
            "startTime": start, "endTime": _now(),
        }
        if ctx.run_tags:
            manifest["runTags"] = list(ctx.run_tags)
        if ctx.manual_artifacts:
            manifest["manualArtifacts"] = list(ctx.manual_artifacts)
        manifest_uri = f"{inv['outputsUri'].rstrip('/')}/{MANIFEST}"
        store.write_bytes(manifest_uri, json.dumps(manifest, sort_keys=True).encode())
    except ArtifactStoreError as exc:
        if is_last_attempt(inv):
            run_hook(step, "on_failure", exc)
        return _fail(exc, termination_log, EXIT_SETUP)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # includes SystemExit from user code: the step failed
        if is_last_attempt(inv):
            run_hook(step, "on_failure", exc)
        return _fail(exc, termination_log, EXIT_STEP)
    finally:
        reset_step_context(token)
    write_termination(termination_log, success_message(manifest_uri))
    _log(f"step {step['id']} completed; manifest {manifest_uri}")
    return EXIT_OK


def is_last_attempt(inv: dict[str, Any]) -> bool:
    """True when no retry follows a failure of this attempt (its on_failure hook runs)."""
    retry = inv["step"].get("retry") or {}
    return int(inv.get("attempt", 1)) > int(retry.get("maxRetries") or 0)


def run_hook(step: dict[str, Any], kind: str, exc: BaseException | None = None) -> None:
    """Call the step's ``on_failure(exception)`` / ``on_success()`` hook; a hook that raises
    is logged and does not change the step's outcome (as in ZenML)."""
    source = (step.get("hooks") or {}).get(kind)
    if not source:
        return
    import inspect

    try:
        hook = import_step_function(source)
        takes_arg = bool(inspect.signature(hook).parameters)
        hook(exc) if kind == "on_failure" and takes_arg else hook()
        _log(f"{kind} hook {source} ran")
    except Exception as hook_exc:
        _log(f"warning: {kind} hook {source} failed: {type(hook_exc).__name__}: {hook_exc}")


def step_run_config(step: dict[str, Any], params: dict[str, Any], inv: dict[str, Any]) -> Any:
    """``get_step_context().step_run.config``: parameters, extra, cache switch, settings."""
    from kubeline.context import StepRunConfigInfo

    internal = ("requiredParameters", "parameterTypes")
    settings: dict[str, Any] = {"image": step.get("image") or inv.get("image")}
    for key, out in (("resources", "resources"), ("retry", "retry"),
                     ("timeoutSeconds", "timeout_seconds"), ("env", "env")):
        if step.get(key):
            settings[out] = step[key]
    return StepRunConfigInfo(
        name=step["id"], parameters=dict(params),
        extra={k: v for k, v in (step.get("extra") or {}).items() if k not in internal},
        enable_cache=step.get("enableCache", True), cache_version=step.get("cacheVersion", ""),
        settings=settings,
        enable_artifact_metadata=step.get("enableArtifactMetadata", True),
        enable_artifact_visualization=step.get("enableArtifactVisualization", True))


def input_references(inv: dict[str, Any]) -> dict[str, Any]:
    """``get_step_context().inputs``: each input's artifact version (id, uri, name,
    version; ``.load()`` reads it again)."""
    from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact

    return {
        name: UnmaterializedArtifact(
            id=ref.get("id"), uri=ref["uri"], name=ref.get("artifactName"),
            version=ref.get("version"), materializer=ref.get("materializer"),
            data_type=ref.get("dataType"), artifact_version=ref.get("artifactVersion"))
        for name, ref in (inv.get("inputs") or {}).items() if ref.get("uri")
    }


def _fail(exc: BaseException, termination_log: str, code: int) -> int:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    write_termination(termination_log, failure_message(exc))
    _log(f"step failed: {type(exc).__name__}: {exc}")
    return code


def main() -> int:
    """Entry point of ``python -m kubeline.runtime``."""
    termination_log = os.environ.get("KUBELINE_TERMINATION_LOG") or DEFAULT_TERMINATION_LOG
    try:
        inv = parse_invocation(os.environ.get("KUBELINE_INVOCATION"))
        from kubeline.artifact_store import ArtifactStore, S3Settings, set_default_store

        settings = S3Settings.from_env()
        if settings is None:
            raise SetupError("KUBELINE_S3_BUCKET is not set in the step Pod; check the chart's "
                             "S3 Secret")
        store = ArtifactStore.from_settings(settings)
        set_default_store(store)
    except (SetupError, ArtifactStoreError, ImportError) as exc:
        return _fail(exc, termination_log, EXIT_SETUP)
    from kubeline.runtime.log_capture import LogCapture, save_log

    capture = LogCapture().start()
    try:
        return run_invocation(inv, store, termination_log)
    finally:
        capture.stop()
        save_log(store, inv["outputsUri"], capture.text())
