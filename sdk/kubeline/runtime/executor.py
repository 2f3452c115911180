"""Run one step attempt: code -> inputs -> function -> outputs -> manifest -> termination message.

Exit codes: 0 success; 1 the step failed (user code, its inputs or outputs);
2 setup failed (bad invocation, code digest mismatch, artifact store unreachable);
143 stopped by SIGTERM (its Pod is being deleted: ``kubeline.runtime.termination``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from kubeline.errors import ArtifactStoreError, KubelineError
from kubeline.resources import layout
from kubeline.resources.invocation import Invocation, InvocationError
from kubeline.resources.manifest import (
    ManualArtifact,
    OutputsManifest,
    SavedOutput,
    StepTimings,
)
from kubeline.resources.models import StepSpec, Visualization
from kubeline.resources.names import ENV_CODE_DIR, ENV_INVOCATION, ENV_TERMINATION_LOG
from kubeline.runtime import termination
from kubeline.runtime.clock import RUNTIME_ENTERED, process_start_time
from kubeline.runtime.messages import failure_message, success_message, write_termination
from kubeline.runtime.termination import EXIT_TERMINATED, StepTerminated

EXIT_OK, EXIT_STEP, EXIT_SETUP = 0, 1, 2
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
MANIFEST = layout.MANIFEST


class SetupError(KubelineError):
    """The runtime could not prepare the step (exit code 2)."""


class StepOutputError(KubelineError):
    """The step's return value does not match its declared outputs."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _log(message: str) -> None:
    print(f"kubeline: {message}", flush=True)


def parse_invocation(raw: str | None) -> Invocation:
    """``KUBELINE_INVOCATION`` as the contract's :class:`Invocation` (SetupError if malformed)."""
    try:
        return Invocation.from_env(raw)
    except InvocationError as exc:
        raise SetupError(str(exc)) from None


def prepare_code(inv: Invocation, store: Any) -> None:
    """Fetch and verify the code archive (if any) and put it first on sys.path."""
    code = inv.code
    if code:
        from kubeline.code_archive import CodeArchiveError, fetch_code

        cache = Path(os.environ.get(ENV_CODE_DIR)
                     or os.path.join(tempfile.gettempdir(), "kubeline-code"))
        try:
            root = fetch_code(store, code.uri, code.sha256, cache)
        except CodeArchiveError as exc:
            raise SetupError(str(exc)) from None
        except (FileNotFoundError, ArtifactStoreError) as exc:
            raise SetupError(f"cannot download the code archive {code.uri}: {exc}") from None
        sys.path.insert(0, str(root))
        _log(f"code {code.sha256[:12]} ready in {root}")
    elif os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def import_step_function(entrypoint: str) -> Any:
    """Import 'module:qualname'; a Step object yields its function."""
    from kubeline.pipelines import IMPORTING_STEP_CODE

    module_name, _, qualname = entrypoint.partition(":")
    token = IMPORTING_STEP_CODE.set(True)
    try:
        obj: Any = (import_script(module_name) if module_name.endswith(".py")
                    else importlib.import_module(module_name))
    finally:
        IMPORTING_STEP_CODE.reset(token)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    entry = getattr(obj, "entrypoint", None)
    return entry if callable(entry) else obj


def import_script(rel_path: str) -> Any:
    """Load a script by its path in the source root (``01_train.py``), once per process."""
    import importlib.util
    import re

    parts = Path(rel_path).parts
    if Path(rel_path).is_absolute() or ".." in parts:
        raise SetupError(f"step entrypoint {rel_path!r} must be a path inside the source root")
    name = "kubeline_script_" + re.sub(r"\W", "_", rel_path[:-3])
    if name in sys.modules:
        return sys.modules[name]
    for base in sys.path:
        candidate = Path(base or ".") / rel_path
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location(name, candidate)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            return module
    raise SetupError(f"script {rel_path} of the step entrypoint is not in the code archive")


def _load_inputs(inv: Invocation, func: Any, store: Any) -> dict[str, Any]:
    from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from kubeline.materializers.registry import import_object, load_artifact_data
    from kubeline.materializers.trust import load_origin
    from kubeline.signature import concrete_type, type_hints

    hints = type_hints(func, inv.step.id)
    unmaterialized = {i.name for i in inv.step.inputs if i.unmaterialized}
    values: dict[str, Any] = {}
    for name, ref in inv.inputs.items():
        if name in unmaterialized or concrete_type(hints.get(name)) is UnmaterializedArtifact:
            values[name] = UnmaterializedArtifact(
                id=ref.id or None, uri=ref.uri, name=ref.artifact_name or None,
                version=ref.version or None, materializer=ref.materializer,
                data_type=ref.data_type or None, artifact_version=ref.artifact_version or None,
                content_hash=ref.content_hash or None)
            continue
        tp = concrete_type(hints.get(name))
        if tp is None and ref.data_type and ref.data_type != "typing.Any":
            try:
                tp = import_object(ref.data_type)
            except (ImportError, AttributeError):
                tp = None
        started = time.monotonic()
        values[name] = load_artifact_data(ref.uri, ref.materializer,
                                          tp if isinstance(tp, type) else object,
                                          store, content_hash=ref.content_hash,
                                          what=f"{ref.artifact_name or name} v{ref.version}",
                                          origin=load_origin(ref.uri, store.root,
                                                             inv.namespace))
        _log(f"loaded input {name} ({ref.artifact_name} v{ref.version or '?'}) "
             f"in {time.monotonic() - started:.2f}s")
    return values


def check_required_parameters(step: StepSpec, params: dict[str, Any]) -> None:
    """A parameter the snapshot left unset (``extra.requiredParameters``) needs a value."""
    from kubeline.errors import ConfigurationError

    for name in step.extra.get("requiredParameters") or []:
        if params.get(name) is None:
            raise ConfigurationError(
                f"step {step.id!r} needs parameter {name!r}, which has no default: set "
                f"spec.config.steps.{step.id}.parameters.{name} in the PipelineRun"
            )


def _call_kwargs(func: Any, inputs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    from kubeline.signature import parameter_names

    names, var_kw = parameter_names(func)
    kwargs = {k: v for k, v in params.items() if k in names or var_kw}
    kwargs.update(inputs)
    return kwargs


def _split_outputs(step: StepSpec, result: Any) -> list[Any]:
    outputs = step.outputs
    if not outputs:
        return []
    if len(outputs) == 1:
        return [result]
    if not isinstance(result, (tuple, list)) or len(result) != len(outputs):
        got = (f"{len(result)} values" if isinstance(result, (tuple, list))
               else f"a single {type(result).__name__}")
        raise StepOutputError(
            f"step '{step.id}' declares {len(outputs)} outputs "
            f"({', '.join(o.name for o in outputs)}) but returned {got}"
        )
    return list(result)


def _visualizations(found: dict[str, str], output: str) -> list[Visualization]:
    """The materializer's visualizations that fit the contract (others are logged, dropped)."""
    kept = []
    for uri, kind in found.items():
        try:
            kept.append(Visualization(uri=uri, type=kind))  # type: ignore[arg-type]
        except ValueError:
            _log(f"warning: visualization {uri} of output {output} has unknown type {kind!r}")
    if len(kept) > 8:
        _log(f"warning: output {output} has {len(kept)} visualizations; the first 8 are kept")
    return kept[:8]


def save_outputs(inv: Invocation, func: Any, values: list[Any], store: Any,
                 ctx: Any) -> dict[str, SavedOutput]:
    """Save each output through its materializer; returns the manifest's ``outputs``."""
    from kubeline.materializers.registry import materializer_for_value, materializer_path_of
    from kubeline.resources.json_values import json_safe
    from kubeline.resources.manifest import check_metadata
    from kubeline.resources.name_templates import fill_run_time_placeholders
    from kubeline.signature import parse_outputs, type_path

    step = inv.step
    declared = {o.name: o for o in parse_outputs(func, step.id)}
    now = datetime.now(UTC)
    saved: dict[str, SavedOutput] = {}
    for out, value in zip(step.outputs, values, strict=True):
        name = out.name
        uri = layout.output_uri(inv.outputs_uri, name)
        cls = materializer_for_value(value, out.materializer)
        materializer = cls(uri, store)
        started = time.monotonic()
        materializer.save(value)
        spec = declared.get(name)
        metadata: dict[str, Any] = {}
        if step.enable_artifact_metadata:
            try:
                metadata.update(materializer.extract_metadata(value))
            except Exception as exc:  # metadata is best effort; the data is saved
                _log(f"warning: metadata of output {name} failed: {exc!r}")
        metadata["storage_size"] = materializer.storage_size
        metadata.update(dict(spec.run_metadata) if spec else {})
        metadata.update(ctx.output_metadata.get(name, {}))
        metadata = json_safe(metadata)
        check_metadata(metadata, f"output {name!r} of step {step.id!r}")
        found: dict[str, str] = {}
        if step.enable_artifact_visualization:
            try:
                found = materializer.save_visualizations(value) or {}
            except Exception as exc:
                _log(f"warning: visualization of output {name} failed: {exc!r}")
        tags = list(spec.tags) if spec else []
        tags += [t for t in ctx.output_tags.get(name, []) if t not in tags]
        value_type = type_path(type(value)) if value is not None else "builtins.NoneType"
        version = spec.version if spec else None
        artifact_type = (spec.artifact_type if spec else None) or getattr(
            cls, "ASSOCIATED_ARTIFACT_TYPE", None)
        saved[name] = SavedOutput(
            uri=uri, materializer=materializer_path_of(cls), data_type=value_type,
            content_hash=materializer.content_hash(), metadata=metadata,
            visualizations=_visualizations(found, name),
            artifact_name=fill_run_time_placeholders(out.artifact_name or name, now),
            version=str(version) if version is not None else None,
            tags=tags,
            artifact_type=(str(getattr(artifact_type, "value", artifact_type))
                           if artifact_type and artifact_type != "BaseArtifact" else None),
        )
        _log(f"saved output {name} ({materializer.storage_size} bytes, "
             f"{materializer_path_of(cls).rsplit('.', 1)[-1]}) in "
             f"{time.monotonic() - started:.2f}s")
    return saved



def _run_view_loader(run: str, namespace: str) -> Callable[[], Any]:
    """Reads the Client's view of the running run (when user code asks for more than its
    name and id)."""
    def load() -> Any:
        from kubeline.client import Client

        return Client(namespace=namespace).get_pipeline_run(run)

    return load

def step_context_for(inv: Invocation, store: Any = None) -> Any:
    """The :class:`~kubeline.context.StepContext` a step sees while it runs."""
    from kubeline.context import RunInfo, StepContext, StepRunInfo
    from kubeline.model import Model

    step = inv.step
    params = dict(inv.parameters)
    return StepContext(
        pipeline_run=RunInfo(inv.run, inv.run_uid, inv.pipeline_name, inv.namespace,
                             load=_run_view_loader(inv.run, inv.namespace)),
        step_run=StepRunInfo(step.id, step.name, inv.attempt, params,
                             id=f"{inv.run_uid}/{step.id}",
                             config=step_run_config(step, params)),
        model=Model.from_spec(inv.model.to_k8s() if inv.model else None),
        output_names=[o.name for o in step.outputs],
        inputs=input_references(inv),
        outputs_uri=inv.outputs_uri,
        artifact_store=store,
        artifact_names={o.name: o.artifact_name for o in step.outputs if o.artifact_name},
        output_materializers={o.name: o.materializer for o in step.outputs},
    )


def run_invocation(inv: Invocation | dict[str, Any], store: Any,
                   termination_log: str = DEFAULT_TERMINATION_LOG) -> int:
    """Run an invocation (parsed, or its wire form) against ``store``; writes the
    termination message."""
    from kubeline.context import OwnRun, reset_step_context, set_own_run, set_step_context
    from kubeline.materializers.step_temp_folders import begin_step_folders, remove_step_folders

    if not isinstance(inv, Invocation):
        try:
            inv = Invocation.from_wire(inv, ENV_INVOCATION)
        except ValueError as exc:
            return _fail(SetupError(str(exc)), termination_log, EXIT_SETUP)
    step = inv.step
    start = _now()
    timings = StepTimings(process_started=process_start_time(), runtime_entered=RUNTIME_ENTERED)
    _log(f"step {step.id} of run {inv.run} (attempt {inv.attempt}) starting")
    try:
        prepare_code(inv, store)
    except SetupError as exc:
        return _fail(exc, termination_log, EXIT_SETUP)
    timings.code_ready = time.time()
    ctx = step_context_for(inv, store)
    token = set_step_context(ctx)
    set_own_run(OwnRun(inv.run, inv.run_uid, inv.namespace, tuple(inv.upstream)))
    begin_step_folders()  # the folders inputs are loaded into go when the step ends (as ZenML)
    try:
        check_required_parameters(step, dict(inv.parameters))
        func = import_step_function(step.entrypoint)
        timings.step_imported = time.time()
        inputs = _load_inputs(inv, func, store)
        timings.inputs_loaded = time.time()
        kwargs = _call_kwargs(func, inputs, dict(inv.parameters))
        started = time.monotonic()
        timings.function_entered = time.time()
        result = func(**kwargs)
        timings.function_returned = time.time()
        _log(f"step function returned in {time.monotonic() - started:.2f}s")
        values = _split_outputs(step, result)
        outputs = save_outputs(inv, func, values, store, ctx)
        timings.outputs_written = time.time()
        run_hook(step, "on_success")
        manifest = OutputsManifest(
            outputs=outputs, step_metadata=ctx.step_metadata, run_metadata=ctx.run_metadata,
            model_metadata=dict(ctx.model_metadata), run_tags=list(ctx.run_tags),
            manual_artifacts=[ManualArtifact.model_validate(a) for a in ctx.manual_artifacts],
            start_time=start, end_time=_now(), timings=timings)
        manifest_uri = layout.manifest_uri(inv.outputs_uri)
        store.write_bytes(manifest_uri, manifest.to_json().encode())
    except ArtifactStoreError as exc:
        if is_last_attempt(inv):
            run_hook(step, "on_failure", exc)
        return _fail(exc, termination_log, EXIT_SETUP)
    except StepTerminated as exc:  # stopped from outside: no on_failure hook, exit at once
        return _fail(exc, termination_log, EXIT_TERMINATED)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # includes SystemExit from user code: the step failed
        if is_last_attempt(inv):
            run_hook(step, "on_failure", exc)
        return _fail(exc, termination_log, EXIT_STEP)
    finally:
        reset_step_context(token)
        set_own_run(None)
        remove_step_folders()
    write_termination(termination_log, success_message(manifest_uri))
    termination.outcome_written(EXIT_OK)
    _log(f"step {step.id} completed; manifest {manifest_uri}")
    return EXIT_OK


def is_last_attempt(inv: Invocation) -> bool:
    """True when no retry follows a failure of this attempt (its on_failure hook runs)."""
    retries = inv.step.retry.max_retries if inv.step.retry else 0
    return inv.attempt > retries


def run_hook(step: StepSpec, kind: str, exc: BaseException | None = None) -> None:
    """Call the step's ``on_failure(exception)`` / ``on_success()`` hook; a hook that raises
    is logged and does not change the step's outcome (as in ZenML)."""
    source = step.hooks.get(kind)
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


def step_run_config(step: StepSpec, params: dict[str, Any]) -> Any:
    """``get_step_context().step_run.config``: parameters, extra, cache switch, settings."""
    from kubeline.context import StepRunConfigInfo

    internal = ("requiredParameters", "parameterTypes", "parameterAnnotations", "stepType")
    wire = step.to_k8s()
    settings: dict[str, Any] = {"image": step.image}
    for key, out in (("resources", "resources"), ("retry", "retry"),
                     ("timeoutSeconds", "timeout_seconds"), ("env", "env")):
        if wire.get(key):
            settings[out] = wire[key]
    return StepRunConfigInfo(
        name=step.id, parameters=dict(params),
        extra={k: v for k, v in step.extra.items() if k not in internal},
        enable_cache=step.enable_cache, cache_version=step.cache_version,
        settings=settings,
        enable_artifact_metadata=step.enable_artifact_metadata,
        enable_artifact_visualization=step.enable_artifact_visualization)


def input_references(inv: Invocation) -> dict[str, Any]:
    """``get_step_context().inputs``: each input's artifact version (id, uri, name,
    version; ``.load()`` reads it again; ``.run_metadata`` / ``.tags`` ask the API)."""
    from kubeline.runtime.inputs import StepInputArtifact

    return {
        name: StepInputArtifact(
            id=ref.id or None, uri=ref.uri, name=ref.artifact_name or None,
            version=ref.version or None, materializer=ref.materializer,
            data_type=ref.data_type or None, artifact_version=ref.artifact_version or None,
            namespace=inv.namespace)
        for name, ref in inv.inputs.items()
    }


def _fail(exc: BaseException, termination_log: str, code: int) -> int:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    write_termination(termination_log, failure_message(exc))
    termination.outcome_written(code)
    _log(f"step failed: {type(exc).__name__}: {exc}")
    return code


def exit_now(code: int) -> NoReturn:
    """End the step process with ``code`` without the interpreter's teardown.

    Freeing every module's objects after a step that loaded pandas or scikit-learn takes
    0.3-0.8 s here, all of it before the kubelet can see the container exit. ``atexit``
    handlers (logging's flush among them) still run and the standard streams are flushed.
    While a non-daemon thread is alive the interpreter would wait for it, so this does too
    (a normal exit), unless SIGTERM came (or comes while it waits): the Pod is being
    deleted, so the process ends without waiting (``kubeline.runtime.termination``)."""
    import atexit
    import threading

    termination.exiting(code)
    main_thread = threading.main_thread()
    if not termination.signalled() and any(
            t.is_alive() and not t.daemon for t in threading.enumerate() if t is not main_thread):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main() -> int:
    """Entry point of ``python -m kubeline.runtime``."""
    termination_log = os.environ.get(ENV_TERMINATION_LOG) or DEFAULT_TERMINATION_LOG
    termination.install(termination_log)
    try:
        return _run_step_process(termination_log)
    except StepTerminated as exc:  # before the step ran, or in its failure path
        return _fail(exc, termination_log, EXIT_TERMINATED)


def _run_step_process(termination_log: str) -> int:
    try:
        inv = parse_invocation(os.environ.get(ENV_INVOCATION))
        from kubeline.artifact_store import ArtifactStore, S3Settings, set_default_store

        settings = S3Settings.from_env()
        if settings is None:
            raise SetupError("KUBELINE_S3_BUCKET is not set in the step Pod; check the chart's "
                             "S3 Secret")
        # A "{namespace}" bucket setting (the release namespace's Secret, when steps run
        # there) names this namespace's bucket, as the operator's URIs do. Direct: the
        # runtime's small reads and writes skip s3fs's import (kubeline.s3_direct).
        store = ArtifactStore.from_settings(settings.for_namespace(inv.namespace), direct=True)
        set_default_store(store)
    except (SetupError, ArtifactStoreError, ImportError) as exc:
        return _fail(exc, termination_log, EXIT_SETUP)
    from kubeline.runtime.log_capture import LogCapture, save_log

    capture = LogCapture().start()
    code = EXIT_SETUP
    saved: str | None = None
    try:
        code = run_invocation(inv, store, termination_log)
    finally:
        capture.stop()
        saved = save_log(store, inv.outputs_uri, capture.text())
    if code == EXIT_OK:
        tell_outputs_committed(inv, saved is not None)
    return code


def tell_outputs_committed(inv: Invocation, log_saved: bool) -> None:
    """Everything is written: let the operator record the step before this process exits.

    Not when the step log could not be saved (a step recorded early must have it: its Pod
    may not be readable yet); the Pod's exit then completes the step. What the step printed
    is flushed to the container's log first (an image without ``PYTHONUNBUFFERED`` would
    hold it until the exit, after the step counted as done)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    if not log_saved:
        _log("operator not told the outputs are committed: the step log was not saved")
        return
    from kubeline.runtime.commit_signal import post_committed

    _log(f"operator told the outputs are committed: "
         f"{post_committed(inv.namespace, inv.run, layout.manifest_uri(inv.outputs_uri))}")
