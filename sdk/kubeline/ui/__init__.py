"""The Kubeline UI: a web app over the Kubernetes API showing runs as live lineage DAGs.

``kubeline ui`` serves it locally; the chart's ``ui.enabled`` runs it in the cluster;
``PipelineRunLineageVisualizer().visualize(run)`` and ``run.visualize()`` open or embed a
run. Imported only when used: ``import kubeline`` never loads Starlette.
"""
