"""``StepRetryConfig`` at ZenML's module path (``zenml.config.retry_config``)."""

from kubeline.settings import StepRetryConfig

__all__ = ["StepRetryConfig"]
