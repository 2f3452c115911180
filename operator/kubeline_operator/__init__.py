"""Kubeline's kopf operator: reconciles PipelineRuns into step Pods.

Pure modules (no I/O): ``planner``, ``run_status``, ``cache_key``, ``pod_spec``,
``dag``, ``observe``, ``resolution``, ``artifacts``. The kopf layer lives in
``handlers`` / ``controller`` and is started by ``python -m kubeline_operator``.
"""

__all__: list[str] = []
