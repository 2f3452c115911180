"""``DockerSettings`` at ZenML's module path (``zenml.config.docker_settings``)."""

from kubeline.settings import DockerSettings

__all__ = ["DockerSettings"]
