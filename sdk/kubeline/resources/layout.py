"""The S3 layout: every URI Kubeline reads or writes is built by one function here.

```
<root>/code/<sha256>.tar.gz                                              code archive
<root>/artifacts/<namespace>/<pipeline>/<run>/<step>/<attempt>/          one attempt
<root>/artifacts/<namespace>/<pipeline>/<run>/<step>/<attempt>/<output>/ one output's files
<root>/artifacts/.../<attempt>/<output>/visualizations/<name>            its visualizations
<root>/artifacts/.../<attempt>/manifest.json                             written last
<root>/artifacts/.../<attempt>/step.log                                  the attempt's log
<root>/artifacts/.../<attempt>/manual/<n>/                               save_artifact() in a step
<root>/artifacts/<namespace>/manual/<name>/<unique>/                     save_artifact() outside
```
``<root>`` is ``s3://<bucket>`` (or a local folder in tests); ``<pipeline>`` is the
Pipeline object name, ``<step>`` the step's DNS name. A bucket setting may contain
``{namespace}`` (``NAMESPACE_PLACEHOLDER``): then each namespace has a bucket of its own
(``namespace_bucket``), which only that namespace's S3 identity can use (docs/security.md).
"""

from __future__ import annotations

from typing import Final

CODE_PREFIX: Final = "code"
ARTIFACTS_PREFIX: Final = "artifacts"
MANIFEST: Final = "manifest.json"
STEP_LOG: Final = "step.log"
VISUALIZATIONS_DIR: Final = "visualizations"
#: In a bucket setting: replaced by the namespace whose data the bucket holds.
NAMESPACE_PLACEHOLDER: Final = "{namespace}"


def namespace_bucket(bucket: str, namespace: str) -> str:
    """The bucket of ``namespace``'s code archives and artifacts: ``bucket`` with
    ``{namespace}`` replaced (a bucket without it is shared by every namespace).

    Raises ``ValueError`` when the result is not a valid S3 bucket name (3-63 characters).
    """
    if NAMESPACE_PLACEHOLDER not in bucket:
        return bucket
    if not namespace:
        raise ValueError(f"bucket setting {bucket!r} needs a namespace")
    name = bucket.replace(NAMESPACE_PLACEHOLDER, namespace)
    if not 3 <= len(name) <= 63:
        raise ValueError(f"bucket {name!r} for namespace {namespace!r} is not 3-63 characters "
                         f"long: shorten the bucket setting {bucket!r} or the namespace name")
    return name


def bucket_root(bucket: str) -> str:
    """``s3://<bucket>``: the root of every URI in a bucket."""
    return f"s3://{bucket}"


def join(root: str, *parts: str) -> str:
    """``parts`` under ``root``, one ``/`` between each (empty parts dropped)."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts if p)])


def code_uri(root: str, sha256: str) -> str:
    """The content-addressed code archive with digest ``sha256``."""
    return join(root, CODE_PREFIX, f"{sha256}.tar.gz")


def run_prefix(root: str, namespace: str, pipeline: str, run: str) -> str:
    """Everything the steps of one run write lives under this prefix (``attempt_uri``)."""
    return join(root, ARTIFACTS_PREFIX, namespace, pipeline, run)


def is_under(uri: str, prefix: str) -> bool:
    """``uri`` names something strictly below ``prefix``: same scheme and bucket, no
    ``.``/``..`` or empty segments (which a store might resolve elsewhere)."""
    base = prefix.rstrip("/") + "/"
    if not uri.startswith(base) or len(uri) == len(base):
        return False
    rest = uri[len(base):].rstrip("/")
    return all(part not in ("", ".", "..") for part in rest.split("/"))


def attempt_uri(root: str, namespace: str, pipeline: str, run: str, step: str,
                attempt: int) -> str:
    """Where one attempt of a step saves its outputs and manifest (the invocation's
    ``outputsUri``): only that attempt writes under it."""
    return join(root, ARTIFACTS_PREFIX, namespace, pipeline, run, step, str(attempt))


def output_uri(attempt: str, output: str) -> str:
    """The folder of one output of an attempt (the materializer's files)."""
    return join(attempt, output)


def manifest_uri(attempt: str) -> str:
    """The attempt's outputs manifest; without it the attempt saved nothing."""
    return join(attempt, MANIFEST)


def visualization_uri(output: str, name: str) -> str:
    """A visualization file stored beside an output's data."""
    return join(output, VISUALIZATIONS_DIR, name)


def step_log_uri(attempt: str) -> str:
    """The attempt's own log (stdout and stderr), saved by the runtime when it ends."""
    return join(attempt, STEP_LOG)


def manual_artifact_uri(attempt: str, index: int) -> str:
    """The ``index``-th artifact a step saved with ``save_artifact`` (0-based)."""
    return join(attempt, "manual", str(index))


def manual_uri(root: str, namespace: str, name: str, unique: str) -> str:
    """An artifact saved with ``save_artifact`` outside a step (``name``: a DNS name)."""
    return join(root, ARTIFACTS_PREFIX, namespace, "manual", name, unique)


def namespace_of(root: str, uri: str) -> str | None:
    """The namespace whose artifacts ``uri`` lies among (``<root>/artifacts/<namespace>/...``),
    or None for a URI elsewhere."""
    base = join(root, ARTIFACTS_PREFIX) + "/"
    if not uri.startswith(base):
        return None
    namespace = uri[len(base):].split("/", 1)[0]
    return namespace or None
