"""Decorators and options: steps stay plain callables; settings are normalized."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import sample_steps as s
from kubeline import pipeline, step
from kubeline.errors import ConfigurationError, KubelineError
from kubeline.settings import ResourceSettings, StepRetryConfig

pytestmark = pytest.mark.unit


def test_step_functions_run_plain_through_entrypoint_or_the_switch(monkeypatch) -> None:
    features, labels = s.load.entrypoint()
    assert isinstance(features, pd.DataFrame) and list(labels) == [0, 1, 0]
    assert s.configured.entrypoint(x=2) == 6
    monkeypatch.setenv("ZENML_RUN_SINGLE_STEPS_WITHOUT_STACK", "True")
    assert s.configured(x=2) == 6
    assert s.configured.__name__ == "configured" and s.configured.name == "configured"


def test_a_step_called_outside_a_pipeline_is_a_one_step_pipeline(monkeypatch) -> None:
    """ZenML's rule: the call runs a pipeline of just this step; non-JSON arguments become
    artifacts (ExternalArtifact), JSON ones parameters."""
    from kubeline.artifacts.external_artifact import ExternalArtifact
    from kubeline.single_step import single_step_pipeline

    monkeypatch.delenv("ZENML_RUN_SINGLE_STEPS_WITHOUT_STACK", raising=False)
    frame = pd.DataFrame({"a": [1.0]})
    p = single_step_pipeline(s.train, (), {"features": frame, "labels": pd.Series([1]),
                                            "gamma": 0.5})
    assert p.name == "single_step_train"
    uploaded: list[object] = []
    monkeypatch.setattr(ExternalArtifact, "to_artifact_ref",
                        lambda self: uploaded.append(self.value) or {"name": "ext", "id": "1"})
    spec = p.compile().spec
    (step_spec,) = spec.steps
    assert step_spec.parameters == {"gamma": 0.5}
    assert {i.name for i in step_spec.inputs} == {"features", "labels"}
    assert uploaded[0] is frame
    assert step_spec.entrypoint == "sample_steps:train"


def test_step_context_only_inside_steps() -> None:
    from kubeline import get_step_context

    with pytest.raises(KubelineError, match="only while a step runs"):
        get_step_context()


def test_step_options_and_with_options() -> None:
    opts = s.configured.options
    assert opts.enable_cache is False and opts.cache_version == "2" and opts.timeout == 60
    assert opts.resources == {"cpu": "500m", "memory": "1G", "gpu": 1}
    assert opts.retry == {"maxRetries": 3}
    other = s.configured.with_options(
        resources=ResourceSettings(cpu_count=2, memory="512MiB"),
        retry=StepRetryConfig(max_retries=2, delay=5, backoff=3), image="x:1")
    assert other.options.resources == {"cpu": "2", "memory": "512Mi", "gpu": 1}
    assert other.options.retry == {"maxRetries": 2, "backoffSeconds": 5, "backoffFactor": 3,
                                   "maxBackoffSeconds": 600.0}
    assert other.options.image == "x:1" and s.configured.options.image is None


@pytest.mark.parametrize("kwargs, match", [
    ({"settings": {"gpu": 1}}, "unknown settings key"),
    ({"resources": {"cpu_count": -1}}, "cpu must be positive"),
    ({"resources": {"memory": "lots"}}, "memory 'lots'"),
    ({"env": {"A": 1}}, "env values must be strings"),
    ({"timeout": 0}, "timeout must be a positive"),
    ({"retry": {"tries": 2}}, "unknown retry option 'tries'"),
    ({"colour": "red"}, "unknown option"),
])
def test_bad_options_are_named(kwargs, match) -> None:
    with pytest.raises(ConfigurationError, match=match):
        step(**kwargs)(lambda: None)


def test_pipeline_options() -> None:
    from kubeline import Model
    from kubeline.enums import ModelStages

    p = s.two_step.with_options(synchronous=False, enable_cache=False, run_name="r",
                                model=Model(name="iris", version=ModelStages.PRODUCTION))
    assert p.options.synchronous is False and s.two_step.options.synchronous is True
    assert p.options.model.to_spec() == {"name": "iris", "version": "production"}
    spec = p.compile(source_root=s.two_step.compile().source_root).spec
    assert spec.model is not None
    assert spec.model.to_k8s() == {"name": "iris", "version": "production", "tags": []}
    with pytest.raises(ConfigurationError, match="unknown option"):
        s.two_step.with_options(colour="red")

    @pipeline(enable_cache=False)
    def p2() -> None:
        pass

    assert p2.enable_cache is False and p2.name == "p2"


def test_import_kubeline_stays_light() -> None:
    code = ("import sys, kubeline; from kubeline import step, pipeline; "
            "heavy = [m for m in ('kubernetes', 'pandas', 'numpy', 'sklearn', 's3fs', 'rich', "
            "'kopf', 'pydantic') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
