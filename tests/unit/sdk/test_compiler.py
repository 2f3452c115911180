"""Compiler: invocation ids, compile-time errors, snapshot content addressing."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest
import sample_steps as s
from kubeline import pipeline, step
from kubeline.compiler import snapshot_name, step_dns_names
from kubeline.errors import CompileError
from kubeline.resources.models import RunConfiguration
from kubeline.resources.run_config import effective_enable_cache
from kubeline.source_hash import code_hash

pytestmark = pytest.mark.unit
ROOT = Path(s.__file__).parent


def compile_(p, **kw):
    return p.compile(source_root=ROOT, **kw)


def test_iris_like_pipeline_compiles_to_snapshot_spec() -> None:
    c = compile_(s.two_step)
    spec = c.spec
    assert [st.id for st in spec.steps] == ["load", "train"]
    assert [st.name for st in spec.steps] == ["load", "train"]
    train = spec.steps[1]
    assert train.entrypoint == "sample_steps:train"
    assert train.parameters == {"gamma": 0.2}
    assert [(i.name, i.step, i.output) for i in train.inputs] == [
        ("features", "load", "features"), ("labels", "load", "labels")]
    assert [(o.name, o.materializer.rsplit(".", 1)[-1], o.artifact_name) for o in train.outputs] \
        == [("model", "BuiltInMaterializer", "model"),
            ("accuracy", "BuiltInMaterializer", "accuracy")]
    load_outputs = {o.name: o for o in spec.steps[0].outputs}
    assert load_outputs["features"].materializer.endswith("PandasMaterializer")
    assert load_outputs["features"].data_type.endswith("DataFrame")
    assert spec.pipeline_name == "two_step" and spec.pipeline_parameters == {"gamma": 0.2}
    assert spec.config_template.steps["train"].parameters == {"gamma": 0.2}
    assert c.snapshot_name.startswith(spec.pipeline + "-")
    assert len(train.code_hash) == 64


def test_pipeline_parameters_reach_steps_and_change_the_snapshot() -> None:
    a = compile_(s.two_step)
    b = s.two_step.compile(gamma=0.5, source_root=ROOT)
    assert b.spec.steps[1].parameters == {"gamma": 0.5}
    assert a.snapshot_name != b.snapshot_name


def test_snapshot_name_is_stable() -> None:
    names = {compile_(s.two_step).snapshot_name for _ in range(3)}
    assert len(names) == 1
    spec = compile_(s.two_step).spec
    assert snapshot_name(spec) == snapshot_name(spec.model_copy(deep=True))
    # a dict order change in config does not change the name (canonical JSON)
    a = s.two_step.with_options(steps={"train": {"parameters": {"gamma": 1.0}}})
    b = s.two_step.with_options(steps={"train": {"parameters": {"gamma": 1.0}}})
    assert compile_(a).snapshot_name == compile_(b).snapshot_name
    assert compile_(a).snapshot_name != compile_(s.two_step).snapshot_name


def test_invocation_ids_options_and_after() -> None:
    spec = compile_(s.repeated).spec
    assert [st.id for st in spec.steps] == ["configured", "configured_2", "custom"]
    assert [st.name for st in spec.steps] == ["configured", "configured-2", "custom"]
    custom = spec.steps[2]
    assert custom.after == ["configured"]
    assert spec.steps[1].parameters == {"x": 5}
    first = spec.steps[0]
    assert first.enable_cache is False and first.cache_version == "2"
    assert not effective_enable_cache(first, spec, RunConfiguration())
    assert first.retry is not None and first.retry.max_retries == 3
    assert first.timeout_seconds == 60
    assert first.resources.to_k8s() == {"cpu": "500m", "memory": "1G", "gpu": 1}
    assert first.env == {"MODE": "fast"} and first.extra == {
        "team": "ml", "parameterTypes": {"x": "integer"}, "parameterAnnotations": {"x": "int"}}
    assert spec.image == "example/img:1" and first.image is None
    assert spec.enable_cache is False


def test_unannotated_and_none_outputs() -> None:
    @pipeline
    def p() -> None:
        s.unannotated()
        s.nothing()

    p.__module__ = "sample_steps"  # defined here, but steps are importable from sample_steps
    spec = compile_(p).spec
    assert [o.name for o in spec.steps[0].outputs] == ["output"]
    assert spec.steps[0].outputs[0].artifact_name == "p::unannotated::output"
    assert spec.steps[0].outputs[0].materializer.endswith("AutoMaterializer")
    assert spec.steps[1].outputs == []


def test_artifact_fetched_in_pipeline_becomes_input_ref() -> None:
    spec = compile_(s.from_artifact).spec
    inp = spec.steps[0].inputs[0]
    assert inp.name == "data" and inp.unmaterialized is True
    assert inp.artifact.to_k8s() == {"name": "iris_dataset", "version": "raw_2023", "id": "1234"}


def _errors(body) -> str:
    with pytest.raises(CompileError) as info:
        compile_(pipeline(body))
    return str(info.value)


def test_missing_input_names_step_and_argument() -> None:
    def p() -> None:
        s.train(gamma=1.0)
    msg = _errors(p)
    assert "step 'train'" in msg and "missing input 'features'" in msg


def test_unknown_parameter_names_step_and_argument() -> None:
    def p() -> None:
        s.configured(y=3)
    msg = _errors(p)
    assert "step 'configured'" in msg and "unknown parameter 'y'" in msg


def test_non_json_argument_names_step_and_argument() -> None:
    def p() -> None:
        s.configured(x=object())
    msg = _errors(p)
    assert "step 'configured'" in msg and "argument 'x'" in msg and "JSON" in msg


def test_output_name_collision() -> None:
    def p() -> None:
        s.collide()
    msg = _errors(p)
    assert "step 'collide'" in msg and "'same'" in msg


def test_run_config_errors_name_step_and_parameter() -> None:
    bad_step = s.two_step.with_options(steps={"nope": {"parameters": {"x": 1}}})
    with pytest.raises(CompileError, match="step 'nope'"):
        compile_(bad_step)
    bad_param = s.two_step.with_options(steps={"train": {"parameters": {"delta": 1}}})
    with pytest.raises(CompileError, match=r"step 'train' has no parameter 'delta'"):
        compile_(bad_param)
    input_param = s.two_step.with_options(steps={"train": {"parameters": {"features": 1}}})
    with pytest.raises(CompileError, match="'features' is an input"):
        compile_(input_param)


def test_run_config_can_supply_a_missing_parameter_and_yaml(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("enable_cache: false\nparameters: {gamma: 0.7}\nsteps:\n  train:\n"
                   "    enable_cache: true\n    settings:\n      resources: {memory: 2GiB}\n")
    c = compile_(s.two_step.with_options(config_path=str(cfg)))
    train = c.spec.steps[1]
    assert train.parameters == {"gamma": 0.7}
    load = c.spec.steps[0]
    # The step-level setting wins over the pipeline's enable_cache: false; the run config too.
    assert effective_enable_cache(train, c.spec, RunConfiguration())
    assert not effective_enable_cache(load, c.spec, RunConfiguration())
    run_config = RunConfiguration.model_validate(c.run_config)
    assert effective_enable_cache(train, c.spec, run_config)
    assert not effective_enable_cache(load, c.spec, run_config)
    assert train.resources.memory == "2Gi"
    assert c.run_config["enableCache"] is False


def test_duplicate_explicit_id_and_bad_after() -> None:
    def p() -> None:
        s.configured(id="a")
        s.configured(id="a")
    assert "invocation id 'a' is already used" in _errors(p)

    def q() -> None:
        s.configured(after="ghost")
    assert "after='ghost'" in _errors(q)


def test_output_refs_cannot_drive_control_flow() -> None:
    def p() -> None:
        out = s.unannotated()
        if out:
            s.nothing()
    assert "control flow" in _errors(p)


def test_steps_defined_in_functions_are_rejected() -> None:
    @step
    def local_step() -> int:
        return 1

    def p() -> None:
        local_step()
    assert "defined inside a function" in _errors(p)


def test_step_dns_names_are_unique_labels() -> None:
    names = step_dns_names(["svc_trainer", "svc-trainer", "Trainer", "a.b"])
    assert names["svc_trainer"] == "svc-trainer"
    assert names["svc-trainer"] != "svc-trainer" and names["svc-trainer"].startswith("svc-trainer-")
    assert names["Trainer"].startswith("trainer-")
    assert names["a.b"] == "a-b"
    assert len(set(names.values())) == 4


def _module(tmp_path: Path, name: str, source: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_code_hash_follows_helpers_not_neighbours(tmp_path: Path) -> None:
    base = """
        from kubeline import step
        FACTOR = {factor}
        def helper(x):
            return x * FACTOR
        @step
        def a(x: int = 1) -> int:
            return helper(x)
        @step
        def b(x: int = 1) -> int:
            return x {extra}
    """
    m1 = _module(tmp_path / "one", "hashmod", base.format(factor=2, extra=""))
    m2 = _module(tmp_path / "two", "hashmod", base.format(factor=3, extra=""))
    m3 = _module(tmp_path / "three", "hashmod", base.format(factor=2, extra="+ 1"))
    h = lambda m, f: code_hash(getattr(m, f).entrypoint, tmp_path)  # noqa: E731
    assert h(m1, "a") != h(m2, "a")  # helper constant changed
    assert h(m1, "b") == h(m2, "b")  # b does not use it
    assert h(m1, "a") == h(m3, "a")  # neighbour b changed: a unaffected
    assert h(m1, "b") != h(m3, "b")


def test_main_module_entrypoint_derived_from_path(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / ".kubeline").write_text("")
    script = tmp_path / "pkg" / "run.py"
    script.write_text(textwrap.dedent("""
        from kubeline import pipeline, step
        @step
        def hello() -> int:
            return 1
        @pipeline
        def p():
            hello()
        if __name__ == "__main__":
            c = p.compile()
            print(c.spec.steps[0].entrypoint, c.source_root)
    """))
    import subprocess

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"}).stdout.split()
    assert out == ["pkg.run:hello", str(tmp_path.resolve())]


def test_script_whose_name_is_no_module_runs_by_path(tmp_path: Path) -> None:
    """ZenML runs ``python 01_train.py``; so does Kubeline (entrypoint '01_train.py:fn')."""
    import json
    import subprocess

    (tmp_path / ".kubeline").write_text("")
    script = tmp_path / "01_train.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from kubeline import pipeline, step
        @step
        def hello(x: int = 2) -> int:
            return x * 21
        @pipeline
        def p():
            hello()
        if __name__ == "__main__":
            print(p.compile().spec.steps[0].entrypoint)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin",
                                          "PYTHONPATH": ":".join(sys.path)}).stdout.split()
    assert out == ["01_train.py:hello"]
    # The step runtime loads it by path from the source root (the code archive's root).
    from kubeline.runtime.executor import import_step_function

    sys.path.insert(0, str(tmp_path))
    try:
        fn = import_step_function("01_train.py:hello")
        assert fn(x=2) == 42
        assert json.dumps(fn.__module__) == '"kubeline_script_01_train"'
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("kubeline_script_01_train", None)
    from kubeline.resources.models import StepSpec

    with pytest.raises(ValueError, match="entrypoint"):
        StepSpec.model_validate({"name": "a", "id": "a", "function": "f", "codeHash": "h",
                                 "entrypoint": "../evil.py:f"})
