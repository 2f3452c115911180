"""The Kubeline ``Client`` and its views (ZenML-compatible import path)."""

from kubeline.client.artifacts import ArtifactVersionView, ArtifactView
from kubeline.client.client import Client
from kubeline.client.models_view import ModelVersionView, ModelView
from kubeline.client.pipelines import PipelineView
from kubeline.client.runs import RunView
from kubeline.client.snapshots import SnapshotView
from kubeline.client.steps import StepView

__all__ = [
    "ArtifactVersionView",
    "ArtifactView",
    "Client",
    "ModelVersionView",
    "ModelView",
    "PipelineView",
    "RunView",
    "SnapshotView",
    "StepView",
]
