"""Errors raised by Kubeline. Each message says what went wrong and what to do."""

from __future__ import annotations


class KubelineError(Exception):
    """Base of all Kubeline errors."""


class CompileError(KubelineError):
    """A pipeline could not be compiled (names the step and argument)."""


class ConfigurationError(KubelineError):
    """A run configuration or setting is invalid."""


class NotFoundError(KubelineError, KeyError):
    """A pipeline, run, step, snapshot or artifact does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class AlreadyExistsError(KubelineError):
    """An object of that name exists already."""


class PermissionDeniedError(KubelineError):
    """The API server refused the request (RBAC)."""


class ClusterUnreachableError(KubelineError):
    """No cluster is configured, or the API server does not answer."""


class ArtifactStoreError(KubelineError):
    """The artifact store (S3) failed or is misconfigured."""


class RunFailedError(KubelineError):
    """A pipeline run ended failed or cancelled (raised by ``wait(raise_on_failure=True)``)."""
