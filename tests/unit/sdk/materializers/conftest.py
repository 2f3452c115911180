"""Fixtures of the materializer tests."""

from __future__ import annotations

import pytest
from moto_s3 import moto_store


@pytest.fixture(scope="module")
def s3():  # type: ignore[no-untyped-def]
    """An ArtifactStore over a moto S3 server, one per test module."""
    with moto_store() as store:
        yield store
