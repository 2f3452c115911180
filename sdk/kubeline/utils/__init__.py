"""Utilities at ZenML's import paths (``kubeline.utils.tag_utils``, ...)."""
