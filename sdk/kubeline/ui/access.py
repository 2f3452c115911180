"""May the caller do this? A SelfSubjectAccessReview with the caller's own credentials, so a
button the API server would refuse is shown refused, with the reason, before it is pressed."""

from __future__ import annotations

from typing import Any

from kubeline.resources.names import GROUP


def can_i(kube: Any, verb: str, resource: str, group: str = GROUP,
          name: str | None = None) -> dict[str, Any]:
    """``{"allowed", "reason", "verb", "resource", "namespace"}`` for the caller in the
    Client's namespace (``kubectl auth can-i`` as the API server answers it)."""
    from kubernetes import client as k8s

    attrs = k8s.V1ResourceAttributes(namespace=kube.namespace, verb=verb, group=group,
                                     resource=resource, name=name)
    review = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs))
    api = k8s.AuthorizationV1Api(kube.api_client)
    result = kube._call("selfsubjectaccessreviews", api.create_self_subject_access_review,
                        review)
    status = result.status
    allowed = bool(status.allowed) and not status.denied
    reason = None
    if not allowed:
        user = kube.whoami() or "these credentials"
        reason = f"{user} may not {verb} {resource} in namespace {kube.namespace}"
        if status.reason:
            reason += f" ({status.reason})"
        if status.evaluation_error:
            reason += f"; {status.evaluation_error}"
    return {"allowed": allowed, "reason": reason, "verb": verb, "resource": resource,
            "namespace": kube.namespace}
