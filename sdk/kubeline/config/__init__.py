"""Configuration classes (ZenML-compatible import paths: ``kubeline.config.X``)."""

from kubeline.settings import ByteUnit, DockerSettings, ResourceSettings, StepRetryConfig

__all__ = ["ByteUnit", "DockerSettings", "ResourceSettings", "StepRetryConfig"]
