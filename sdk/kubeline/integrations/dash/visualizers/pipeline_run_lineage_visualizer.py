"""``PipelineRunLineageVisualizer``: a run's lineage (steps and artifacts, coloured by
status) in the local browser at ``http://127.0.0.1:8050``, as ZenML's Dash visualizer.

Kubeline serves its own UI instead of a Dash app: the page is the run page of
``kubeline ui``, live while the run progresses. ``visualize`` does not block: the UI runs
in a background thread, so a script can visualize several runs; when the script ends the
pages stay served until Ctrl+C. In a notebook (or with ``magic=True``) the DAG is shown
inline instead.
"""

from __future__ import annotations

import webbrowser
from typing import Any

from kubeline.errors import ConfigurationError


class PipelineRunLineageVisualizer:
    """Shows a pipeline run as a lineage graph (seed API: ``visualize(run)``)."""

    def visualize(self, object: Any, magic: bool = False, *args: Any, **kwargs: Any) -> str:
        """Open ``object`` (a run view) in the browser; returns the page's URL.

        ``magic=True`` (or running inside a notebook) displays the DAG inline instead.
        """
        run = _as_run(object)
        from kubeline.client.visualize import in_notebook

        if magic or in_notebook():
            from IPython.display import HTML, display

            display(HTML(run._repr_html_()))
        from kubeline.ui.server import background, keep_serving_at_exit, run_url

        namespace = run.metadata.get("namespace")
        server = background(namespace=namespace)
        url = run_url(server.url, run.name, namespace)
        if not (magic or in_notebook()):
            print(f"Lineage of run {run.name}: {url}", flush=True)
            webbrowser.open(url)
            keep_serving_at_exit()
        return url


def _as_run(obj: Any) -> Any:
    from kubeline.client.runs import RunView

    if isinstance(obj, RunView):
        return obj
    if isinstance(obj, str):
        from kubeline.client import Client

        return Client().get_pipeline_run(obj)
    raise ConfigurationError(
        f"PipelineRunLineageVisualizer.visualize takes a pipeline run (a RunView, e.g. "
        f"Client().get_pipeline(name).last_run) or a run name, not {type(obj).__name__}"
    )
