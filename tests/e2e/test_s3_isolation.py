"""Issue 19: a step in namespace B, with its own S3 credentials, can neither read, list nor
overwrite namespace A's artifacts and code archives; A's own steps still work.

Each step namespace has its own versitygw account and bucket (``make_step_namespace``,
docs/security.md). A's pipeline saves an artifact; B's step then tries every access to
A's objects with the credentials of its Pod and reports the S3 error code of each.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PIPELINES = '''\
"""A's pipeline saves a private value; B's step probes A's objects."""

from kubeline import pipeline, step

SECRET_VALUE = "private to namespace A"


@step
def make_private() -> str:
    return SECRET_VALUE


@pipeline
def owner_pipeline():
    make_private()


@step
def probe(artifact_file: str, artifact_dir: str, code_uri: str) -> dict:
    """Try A's objects with this Pod's own S3 credentials: the S3 error code of each try."""
    import os

    import botocore.session
    from botocore.exceptions import ClientError

    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=os.environ["KUBELINE_S3_ENDPOINT"],
        region_name=os.environ.get("KUBELINE_S3_REGION") or "us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])

    def split(uri):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bucket, key

    def outcome(call):
        try:
            call()
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        return "allowed"

    a_bucket, a_file = split(artifact_file)
    _, a_dir = split(artifact_dir)
    _, a_code = split(code_uri)
    own = os.environ["KUBELINE_S3_BUCKET"]
    return {
        "read_artifact": outcome(lambda: s3.get_object(Bucket=a_bucket, Key=a_file)),
        "list_artifacts": outcome(lambda: s3.list_objects_v2(Bucket=a_bucket, Prefix=a_dir)),
        "put_artifact": outcome(lambda: s3.put_object(Bucket=a_bucket, Key=a_file,
                                                      Body=b"planted by B")),
        "read_code": outcome(lambda: s3.get_object(Bucket=a_bucket, Key=a_code)),
        "list_code": outcome(lambda: s3.list_objects_v2(Bucket=a_bucket, Prefix="code/")),
        "put_code": outcome(lambda: s3.put_object(Bucket=a_bucket, Key=a_code,
                                                  Body=b"planted by B")),
        "own_bucket": own,
        "put_own": outcome(lambda: s3.put_object(Bucket=own, Key="probe/own", Body=b"ok")),
    }


@pipeline
def attacker_pipeline(artifact_file: str, artifact_dir: str, code_uri: str):
    probe(artifact_file=artifact_file, artifact_dir=artifact_dir, code_uri=code_uri)
'''

DENIED = ("read_artifact", "list_artifacts", "put_artifact", "read_code", "list_code",
          "put_code")


@pytest.fixture
def pipelines(operator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[ModuleType]:
    (tmp_path / "isolation_pipes.py").write_text(PIPELINES)
    monkeypatch.setenv("KUBELINE_SOURCE_ROOT", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("isolation_pipes", None)
    import isolation_pipes

    yield isolation_pipes
    sys.modules.pop("isolation_pipes", None)


def test_a_step_cannot_read_list_or_overwrite_another_namespaces_objects(
        operator: Any, make_step_namespace: Callable[[], str], pipelines: ModuleType,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeline.artifact_store import default_store
    from kubeline.client import Client

    cluster = operator
    if cluster.s3_admin is None:
        pytest.fail("this test needs the dev cluster's S3 server (per-namespace accounts)")
    ns_a, ns_b = make_step_namespace(), make_step_namespace()

    monkeypatch.setenv("KUBELINE_NAMESPACE", ns_a)
    owned = pipelines.owner_pipeline()
    assert owned.status == "completed", (owned.status, owned.message)
    version = owned.steps["make_private"].output
    assert version.uri.startswith(f"s3://kubeline-{ns_a}/artifacts/{ns_a}/")
    store = default_store(Client().kube)  # the tests' admin view: the root account
    files = store.find(version.uri)
    assert files, f"no files under {version.uri}"
    artifact_file = f"s3://{files[0]}" if "://" not in files[0] else files[0]
    code_uri = cluster.kubectl(
        "get", "snapshots", "-n", ns_a, "-o", "jsonpath={.items[0].spec.code.uri}").stdout
    assert code_uri.startswith(f"s3://kubeline-{ns_a}/code/"), code_uri
    before = {uri: store.read_bytes(uri) for uri in (artifact_file, code_uri)}

    monkeypatch.setenv("KUBELINE_NAMESPACE", ns_b)
    attack = pipelines.attacker_pipeline(artifact_file=artifact_file,
                                         artifact_dir=version.uri, code_uri=code_uri)
    assert attack.status == "completed", (attack.status, attack.message)
    outcome = attack.steps["probe"].output.load()
    assert {key: outcome[key] for key in DENIED} == dict.fromkeys(DENIED, "AccessDenied")
    # B's own credentials do work, on B's own bucket only.
    assert outcome["own_bucket"] == f"kubeline-{ns_b}" and outcome["put_own"] == "allowed"

    # A's objects are untouched, and A's data still loads and is served to A's steps.
    assert {uri: store.read_bytes(uri) for uri in before} == before
    monkeypatch.setenv("KUBELINE_NAMESPACE", ns_a)
    assert Client().get_artifact_version(version.id).load() == pipelines.SECRET_VALUE
