"""``ResourceSettings`` at ZenML's module path (``zenml.config.resource_settings``)."""

from kubeline.settings import ByteUnit, ResourceSettings

__all__ = ["ByteUnit", "ResourceSettings"]
