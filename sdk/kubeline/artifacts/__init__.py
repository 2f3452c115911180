"""Artifact helpers: ``ArtifactConfig``, ``UnmaterializedArtifact``, ``load_artifact``."""
