"""constraints.txt pins every dependency pyproject.toml declares, within its range, and every
install path uses it (make setup, the image built by `kubeline dev image`, the Dockerfile)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: not an exact pin: {line!r}"
            out[canonicalize_name(name)] = version
    return out


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for deps in project["optional-dependencies"].values():
        declared += deps
    pinned = pins()
    wrong = []
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name == "kubeline":
            continue
        if name not in pinned:
            wrong.append(f"{req.name} is not pinned")
        elif not req.specifier.contains(pinned[name], prereleases=True):
            wrong.append(f"{req.name}=={pinned[name]} is outside {req.specifier}")
    assert not wrong, "constraints.txt is stale (run `make lock`): " + "; ".join(wrong)
    assert "kubeline" not in pinned  # the project itself is never pinned
    for tool in ("pip", "setuptools", "wheel"):  # the installers are pinned as well
        assert tool in pinned, tool


def test_every_install_path_uses_the_pins() -> None:
    assert 'PIP_CONSTRAINT="$PWD/constraints.txt"' in (
        ROOT / "scripts" / "install-prereqs.sh").read_text()
    assert "constraints.txt" in (ROOT / "scripts" / "install-prereqs.sh").read_text().split(
        "key=", 1)[1].splitlines()[0]  # the cached venv is keyed by the pins
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ENV PIP_CONSTRAINT=/src/constraints.txt" in dockerfile
    assert dockerfile.index("constraints.txt /src/") < dockerfile.index("pip install")
    from kubeline.dev import images

    assert images.constraints() == (ROOT / "constraints.txt").read_text()
    assert "lock:" in (ROOT / "Makefile").read_text()


def test_the_image_dependency_layer_is_keyed_by_the_pins(monkeypatch) -> None:
    from kubeline.dev import images

    first = images.KubelineImageBuilder(log=lambda _m: None).deps_key
    monkeypatch.setattr(images, "constraints", lambda: "numpy==0.0.1\n")
    assert images.KubelineImageBuilder(log=lambda _m: None).deps_key != first
