"""A tampered artifact is refused before it is deserialized: by ``.load()`` in the Client
and by a step that takes it as an input (the step fails naming the hash mismatch)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PIPELINES = '''
from typing import Annotated

from kubeline import pipeline, step
from kubeline.client import Client


@step
def produce() -> Annotated[dict, "tamper_model"]:
    return {"weights": [1, 2, 3]}


@step
def consume(model: dict) -> int:
    return sum(model["weights"])


@pipeline(enable_cache=False)
def tamper_producer():
    produce()


@pipeline(enable_cache=False)
def tamper_consumer():
    consume(Client().get_artifact_version("tamper_model"))
'''


def test_a_tampered_artifact_fails_load_with_the_hash_error(
        step_namespace: str, operator: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELINE_NAMESPACE", step_namespace)
    (tmp_path / "tamper_pipes.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("tamper_pipes", None)
    import tamper_pipes
    from kubeline.artifact_store import default_store
    from kubeline.client import Client
    from kubeline.errors import ArtifactIntegrityError

    run = tamper_pipes.tamper_producer()
    assert run.status == "completed", (run.status, run.message)
    av = run.steps["produce"].output
    assert av.load() == {"weights": [1, 2, 3]}
    assert av.content_hash and len(av.content_hash) == 64

    # Overwrite the stored file (what a writer to the bucket could do) with other bytes.
    client = Client()
    store = default_store(client.kube)
    files = [p for p in store.find(av.uri) if "/visualizations/" not in p]
    assert files, av.uri
    target = files[0] if "://" in files[0] else f"s3://{files[0]}"
    store.write_bytes(target, b'{"weights": [6, 6, 6]}')

    fresh = client.get_artifact_version(av.id)
    with pytest.raises(ArtifactIntegrityError, match="does not match its recorded content hash"):
        fresh.load()

    # A step given the tampered version as input fails before deserializing it.
    from kubeline.errors import RunFailedError

    with pytest.raises(RunFailedError) as failed:
        tamper_pipes.tamper_consumer()
    consumer = failed.value.run
    assert consumer.steps["consume"].status == "failed"
    assert "ArtifactIntegrityError" in str(failed.value)
    assert "does not match its recorded content hash" in str(failed.value)
