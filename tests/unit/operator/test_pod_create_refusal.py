"""The reason a step shows when the API server refuses its Pod."""

from kubeline_operator.effects import pod_create_refusal


def test_an_rbac_refusal_names_the_chart_value_to_change() -> None:
    message = ('pods is forbidden: User "system:serviceaccount:kubeline-system:kubeline-operator"'
               ' cannot create resource "pods" in API group "" in the namespace "team-x"')
    text = pod_create_refusal("team-x", "r-1-train-0", message)
    assert text.startswith(f"cannot create step pod r-1-train-0: {message}")
    assert "add team-x to stepNamespaces and upgrade the release" in text


def test_other_refusals_are_passed_on_as_they_are() -> None:
    message = ('admission webhook denied: ValidatingAdmissionPolicy \'kubeline-operator-pods\''
               ' denied request: Pods created by the Kubeline operator may not mount a hostPath')
    assert pod_create_refusal("ml", "p", message) == f"cannot create step pod p: {message}"
