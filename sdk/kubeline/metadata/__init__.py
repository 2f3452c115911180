"""Metadata types (ZenML-compatible import path ``kubeline.metadata``)."""
