"""Kubeline: Kubernetes-native ML pipelines with a ZenML-style API.

Names are exported lazily so that ``import kubeline`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "step": "kubeline.steps",
    "pipeline": "kubeline.pipelines",
    "Step": "kubeline.steps",
    "Pipeline": "kubeline.pipelines",
    "get_step_context": "kubeline.context",
    "get_pipeline_context": "kubeline.context",
    "log_metadata": "kubeline.context",
    "Model": "kubeline.model",
    "ArtifactConfig": "kubeline.artifacts.artifact_config",
    "load_artifact": "kubeline.artifacts.utils",
    "UnmaterializedArtifact": "kubeline.artifacts.unmaterialized_artifact",
    "ResourceSettings": "kubeline.settings",
    "DockerSettings": "kubeline.settings",
    "StepRetryConfig": "kubeline.settings",
    "PipelineRunConfiguration": "kubeline.config.pipeline_run_configuration",
    "Schedule": "kubeline.config.schedule",
    "Client": "kubeline.client",
    "Tag": "kubeline.utils.tag_utils",
    "add_tags": "kubeline.utils.tag_utils",
    "remove_tags": "kubeline.utils.tag_utils",
    "ExternalArtifact": "kubeline.artifacts.external_artifact",
    "save_artifact": "kubeline.artifacts.utils",
    "register_artifact": "kubeline.artifacts.utils",
    "bulk_log_metadata": "kubeline.context",
}

__all__ = [
    "ArtifactConfig", "Client", "DockerSettings", "ExternalArtifact", "Model", "Pipeline",
    "PipelineRunConfiguration", "ResourceSettings", "Schedule", "Step", "StepRetryConfig",
    "Tag", "UnmaterializedArtifact", "__version__", "add_tags", "bulk_log_metadata",
    "get_pipeline_context", "get_step_context", "load_artifact", "log_metadata", "pipeline",
    "register_artifact", "remove_tags", "save_artifact", "step",
]

if TYPE_CHECKING:
    from kubeline.artifacts.artifact_config import ArtifactConfig
    from kubeline.artifacts.unmaterialized_artifact import UnmaterializedArtifact
    from kubeline.artifacts.utils import load_artifact
    from kubeline.config.pipeline_run_configuration import PipelineRunConfiguration
    from kubeline.config.schedule import Schedule
    from kubeline.context import get_pipeline_context, get_step_context, log_metadata
    from kubeline.model import Model
    from kubeline.pipelines import Pipeline, pipeline
    from kubeline.settings import DockerSettings, ResourceSettings, StepRetryConfig
    from kubeline.steps import Step, step
    from kubeline.utils.tag_utils import Tag, add_tags, remove_tags

    # Client is provided by kubeline.client (exported lazily as well).


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kubeline' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
