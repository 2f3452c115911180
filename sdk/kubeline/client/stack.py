"""``Client().active_stack``: what ZenML calls the stack, as Kubeline has it.

Kubeline has one fixed "stack": the Kubernetes orchestrator (the operator) and the S3
artifact store. ``artifact_store.path`` is the bucket root; stack components Kubeline does
not have (alerter, experiment tracker, ...) raise an error saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeline.errors import ConfigurationError


@dataclass(frozen=True)
class StackComponentInfo:
    """One component: its ``name``, ``flavor`` and (artifact store) ``path``."""

    name: str
    flavor: str
    path: str | None = None


class ActiveStack:
    """The components every Kubeline run uses."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def name(self) -> str:
        return "kubeline"

    @property
    def orchestrator(self) -> StackComponentInfo:
        return StackComponentInfo(name="kubeline-operator", flavor="kubernetes")

    @property
    def artifact_store(self) -> StackComponentInfo:
        """The S3 store: ``path`` is ``s3://<bucket>`` (from the namespace's S3 settings)."""
        from kubeline.artifact_store import default_store

        store = default_store(self._client.kube)
        return StackComponentInfo(name="kubeline-s3", flavor="s3", path=store.root)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_") or item in ("name", "orchestrator", "artifact_store"):
            raise AttributeError(item)  # a failure inside those properties, not a component
        raise ConfigurationError(
            f"the stack has no {item}: Kubeline's stack is fixed (the Kubernetes orchestrator "
            "and the S3 artifact store); stack components such as alerters or experiment "
            "trackers do not exist (docs/authoring.md, Differences from ZenML)")


@dataclass(frozen=True)
class UserInfo:
    """The authenticated identity: ``name`` (user or ServiceAccount), ``id`` (uid), ``groups``."""

    name: str
    id: str
    groups: tuple[str, ...] = ()


def active_user(kube: Any) -> UserInfo:
    """Ask the API server who we are (authentication.k8s.io/v1 SelfSubjectReview)."""
    from kubernetes import client

    api = client.AuthenticationV1Api(kube.api_client)
    kube.requests += 1
    review = api.create_self_subject_review(
        client.V1SelfSubjectReview(metadata=client.V1ObjectMeta()))
    info = review.status.user_info if review.status else None
    if info is None:
        return UserInfo(name="", id="")
    return UserInfo(name=info.username or "", id=info.uid or "", groups=tuple(info.groups or ()))
