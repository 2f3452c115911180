"""The operator's start-up check of its S3 settings (from the chart's S3 Secret).

The chart passes every key of the Secret as an optional variable, so a Secret
missing a key does not stop the Pod from starting: this check names the key in
the log and keeps the readiness probe failing, before any run needs S3.
"""

from __future__ import annotations

import logging
import os

from kubeline.resources import names as N

log = logging.getLogger("kubeline.operator")

#: "true": no keys expected (S3 access from the ServiceAccount's cloud identity);
#: "false": both keys required; unset (an operator started by hand): keys only in pairs.
WORKLOAD_IDENTITY_ENV = N.ENV_S3_WORKLOAD_IDENTITY

_KEYS = (("accessKeyId", N.ENV_AWS_ACCESS_KEY_ID),
         ("secretAccessKey", N.ENV_AWS_SECRET_ACCESS_KEY))


def s3_problems(environ: dict[str, str] | None = None) -> list[str]:
    """What is wrong with the S3 settings in ``environ`` (empty when nothing is)."""
    env = dict(os.environ if environ is None else environ)
    secret = env.get(N.ENV_S3_SECRET) or N.S3_SECRET
    where = f"the S3 Secret {secret} in the operator's namespace"
    problems = []
    if not env.get(N.ENV_S3_BUCKET):
        problems.append(f"{where} has no key 'bucket' (the bucket for code archives and "
                        "artifacts)")
    endpoint = env.get(N.ENV_S3_ENDPOINT) or ""
    if endpoint and not endpoint.startswith(("http://", "https://")):
        problems.append(f"{where}: 'endpoint' {endpoint!r} is not an http(s):// URL")
    identity = env.get(WORKLOAD_IDENTITY_ENV, "").strip().lower()
    missing = [key for key, var in _KEYS if not env.get(var)]
    if (identity == "false" and missing) or len(missing) == 1:
        problems.append(
            f"{where} has no key {' and no key '.join(repr(k) for k in missing)} (set both "
            "accessKeyId and secretAccessKey, or install with s3.workloadIdentity=true when "
            "the ServiceAccounts get S3 access from a cloud identity)")
    return problems


class S3Readiness:
    """The check run once at start (its result cannot change: the variables are fixed for
    the process), logged as an error, then reported by every readiness probe."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.problems = s3_problems(environ)
        for problem in self.problems:
            log.error("not ready: %s. Fix the Secret, then restart the operator "
                      "(kubectl rollout restart deployment/<release>-operator)", problem)

    def __call__(self) -> list[str]:
        return list(self.problems)
