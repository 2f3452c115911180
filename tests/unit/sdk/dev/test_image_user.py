"""The Kubeline image's user: uid/gid 10001 in /etc/passwd and /etc/group, as the Pods run."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubeline.dev.images import IMAGE_USER, write_user_files
from kubeline.resources.names import IMAGE_UID

pytestmark = pytest.mark.unit


def test_user_files_add_kubeline_to_the_base_layers(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nkubeline:x:1:1::/:/bin/sh\n")
    (base / "group").write_text("root:x:0:\n")
    out = tmp_path / "etc"
    write_user_files(base, out)
    passwd = (out / "passwd").read_text().splitlines()
    assert passwd[0].startswith("root:x:0:0:")
    assert [ln for ln in passwd if ln.startswith("kubeline:")] == [
        "kubeline:x:10001:10001:Kubeline:/tmp:/usr/sbin/nologin"]
    assert (out / "group").read_text().splitlines() == ["root:x:0:", "kubeline:x:10001:"]
    # The step Pods' fixed uid is the image's user (pod_spec uses IMAGE_UID).
    assert IMAGE_USER == ("kubeline", IMAGE_UID)
    dockerfile = (Path(__file__).resolve().parents[4] / "Dockerfile").read_text()
    assert f"useradd --uid {IMAGE_UID} --gid {IMAGE_UID}" in dockerfile
    assert f"USER {IMAGE_UID}:{IMAGE_UID}" in dockerfile
