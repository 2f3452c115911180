"""The materializer registry at ZenML's path (``zenml.materializers.materializer_registry``)."""

from kubeline.materializers.registry import MaterializerRegistry, materializer_registry

__all__ = ["MaterializerRegistry", "materializer_registry"]
