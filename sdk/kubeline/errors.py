"""Errors raised by Kubeline. Each message says what went wrong and what to do."""

from __future__ import annotations

from typing import Any


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


class UnauthenticatedError(PermissionDeniedError):
    """The API server did not accept the credentials (HTTP 401: missing, expired or bad token)."""


class ClusterUnreachableError(KubelineError):
    """No cluster is configured, or the API server does not answer."""


class ArtifactStoreError(KubelineError):
    """The artifact store (S3) failed or is misconfigured."""


class ArtifactIntegrityError(ArtifactStoreError):
    """An artifact's stored files do not match the content hash recorded at save time (or
    no hash was recorded): it is refused before anything is deserialized."""


class UntrustedArtifactError(ArtifactStoreError):
    """A pickle-based artifact comes from a namespace the caller neither is in nor named in
    ``trust_pickles_from`` / ``KUBELINE_TRUST_PICKLES_FROM``: it is not unpickled."""


class RunFailedError(KubelineError, RuntimeError):
    """A pipeline run ended failed or cancelled.

    Raised by a synchronous pipeline call and by ``wait(raise_on_failure=True)``; a
    ``RuntimeError`` as ZenML's is. ``run`` is the run's view, ``failed_step`` the step
    that failed and ``step_message`` its message.
    """

    def __init__(self, message: str, run: Any = None, failed_step: str | None = None,
                 step_message: str | None = None) -> None:
        super().__init__(message)
        self.run = run
        self.failed_step = failed_step
        self.step_message = step_message


class PaginationError(ConfigurationError, ValueError):
    """A listing's ``page`` or ``size`` is out of range (a ``ValueError``, as ZenML's are)."""


class NoRunsError(NotFoundError, RuntimeError):
    """A pipeline has no (successful) run yet: ``last_run`` / ``last_successful_run``
    (a ``RuntimeError``, as ZenML's; a ``NotFoundError`` too)."""


class InvalidRunConfiguration(ConfigurationError, CompileError):
    """A run configuration does not fit its snapshot (unknown step or parameter, a value of
    the wrong type, a required parameter without a value); nothing was started."""


class StepContextError(KubelineError, RuntimeError):
    """``get_step_context()`` outside a running step, or an output helper naming no single
    output (a ``RuntimeError``, as ZenML's)."""
