"""Run configuration (ZenML-compatible import paths)."""
