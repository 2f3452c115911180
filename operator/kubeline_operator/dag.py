"""The step DAG of a snapshot: lookups, upstream edges and validation (pure).

Validation here covers what the CRD's CEL rules cannot: unique step names and
ids, inputs that reference existing steps and outputs, no cycles, and steps
listed in topological order (the planner walks them in that order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeline.resources.models import RunConfiguration, SnapshotSpec, StepSpec
from kubeline.resources.run_config import StepParameters

_MEMO: dict[int, tuple[SnapshotSpec, Dag]] = {}
_MEMO_SIZE = 512


@dataclass(frozen=True)
class Dag:
    """Index of a snapshot's steps by id and name, with upstream edges by step id."""

    steps: tuple[StepSpec, ...]
    by_id: dict[str, StepSpec] = field(default_factory=dict)
    by_name: dict[str, StepSpec] = field(default_factory=dict)
    upstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    parameters: tuple[StepParameters, ...] = ()  # what a run configuration may set

    @classmethod
    def of(cls, snapshot: SnapshotSpec) -> Dag:
        """The Dag of ``snapshot`` (memoized per snapshot object: specs are never mutated,
        and a run's reconcile asks for it several times per pass)."""
        hit = _MEMO.get(id(snapshot))
        if hit is not None and hit[0] is snapshot:
            return hit[1]
        dag = cls._build(snapshot)
        _MEMO[id(snapshot)] = (snapshot, dag)  # the strong reference keeps the id unique
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        return dag

    @classmethod
    def _build(cls, snapshot: SnapshotSpec) -> Dag:
        by_id = {s.id: s for s in snapshot.steps}
        by_name = {s.name: s for s in snapshot.steps}
        upstream: dict[str, tuple[str, ...]] = {}
        for step in snapshot.steps:
            ups: list[str] = []
            for ref in [i.step for i in step.inputs if i.step] + list(step.after):
                target = by_name.get(ref) or by_id.get(ref)
                if target is not None and target.id not in ups:
                    ups.append(target.id)
            upstream[step.id] = tuple(ups)
        return cls(tuple(snapshot.steps), by_id, by_name, upstream,
                   tuple(StepParameters.of(s) for s in snapshot.steps))

    def lookup(self, key: str) -> StepSpec | None:
        """A step by invocation id or by name (run configurations may use either)."""
        return self.by_id.get(key) or self.by_name.get(key)

    def downstream_of(self, step_id: str) -> list[str]:
        """Ids of the steps that (transitively) depend on ``step_id``, in DAG order."""
        hit = {step_id}
        out: list[str] = []
        for step in self.steps:
            if any(u in hit for u in self.upstream[step.id]):
                hit.add(step.id)
                out.append(step.id)
        return out


def validate_snapshot(snapshot: SnapshotSpec) -> list[str]:
    """Problems that make a snapshot unrunnable, each saying what to fix; [] if valid."""
    problems: list[str] = []
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    for pos, step in enumerate(snapshot.steps):
        if step.name in names:
            problems.append(
                f"step name '{step.name}' is used by steps #{names[step.name]} and #{pos}"
            )
        if step.id in ids:
            problems.append(f"step id '{step.id}' is used by steps #{ids[step.id]} and #{pos}")
        names.setdefault(step.name, pos)
        ids.setdefault(step.id, pos)
    by_name = {s.name: s for s in snapshot.steps}
    by_id = {s.id: s for s in snapshot.steps}
    position = {s.id: i for i, s in enumerate(snapshot.steps)}
    for step in snapshot.steps:
        seen_inputs: set[str] = set()
        for inp in step.inputs:
            if inp.name in seen_inputs:
                problems.append(f"step '{step.id}' declares input '{inp.name}' twice")
            seen_inputs.add(inp.name)
            if inp.name in step.parameters:
                problems.append(
                    f"step '{step.id}': '{inp.name}' is both an input and a parameter"
                )
            if [bool(inp.step), bool(inp.artifact), bool(inp.model_artifact)].count(True) != 1:
                problems.append(
                    f"step '{step.id}' input '{inp.name}' must name exactly one of "
                    "'step' (with 'output'), 'artifact' or 'modelArtifact'"
                )
                continue
            if inp.step:
                up = by_name.get(inp.step) or by_id.get(inp.step)
                if up is None:
                    problems.append(
                        f"step '{step.id}' input '{inp.name}' references unknown step '{inp.step}'"
                    )
                    continue
                if not inp.output or inp.output not in {o.name for o in up.outputs}:
                    problems.append(
                        f"step '{step.id}' input '{inp.name}' references output "
                        f"'{inp.output}' which step '{up.id}' does not declare"
                    )
                if up.id == step.id:
                    problems.append(f"step '{step.id}' input '{inp.name}' references itself")
        for ref in step.after:
            if ref not in by_name and ref not in by_id:
                problems.append(f"step '{step.id}' waits 'after' unknown step '{ref}'")
        out_names = [o.name for o in step.outputs]
        if len(set(out_names)) != len(out_names):
            problems.append(f"step '{step.id}' declares an output name twice: {out_names}")
    if problems:
        return problems
    dag = Dag.of(snapshot)
    cycle = find_cycle(dag)
    if cycle:
        return [f"the steps form a cycle: {' -> '.join(cycle)}"]
    for step in snapshot.steps:
        for up_id in dag.upstream[step.id]:
            if position[up_id] > position[step.id]:
                problems.append(
                    f"step '{step.id}' uses step '{up_id}', which is listed after it; "
                    "list steps in topological order"
                )
    return problems


def find_cycle(dag: Dag) -> list[str]:
    """A cycle of step ids (first id repeated at the end), or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for up in dag.upstream.get(node, ()):
            if state.get(up) == 1:
                return [*stack[stack.index(up):], up]
            if up not in state:
                found = visit(up)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for step in dag.steps:
        if step.id not in state:
            found = visit(step.id)
            if found:
                return found
    return []


def effective_parameters(dag: Dag, *configs: RunConfiguration) -> dict[str, dict[str, Any]]:
    """Step id -> parameters after applying each configuration's overrides in order."""
    params = {s.id: dict(s.parameters) for s in dag.steps}
    for config in configs:
        for key, step_config in config.steps.items():
            step = dag.lookup(key)
            if step is not None:
                params[step.id].update(step_config.parameters)
    return params
