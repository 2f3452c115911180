"""ZenML's integration paths (``zenml.integrations.x`` -> ``kubeline.integrations.x``)."""
