"""``BaseMaterializer`` at ZenML's module path (``zenml.materializers.base_materializer``)."""

from kubeline.materializers.base import BaseMaterializer

__all__ = ["BaseMaterializer"]
