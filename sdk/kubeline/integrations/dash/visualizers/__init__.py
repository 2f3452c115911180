"""Visualizers of the Dash integration path."""

from kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer import (
    PipelineRunLineageVisualizer,
)

__all__ = ["PipelineRunLineageVisualizer"]
