"""A moto S3 server on 127.0.0.1 for unit tests (what s3fs's own tests use)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

BUCKET = "kubeline-unit"


@contextmanager
def moto_store() -> Iterator[object]:
    """Start ThreadedMotoServer, create a bucket, yield an ArtifactStore over it."""
    import boto3
    from kubeline.artifact_store import ArtifactStore, S3Settings
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="unit", aws_secret_access_key="unit",
                     ).create_bucket(Bucket=BUCKET)
        settings = S3Settings(bucket=BUCKET, endpoint=endpoint, access_key="unit",
                              secret_key="unit")
        yield ArtifactStore.from_settings(settings)
    finally:
        server.stop()
