"""``StepView``: one step of a run, from the run's status (no request) plus lazy lookups."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubeline.client._base import (
    LazyMapping,
    MetadataValue,
    as_status,
    metadata_dict,
    parse_time,
)
from kubeline.client.configs import RunConfigView, StepConfigView
from kubeline.client.progress import step_duration
from kubeline.errors import KubelineError, NotFoundError
from kubeline.resources.phases import UNSUCCESSFUL_STEP_PHASES
from kubeline.resources.read import SnapshotSpecView, StepInputView, StepSpecView, StepStatusView

if TYPE_CHECKING:
    from kubeline.client.artifacts import ArtifactVersionView
    from kubeline.client.runs import RunView


class StepView:
    """A step run: its state lives in the run's status; outputs are ArtifactVersions."""

    def __init__(self, run: RunView, status: Mapping[str, Any],
                 run_labels: Mapping[str, str] | None = None) -> None:
        self.run = run
        self._status = status
        #: The run's labels read with this step's status (the operator's input labels).
        self._run_labels = run.labels if run_labels is None else run_labels
        self.st = StepStatusView(status)  # typed (kubeline.resources.read)
        self._cache: dict[str, Any] = {}

    def _cached(self, key: str, compute: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # ------------------------------------------------------------ state
    @property
    def name(self) -> str:
        """The invocation id (``svc_trainer``, ``trainer_2``)."""
        return self.st.name

    @property
    def id(self) -> str:
        """A stable id of this step run: ``<run uid>/<invocation id>``."""
        return f"{self.run.id}/{self.name}"

    @property
    def status(self) -> str:
        """pending, running, retrying, completed, failed, cached, cancelled or skipped (an
        ``ExecutionStatus``)."""
        return as_status(self.st.phase)

    @property
    def is_cached(self) -> bool:
        return self.status == "cached"

    @property
    def pod(self) -> str | None:
        return self.st.pod

    @property
    def attempts(self) -> int:
        return self.st.attempts

    @property
    def message(self) -> str | None:
        return self.st.message

    @property
    def reason(self) -> str | None:
        return self.st.reason

    @property
    def start_time(self) -> datetime | None:
        return parse_time(self.st.start_time)

    @property
    def end_time(self) -> datetime | None:
        return parse_time(self.st.end_time)

    @property
    def duration(self) -> float | None:
        """Seconds the step took (0 for a cache hit; None while running)."""
        return step_duration(self._status)

    # ------------------------------------------------------------ cache
    @property
    def cache_key(self) -> str | None:
        return self.st.cache.key

    @property
    def cache_parts(self) -> dict[str, str]:
        """Digest of each part that went into the cache key (code, image, parameters, ...)."""
        return self.st.cache.parts

    @property
    def cached_from(self) -> dict[str, str] | None:
        """``{"run", "step"}`` of the step run a cache hit reused, else None."""
        ref = self.st.cached_from
        return {"run": ref.run, "step": ref.step} if ref else None

    @property
    def original_step_run(self) -> StepView | None:
        """The step run whose outputs this cache hit reused (one GET of that run)."""
        ref = self.cached_from
        if not ref:
            return None

        def find() -> StepView:
            run = self.run._client._run_by_object_name(ref["run"])
            return run._steps_read[ref["step"]]

        return self._cached("original", find)

    # ------------------------------------------------------------ spec and config
    @property
    def spec(self) -> dict[str, Any]:
        """This step's StepSpec from the run's snapshot (one GET of the snapshot)."""

        def find() -> dict[str, Any]:
            for step in SnapshotSpecView(self.run.snapshot.spec).steps:
                if self.name in (step.id, step.name):
                    return dict(step.raw)
            raise NotFoundError(f"step {self.name} is not in snapshot {self.run.snapshot_name}")

        return self._cached("spec", find)

    @property
    def config(self) -> StepConfigView:
        """``parameters`` (after overrides) and ``settings`` of this step."""
        cfg: RunConfigView = self.run.config
        return cfg.steps.get(self.name) or StepConfigView(
            parameters=dict(self.run.st.parameters.get(self.name) or {})
        )

    @property
    def entrypoint(self) -> str | None:
        return StepSpecView(self.spec).entrypoint

    @property
    def step_type(self) -> str | None:
        """ZenML's ``step_type`` label (``tool_call``, ``llm_call``, ``memory_call``)."""
        return StepSpecView(self.spec).extra.get("stepType")

    @property
    def docstring(self) -> str | None:
        return StepSpecView(self.spec).extra.get("docstring")

    @property
    def source_code(self) -> str | None:
        return StepSpecView(self.spec).extra.get("sourceCode")

    @property
    def code_hash(self) -> str | None:
        return StepSpecView(self.spec).code_hash

    @property
    def run_metadata(self) -> dict[str, MetadataValue]:
        """Metadata of this step run: what the step logged (``log_metadata`` in the step),
        over what Kubeline records (pod, attempts, cache key, duration, message)."""
        values: dict[str, Any] = {"attempts": self.attempts}
        for key, value in (("pod", self.pod), ("cache_key", self.cache_key),
                           ("duration_seconds", self.duration), ("message", self.message)):
            if value is not None:
                values[key] = value
        values.update(self.logged_metadata[0])
        return metadata_dict(values)

    @property
    def logged_metadata(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(step metadata, run metadata)`` the step logged: from the run's status, or (when
        they were too large to keep there) from the step's outputs manifest (one S3 read)."""

        def load() -> tuple[dict[str, Any], dict[str, Any]]:
            uri = self.st.metadata_uri
            if not uri:
                return self.st.metadata, self.st.run_metadata
            from kubeline.artifact_store import default_store
            from kubeline.resources.manifest import OutputsManifest

            raw = default_store(self.run._client.kube).read_bytes(uri)
            manifest = OutputsManifest.parse(raw, uri)
            return dict(manifest.step_metadata), dict(manifest.run_metadata)

        return self._cached("logged_metadata", load)

    # ------------------------------------------------------------ artifacts
    @property
    def output_names(self) -> dict[str, str]:
        """Output name -> ArtifactVersion object name."""
        return self.st.outputs

    @property
    def outputs(self) -> LazyMapping[ArtifactVersionView]:
        """Outputs by name; each is read (one GET) on first access."""
        names = self.output_names
        client = self.run._client
        what = f"output of step {self.name}"
        if not names and self.status in UNSUCCESSFUL_STEP_PHASES:
            what += f" (the step {self.status}{': ' + self.message if self.message else ''})"
        return self._cached(
            "outputs",
            lambda: LazyMapping(list(names), lambda k: client._artifact_version_by_object_name(
                names[k]), what),
        )

    @property
    def output(self) -> ArtifactVersionView:
        """The single output; an error says which names to use when there are several."""
        return self._single("output", list(self.output_names), self.outputs)

    @property
    def input_sources(self) -> dict[str, dict[str, Any]]:
        """Argument name -> its StepInput from the snapshot (upstream output or artifact)."""
        return {i.name: dict(i.raw) for i in StepSpecView(self.spec).inputs}

    @property
    def inputs(self) -> LazyMapping[ArtifactVersionView]:
        """Input artifact versions by argument name, resolved through the snapshot."""
        return self._cached(
            "inputs",
            lambda: LazyMapping(list(self.input_sources), self._resolve_input,
                                f"input of step {self.name}"),
        )

    @property
    def input(self) -> ArtifactVersionView:
        """The single input; an error says which names to use when there are several."""
        return self._single("input", list(self.input_sources), self.inputs)

    def _single(self, kind: str, names: list[str],
                views: LazyMapping[ArtifactVersionView]) -> ArtifactVersionView:
        """The only input/output; with none or several, say which names to use."""
        if kind == "output" and not names and self.status in UNSUCCESSFUL_STEP_PHASES:
            raise KubelineError(
                f"step {self.name} of run {self.run.name} {self.status}"
                f"{': ' + self.message if self.message else ''}; it saved no outputs"
            )
        if len(names) != 1:
            detail = f"{kind}s {', '.join(names)}" if names else f"no {kind}s"
            raise KubelineError(
                f"step {self.name} has {detail}: use step.{kind}s['<name>'] instead of .{kind}"
            )
        return views[names[0]]

    def _resolve_input(self, arg: str) -> ArtifactVersionView:
        source = StepInputView(self.input_sources[arg])
        client = self.run._client
        if source.model_artifact:
            resolved = next((m for m in self.run.st.model_artifacts
                             if m.step == self.name and m.input == arg), None)
            if resolved is None:
                raise NotFoundError(f"input {arg!r} of step {self.name} (from a model) was not "
                                    f"resolved: run {self.run.name} did not start")
            return client._artifact_version_by_object_name(resolved.artifact_version)
        if source.artifact:
            ref = source.artifact
            if ref.id:
                return client.get_artifact_version(ref.id)
            if ref.version is None:
                taken = self._taken_by_name(ref.name)
                if taken is not None:
                    return taken
            return client.get_artifact_version(ref.name, ref.version)
        upstream = source.step
        producer = None
        for step in SnapshotSpecView(self.run.snapshot.spec).steps:
            if upstream in (step.name, step.id):
                producer = step.id
        if producer is None or producer not in self.run._steps_read:
            raise NotFoundError(
                f"input {arg!r} of step {self.name} comes from step {upstream!r}, "
                f"which has no record in run {self.run.name}"
            )
        return self.run._steps_read[producer].outputs[source.output or ""]

    def _taken_by_name(self, artifact: str) -> ArtifactVersionView | None:
        """The version a by-name input of ``artifact`` without a version took when the
        operator resolved this step (``kubeline.resources.input_versions``): of the versions
        the run's input labels name, the newest made by the step's start. None before the
        step started, or for a run without input labels (then: the newest version now)."""
        from kubeline.client.artifacts import ArtifactVersionView
        from kubeline.resources import names
        from kubeline.resources.input_versions import input_version_uids, version_taken_by_name

        uids = input_version_uids(self._run_labels)
        if not uids or self.st.start_time is None:
            return None
        client = self.run._client
        selector = f"{names.LABEL_ARTIFACT}={names.label_value(artifact)}"
        candidates = [o for o in client.kube.iter(names.ARTIFACT_VERSIONS, selector)
                      if o["metadata"].get("uid") in uids]
        taken = version_taken_by_name(candidates, artifact, self.st.start_time)
        return ArtifactVersionView(client, dict(taken)) if taken is not None else None

    # ------------------------------------------------------------ logs
    def logs(self, tail_lines: int | None = None, attempt: int | None = None) -> str:
        """The step's log (the last attempt's, or ``attempt``'s).

        From the Pod while it exists; after the Pod is gone (TTL, deletion), the copy the
        step saved in the artifact store when it ended (``ArtifactStore.step_log_uri``).
        """
        if not self.pod:
            source = self.cached_from
            hint = (f": served from the cache; its log is that of run {source['run']}, step "
                    f"{source['step']} (`kubeline run logs {source['run']} {source['step']}`)"
                    if source else ": served from the cache" if self.is_cached else "")
            raise NotFoundError(
                f"step {self.name} of run {self.run.name} has no Pod (status {self.status}{hint})"
            )
        wanted = attempt or self.attempts
        if wanted == self.attempts:
            try:
                return self.run._client.kube.pod_logs(self.pod, tail_lines=tail_lines)
            except NotFoundError:
                pass  # the Pod is gone: read the saved log
            except KubelineError as exc:
                # A step recorded from its outputs-committed Event can be completed before
                # the kubelet has reported its container at all ("waiting to start"); the
                # log it saved before the Event is complete.
                if "waiting to start" not in str(exc) or self.status != "completed":
                    raise
        text = self.saved_log(wanted)
        if text is None:
            raise NotFoundError(
                f"the Pod of step {self.name} (attempt {wanted}) of run {self.run.name} is gone "
                "and it saved no log (it was killed before it ended, e.g. out of memory)"
            )
        if tail_lines:
            text = "".join(text.splitlines(keepends=True)[-tail_lines:])
        return text

    def saved_log(self, attempt: int | None = None) -> str | None:
        """The log the step saved in the artifact store when ``attempt`` ended, or None."""
        from kubeline.artifact_store import default_store

        client = self.run._client
        store = default_store(client.kube)
        try:
            step_name = self.spec.get("name") or self.name
        except NotFoundError:
            from kubeline.resources.names import dns_name

            step_name = dns_name(self.name)
        uri = store.step_log_uri(self.run.metadata.get("namespace") or client.namespace,
                                 self.run.pipeline_object_name or "", self.run.name, step_name,
                                 attempt or self.attempts)
        try:
            return store.read_bytes(uri).decode(errors="replace")
        except FileNotFoundError:
            return None

    def __repr__(self) -> str:
        return f"StepView({self.name!r}, status={self.status!r})"
