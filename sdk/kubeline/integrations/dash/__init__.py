"""ZenML's Dash integration path. Kubeline draws run lineage with its own UI (no Dash needed)."""
