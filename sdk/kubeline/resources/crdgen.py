"""Generate Kubeline's CustomResourceDefinitions from the pydantic resource models.

``python -m kubeline.resources.crdgen`` writes ``crds/*.yaml`` and
``charts/kubeline/crds/*.yaml`` (``--check`` only compares). The schemas are
*structural* as the API server requires: pydantic's JSON schema with every
``$ref`` inlined, ``anyOf [X, null]`` collapsed to ``X`` (``nullable`` only on
free-form JSON values, elsewhere a ``null`` is pruned by the API server), no
titles or defaults, every property typed (or ``x-kubernetes-preserve-unknown-fields``)
and described. Unknown schema keywords raise instead of being dropped silently.

Defaults live in the models and the read views: the SDK writes them out, the operator and
the Client read a missing field as its default, and every rule reads an optional field only
under ``has()``, so an object written by hand may leave them out.

CEL rules that are about one object's shape live on the models (``json_schema_extra``);
rules about updates (immutability, transitions) are generated here from the
models' fields so that a new field is covered without editing a rule.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from kubeline.resources import models as m
from kubeline.resources import names
from kubeline.resources.names import GROUP, VERSION

CATEGORY = "kubeline"
PART_OF_LABEL = {"app.kubernetes.io/part-of": "kubeline"}

# Keywords a structural schema may carry (OpenAPI v3 subset Kubernetes accepts).
_KEPT = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
}
# Keywords dropped on purpose: documentation-only, or enforced elsewhere.
_DROPPED = {"title", "default", "const", "examples"}


class SchemaError(ValueError):
    """The model produces a schema Kubernetes would not accept as structural."""


# --------------------------------------------------------------------------- schema


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (camelCase) as a structural OpenAPI v3 schema."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs, path=model.__name__)


def _resolve(node: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    """Inline ``$ref``/single ``allOf``/``anyOf [X, null]``; sibling keys win over the target."""
    node = dict(node)
    if "anyOf" in node:
        variants = [v for v in node.pop("anyOf") if v.get("type") != "null"]
        if len(variants) != 1:
            raise SchemaError(
                f"{path}: a union of {len(variants)} types is not structural; "
                "use one type (or a JSON value with x-kubernetes-preserve-unknown-fields)"
            )
        node = {**_resolve(variants[0], defs, path), **node}
    if "allOf" in node:
        parts = node.pop("allOf")
        if len(parts) != 1:
            raise SchemaError(f"{path}: allOf with {len(parts)} parts is not supported")
        node = {**_resolve(parts[0], defs, path), **node}
    if "$ref" in node:
        name = node.pop("$ref").rsplit("/", 1)[-1]
        if name not in defs:
            raise SchemaError(f"{path}: unresolvable $ref to {name!r}")
        node = {**_resolve(defs[name], defs, path), **node}
    return node


def _convert(node: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    node = _resolve(node, defs, path)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "exclusiveMinimum":
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum":
            out["maximum"], out["exclusiveMaximum"] = value, True
        elif key == "properties":
            out[key] = {}
            for name, sub in value.items():
                out[key][name] = _convert(sub, defs, f"{path}.{name}")
                if not out[key][name].get("description"):
                    raise SchemaError(
                        f"{path}.{name}: no description; add Field(description=...) so that "
                        "`kubectl explain` can teach the field"
                    )
        elif key == "items":
            out[key] = _convert(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if value is False:  # extra="forbid": strict field validation rejects unknown fields
                continue
            if value is True:
                raise SchemaError(f"{path}: additionalProperties: true is not structural")
            out[key] = _convert(value, defs, f"{path}.*")
        elif key == "required":
            out[key] = sorted(value)
        elif key in _KEPT:
            out[key] = copy.deepcopy(value)
        else:
            raise SchemaError(f"{path}: JSON schema keyword {key!r} has no structural equivalent")
    if "type" not in out and out.get("x-kubernetes-preserve-unknown-fields"):
        # A free-form JSON value: null is a value too (a parameter may be None).
        out["nullable"] = True
        out.setdefault("description", "Any JSON value.")
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(
            f"{path}: no type; give the field a concrete type or mark it as a JSON value "
            "(x-kubernetes-preserve-unknown-fields)"
        )
    if out.get("type") == "object" and "properties" in out and "additionalProperties" in out:
        raise SchemaError(f"{path}: properties and additionalProperties are mutually exclusive")
    return out


# --------------------------------------------------------------------------- update rules


def _unchanged(name: str) -> str:
    """CEL: field ``name`` kept its presence and value across an update."""
    return (
        f"has(self.{name}) == has(oldSelf.{name}) && "
        f"(!has(self.{name}) || self.{name} == oldSelf.{name})"
    )


def immutable_fields_rules(
    model: type[BaseModel], kind: str, fields: list[str] | None = None, hint: str = ""
) -> list[dict[str, str]]:
    """One transition rule per field (all of ``model``'s fields unless ``fields`` is given)."""
    aliases = [f.alias or name for name, f in model.model_fields.items()]
    chosen = aliases if fields is None else [a for a in aliases if a in fields]
    missing = set(fields or []) - set(chosen)
    if missing:
        raise SchemaError(f"{model.__name__} has no fields {sorted(missing)}")
    return [
        {
            "rule": _unchanged(alias),
            "message": f"spec.{alias} of a {kind} is immutable{hint}",
            "fieldPath": f".{alias}",
            "reason": "FieldValueForbidden",
        }
        for alias in chosen
    ]


def _run_spec_rules() -> list[dict[str, str]]:
    aliases = [f.alias or n for n, f in m.PipelineRunSpec.model_fields.items()]
    frozen = [a for a in aliases if a != "cancel"]
    return [
        {
            "rule": "has(self.snapshot) || has(self.pipeline)",
            "message": "set spec.snapshot (a Snapshot name) or spec.pipeline "
            "(runs the pipeline's latest snapshot)",
        },
        *immutable_fields_rules(
            m.PipelineRunSpec,
            "PipelineRun",
            frozen,
            hint=" (only spec.cancel may change): create a new PipelineRun instead",
        ),
        {
            "rule": "!has(oldSelf.cancel) || !oldSelf.cancel || (has(self.cancel) && self.cancel)",
            "message": "spec.cancel cannot go back from true to false: a cancelled run stays "
            "cancelled; create a new PipelineRun to run again",
            "fieldPath": ".cancel",
            "reason": "FieldValueForbidden",
        },
    ]


# --------------------------------------------------------------------------- resources


@dataclass(frozen=True)
class Column:
    """One ``additionalPrinterColumns`` entry."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0

    def to_k8s(self) -> dict[str, Any]:
        col: dict[str, Any] = {"name": self.name, "jsonPath": self.json_path, "type": self.type}
        if self.description:
            col["description"] = self.description
        if self.priority:
            col["priority"] = self.priority
        return col


AGE = Column("Age", ".metadata.creationTimestamp", "date", "Time since creation.")


@dataclass(frozen=True)
class Resource:
    """A kind and everything its CRD needs."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[Column, ...]
    spec_rules: list[dict[str, str]] = field(default_factory=list)
    selectable_fields: tuple[str, ...] = ()  # JSON paths usable in field selectors

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


RESOURCES: tuple[Resource, ...] = (
    Resource(
        kind="Pipeline",
        plural=names.PIPELINES,
        short_names=("pl",),
        description="A named pipeline. Its snapshots and runs point at it; its status "
        "keeps pointers (last run, last successful run, latest snapshot).",
        spec=m.PipelineSpec,
        status=m.PipelineStatus,
        columns=(
            Column("Pipeline", ".spec.name", description="The pipeline's name in Python."),
            Column("Runs", ".status.runCount", "integer", "Runs started."),
            Column("Last Run", ".status.lastRun", description="Newest run."),
            Column("Last Success", ".status.lastSuccessfulRun", description="Newest good run.",
                   priority=1),
            Column("Snapshot", ".status.latestSnapshot", description="Newest snapshot.",
                   priority=1),
            AGE,
        ),
        spec_rules=immutable_fields_rules(
            m.PipelineSpec, "Pipeline", ["name"], hint=": create a new Pipeline instead"
        ),
    ),
    Resource(
        kind="Snapshot",
        plural=names.SNAPSHOTS,
        short_names=("snap",),
        description="An immutable, runnable pipeline: the DAG, code, images and default "
        "configuration. Runs reference it by name.",
        spec=m.SnapshotSpec,
        status=m.SnapshotStatus,
        columns=(
            Column("Pipeline", ".spec.pipelineName", description="The pipeline's name in Python."),
            Column("Display Name", ".spec.displayName", description="User-given snapshot name."),
            Column("Valid", ".status.valid", "boolean", "Accepted by the operator."),
            Column("Runs", ".status.runCount", "integer", "Runs started from it."),
            Column("Reason", ".status.reason", description="Why it is invalid.", priority=1),
            AGE,
        ),
        spec_rules=[
            {
                "rule": "self == oldSelf",
                "message": "Snapshot spec is immutable: create a new Snapshot instead",
                "reason": "FieldValueForbidden",
            }
        ],
    ),
    Resource(
        kind="PipelineRun",
        plural=names.PIPELINE_RUNS,
        short_names=("plr", "prun"),
        description="A run of a Snapshot (or of a Pipeline's latest snapshot) with a run "
        "configuration. The spec is immutable except spec.cancel; the operator writes status.",
        spec=m.PipelineRunSpec,
        status=m.PipelineRunStatus,
        columns=(
            Column("Pipeline", ".status.pipeline", description="Pipeline object name."),
            Column("Snapshot", ".status.snapshot", description="Snapshot that runs."),
            Column("Status", ".status.phase", description="Run phase."),
            Column("Progress", ".status.progress", description="Finished/total steps."),
            Column("Cached", ".status.cachedSteps", "integer", "Steps served from the cache."),
            Column("Duration", ".status.duration", description="Wall time."),
            Column("Reason", ".status.reason", description="Reason of the outcome.", priority=1),
            Column("Failed Step", ".status.failedStep", description="Step that failed the run.",
                   priority=1),
            AGE,
        ),
        spec_rules=_run_spec_rules(),
        selectable_fields=(".status.uid", ".status.phase"),
    ),
    Resource(
        kind="ArtifactVersion",
        plural=names.ARTIFACT_VERSIONS,
        short_names=("av",),
        description="One saved step output in S3: name, version, URI, materializer, content "
        "hash, metadata and producer. Written by the operator.",
        spec=m.ArtifactVersionSpec,
        status=m.ArtifactVersionStatus,
        columns=(
            Column("Artifact", ".spec.artifactName", description="Artifact name."),
            Column("Version", ".spec.version", description="Version."),
            Column("Type", ".spec.dataType", description="Python type of the value."),
            Column("Run", ".spec.producer.run", description="Producing run."),
            Column("Step", ".spec.producer.step", description="Producing step."),
            Column("URI", ".spec.uri", description="Where the data is.", priority=1),
            AGE,
        ),
        spec_rules=immutable_fields_rules(
            m.ArtifactVersionSpec,
            "ArtifactVersion",
            ["artifactName", "version", "uri", "materializer", "contentHash", "producer"],
            hint=": save a new artifact version instead",
        ),
    ),
    Resource(
        kind="Model",
        plural=names.MODELS,
        short_names=("mdl",),
        description="A model in the model control plane; its versions are ModelVersions.",
        spec=m.ModelSpec,
        status=m.ModelStatus,
        columns=(
            Column("Model", ".spec.name", description="Model name."),
            Column("Latest", ".status.latestVersion", description="Newest version."),
            Column("Production", ".status.productionVersion", description="Version in production."),
            Column("Staging", ".status.stagingVersion", description="Version in staging.",
                   priority=1),
            Column("Versions", ".status.versionCount", "integer", "Number of versions."),
            AGE,
        ),
        spec_rules=immutable_fields_rules(
            m.ModelSpec, "Model", ["name"], hint=": create a new Model instead"
        ),
    ),
    Resource(
        kind="ModelVersion",
        plural=names.MODEL_VERSIONS,
        short_names=("mv",),
        description="A version of a Model linking artifact versions, with a stage "
        "(none, staging, production, archived).",
        spec=m.ModelVersionSpec,
        status=m.ModelVersionStatus,
        columns=(
            Column("Model", ".spec.model", description="Model name."),
            Column("Version", ".spec.version", description="Version name or number."),
            Column("Number", ".status.number", "integer", "1-based version number."),
            Column("Stage", ".status.stage", description="Stage in effect."),
            Column("Requested", ".spec.stage", description="Stage asked for.", priority=1),
            Column("Run", ".spec.producerRun", description="Run that created it.", priority=1),
            AGE,
        ),
        spec_rules=immutable_fields_rules(
            m.ModelVersionSpec,
            "ModelVersion",
            ["model", "version"],
            hint=": create a new ModelVersion instead",
        ),
    ),
)


SCHEDULE = Resource(
    kind="Schedule",
    plural=names.SCHEDULES,
    short_names=("sched",),
    description="Runs of a Snapshot (or of a Pipeline's latest snapshot) on cron "
    "expressions in a time zone, with a concurrency policy, a starting deadline and "
    "catch-up; the operator creates exactly one PipelineRun per due time and writes status.",
    spec=m.ScheduleSpec,
    status=m.ScheduleStatus,
    columns=(
        Column("Schedule", ".spec.cron", description="Cron expressions."),
        Column("Timezone", ".spec.timeZone", description="Time zone of the cron expressions."),
        Column("Suspended", ".spec.suspend", "boolean", "No new runs while true."),
        Column("Last", ".status.lastScheduleTime", "date", "Due time of the newest run."),
        Column("Next", ".status.nextScheduleTime", description="Next due time (UTC)."),
        Column("Active", ".status.activeCount", "integer", "Runs not finished."),
        Column("Skipped", ".status.skippedCount", "integer", "Times skipped by policy.",
               priority=1),
        Column("Missed", ".status.missedCount", "integer", "Times missed (deadline, catch-up).",
               priority=1),
        AGE,
    ),
)
RESOURCES = (*RESOURCES, SCHEDULE)


def resource_schema(res: Resource) -> dict[str, Any]:
    """The top-level ``openAPIV3Schema`` of one kind."""
    spec = structural_schema(res.spec)
    if res.spec_rules:
        spec["x-kubernetes-validations"] = [
            *spec.get("x-kubernetes-validations", []),
            *copy.deepcopy(res.spec_rules),
        ]
    status = structural_schema(res.status)
    return {
        "type": "object",
        "description": res.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Versioned schema of this object: kubeline.dev/v1alpha1.",
            },
            "kind": {"type": "string", "description": f"The kind: {res.kind}."},
            # The API server owns metadata's schema: anything but a type is refused.
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }


def crd(res: Resource) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": res.crd_name, "labels": dict(PART_OF_LABEL)},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": res.kind,
                "listKind": f"{res.kind}List",
                "plural": res.plural,
                "singular": res.singular,
                "shortNames": list(res.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_k8s() for c in res.columns],
                    **({"selectableFields": [{"jsonPath": p} for p in res.selectable_fields]}
                       if res.selectable_fields else {}),
                    "schema": {"openAPIV3Schema": resource_schema(res)},
                }
            ],
        },
    }


def kopf_peering_crds() -> list[dict[str, Any]]:
    """CRDs of kopf's peering objects (group kopf.dev), so operator replicas can coordinate."""
    out = []
    for kind, scope in (("ClusterKopfPeering", "Cluster"), ("KopfPeering", "Namespaced")):
        plural = kind.lower() + "s"
        out.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.kopf.dev", "labels": dict(PART_OF_LABEL)},
                "spec": {
                    "group": "kopf.dev",
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                    "scope": scope,
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "description": "Operator replicas announce themselves "
                                    "here so that only one of them acts (kopf peering).",
                                    "properties": {
                                        "status": {
                                            "type": "object",
                                            "description": "Alive peers by identity.",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        }
                                    },
                                }
                            },
                        }
                    ],
                },
            }
        )
    return out


# --------------------------------------------------------------------------- files

HEADER = (
    "# Generated by `python -m kubeline.resources.crdgen` from "
    "sdk/kubeline/resources/models.py.\n# Do not edit: change the models and regenerate.\n"
)


def render(doc: dict[str, Any]) -> str:
    """Deterministic YAML text of one CRD (keys sorted, long lines kept)."""
    return HEADER + yaml.safe_dump(doc, sort_keys=True, width=100, allow_unicode=True)


def generated_files() -> dict[str, str]:
    """File name -> YAML text of every CRD Kubeline installs."""
    files = {f"{GROUP}_{r.plural}.yaml": render(crd(r)) for r in RESOURCES}
    for doc in kopf_peering_crds():
        files[f"{doc['metadata']['name'].replace('.kopf.dev', '')}.kopf.dev.yaml"] = render(doc)
    return {name: files[name] for name in sorted(files)}


def output_dirs(root: Path) -> list[Path]:
    """Where the CRDs are written: ``crds/`` and the chart's ``crds/``."""
    return [root / "crds", root / "charts" / "kubeline" / "crds"]


def stale_files(root: Path) -> list[str]:
    """Files that differ from (or are missing in, or are extra in) the generated set."""
    expected = generated_files()
    stale = []
    for folder in output_dirs(root):
        present = {p.name for p in folder.glob("*.yaml")} if folder.is_dir() else set()
        for name, text in expected.items():
            path = folder / name
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(root)))
        stale += [str((folder / n).relative_to(root)) for n in sorted(present - set(expected))]
    return stale


def write(root: Path) -> list[Path]:
    """Write every CRD into both output folders, removing stale generated files."""
    written = []
    expected = generated_files()
    for folder in output_dirs(root):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            if old.name not in expected:
                old.unlink()
        for name, text in expected.items():
            path = folder / name
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
                written.append(path)
    return written


def repo_root() -> Path:
    """The repository root (the folder holding pyproject.toml above this file)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise FileNotFoundError("cannot find the repository root (pyproject.toml) above crdgen.py")


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the generated CRDs."""
    parser = argparse.ArgumentParser(
        prog="python -m kubeline.resources.crdgen", description=__doc__
    )
    parser.add_argument("--root", type=Path, default=None, help="repository root")
    parser.add_argument("--check", action="store_true", help="fail if files are stale")
    args = parser.parse_args(argv)
    root = args.root or repo_root()
    if args.check:
        stale = stale_files(root)
        if stale:
            print("stale generated CRDs (run `python -m kubeline.resources.crdgen`):", *stale,
                  sep="\n  ", file=sys.stderr)
            return 1
        return 0
    for path in write(root):
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
