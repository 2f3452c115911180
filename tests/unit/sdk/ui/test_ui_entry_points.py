"""The ways into the UI stay light until used: `import kubeline`, the Client and the seed's
visualizer import path load no web server; `kubeline ui` has the documented options."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from kubeline.cli.main import cli

pytestmark = pytest.mark.unit


def test_imports_load_no_web_server() -> None:
    code = (
        "import sys, kubeline\n"
        "from kubeline.client import Client\n"
        "from kubeline.client.runs import RunView\n"
        "from kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer import "
        "PipelineRunLineageVisualizer\n"
        "print([m for m in ('starlette', 'uvicorn', 'kubeline.ui.app') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_kubeline_ui_options() -> None:
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--port", "--no-browser", "--host", "--auth-mode"):
        assert option in result.output
    assert "8050" in result.output and "127.0.0.1" in result.output


def test_visualizer_refuses_what_is_not_a_run() -> None:
    from kubeline.errors import ConfigurationError
    from kubeline.integrations.dash.visualizers.pipeline_run_lineage_visualizer import (
        PipelineRunLineageVisualizer,
    )

    with pytest.raises(ConfigurationError, match="takes a pipeline run"):
        PipelineRunLineageVisualizer().visualize(42)


def test_logs_of_a_cache_hit_name_the_run_they_came_from() -> None:
    from kubeline.client.runs import RunView
    from kubeline.errors import NotFoundError

    steps = [{"name": "load", "phase": "cached", "cachedFrom": {"run": "p-1", "step": "load"}}]
    obj = {"metadata": {"name": "p-2"}, "spec": {}, "status": {"phase": "cached", "steps": steps}}
    run = RunView(None, obj)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match=r"`kubeline run logs p-1 load`"):
        run.steps["load"].logs()
