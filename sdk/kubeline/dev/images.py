"""Container images without a registry: built with debootstrap + umoci, imported into containerd.

The Kubeline image has three layers, each cached by the hash of its inputs:

1. ``base``: Debian bookworm (debootstrap minbase) with Python 3.11;
2. ``deps``: a virtualenv at /opt/kubeline/venv with the project's dependencies at the
   versions ``constraints.txt`` pins (the layer is keyed by it too),
   installed offline inside the rootfs from a wheelhouse built on the host
   (pip inside the chroot cannot verify HTTPS here; no host CA is copied in);
3. ``app``: the project's wheel installed into /opt/kubeline/app, and the image's
   user ``kubeline`` (uid/gid 10001, HOME /tmp) added to /etc/passwd and /etc/group;
   the image runs as that user.

A code-only change rebuilds just the thin ``app`` layer, and the import sends
containerd only the blobs it lacks. ``Dockerfile`` at the repo root builds the
equivalent image with Docker.

The store image (the chart's embedded S3 server) is the same ``base`` layer plus one
layer with the versitygw binary built by ``kubeline dev build versitygw``; containerd
shares the base with the Kubeline image. ``images/store/Dockerfile`` builds its
equivalent for registries.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kubeline import __version__
from kubeline.dev.paths import cache_root
from kubeline.resources.names import IMAGE_UID

if TYPE_CHECKING:
    from kubeline.dev.cluster import DevCluster

PAUSE_IMAGE = "localhost/kubeline/pause:3.10"
KUBELINE_IMAGE = f"localhost/kubeline:{__version__}"
#: The chart's embedded S3 server (s3.embedded.image): versitygw on the ``base`` layer.
STORE_IMAGE = f"localhost/kubeline/store:{__version__}"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "tzdata")
IMAGE_EXTRAS = ("ml", "operator")
IMAGE_ENV = {
    "PATH": "/opt/kubeline/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONPATH": "/opt/kubeline/app",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "HOME": "/tmp",
    "USER": "kubeline",
    "MPLCONFIGDIR": "/tmp/matplotlib",
}

#: The image's user: step Pods and the operator run as this uid/gid (runAsNonRoot).
IMAGE_USER = ("kubeline", IMAGE_UID)

Log = Callable[[str], None]


def images_dir() -> Path:
    return cache_root() / "images"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout)[-3000:]
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed:\n{detail}")
    return result


def _unmount(path: Path) -> None:
    """Unmount ``path``, retrying while it is briefly busy, lazily as a last resort."""
    for _ in range(20):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        time.sleep(0.25)
    _run(["umount", "-l", str(path)])


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


class OciLayout:
    """An umoci-managed OCI image layout holding every cached stage as a tag."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> None:
        if not (self.path / "index.json").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _run(["umoci", "init", "--layout", str(self.path)])

    def tags(self) -> set[str]:
        if not (self.path / "index.json").exists():
            return set()
        return set(_run(["umoci", "ls", "--layout", str(self.path)]).stdout.split())

    def ref(self, tag: str) -> str:
        return f"{self.path}:{tag}"

    def index(self) -> dict:
        return json.loads((self.path / "index.json").read_text())

    def blob(self, digest: str) -> Path:
        algo, hexd = digest.split(":")
        return self.path / "blobs" / algo / hexd

    def manifest(self, tag: str) -> tuple[dict, dict]:
        for desc in self.index()["manifests"]:
            if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return desc, json.loads(self.blob(desc["digest"]).read_text())
        raise KeyError(tag)

    def export(self, tag: str, name: str, out: Path, skip: set[str]) -> None:
        """Write a tar of one image, named ``name``, leaving out blobs in ``skip``."""
        desc, manifest = self.manifest(tag)
        blobs = [desc["digest"], manifest["config"]["digest"]]
        blobs += [layer["digest"] for layer in manifest["layers"] if layer["digest"] not in skip]
        index = {"schemaVersion": 2, "manifests": [
            {**desc, "annotations": {"org.opencontainers.image.ref.name": name,
                                     "io.containerd.image.name": name}}]}
        with tarfile.open(out, "w") as tar:
            _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            _add_bytes(tar, "index.json", json.dumps(index).encode())
            for d in blobs:
                tar.add(self.blob(d), arcname=f"blobs/{d.replace(':', '/')}")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------- import


def containerd_digest(cluster: DevCluster, name: str) -> str | None:
    out = cluster.ctr("images", "ls", check=False, text=True).stdout.splitlines()
    for line in out[1:]:
        cols = line.split()
        if cols and cols[0] == name:
            return cols[2]
    return None


def import_image(cluster: DevCluster, layout: OciLayout, tag: str, name: str, log: Log) -> None:
    """Import ``tag`` as ``name`` unless containerd already has that exact manifest."""
    desc, _ = layout.manifest(tag)
    if containerd_digest(cluster, name) == desc["digest"]:
        return
    present = set(cluster.ctr("content", "ls", "-q", check=False, text=True).stdout.split())
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "image.tar"
        layout.export(tag, name, tar, skip=present)
        cluster.ctr("images", "import", "--all-platforms", "--no-unpack", str(tar))
    # Unpack explicitly: import names the image; the CRI needs the overlayfs snapshot.
    cluster.ctr("images", "unpack", "--snapshotter", "overlayfs", name, check=False)
    log(f"imported {name} ({time.monotonic() - start:.1f}s)")


# --------------------------------------------------------------------------- pause


def ensure_pause_image(cluster: DevCluster, log: Log = print) -> None:
    from kubeline.dev.gobuild import tool_path

    pause = tool_path("pause", log=log)
    layout = OciLayout(images_dir() / "pause-oci")
    tag = f"pause-{_digest(pause.read_bytes())}"
    if tag not in layout.tags():
        layout.ensure()
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "rootfs"
            root.mkdir()
            shutil.copy2(pause, root / "pause")
            _run(["umoci", "new", "--image", layout.ref(tag)])
            _run(["umoci", "insert", "--image", layout.ref(tag), str(root), "/"])
            _run(["umoci", "config", "--image", layout.ref(tag), "--config.entrypoint", "/pause",
                  "--config.user", "65535:65535"])
    import_image(cluster, layout, tag, PAUSE_IMAGE, log)


# --------------------------------------------------------------------------- kubeline


def _declared_requirements() -> list[str]:
    """Requirement lines of the checkout's pyproject.toml (the code the image is built
    from), else of the installed kubeline's metadata (which may be older than a checkout)."""
    root = project_root()
    if root is not None:
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
        lines = list(project.get("dependencies") or [])
        for extra, deps in (project.get("optional-dependencies") or {}).items():
            lines += [f'{d}; extra == "{extra}"' for d in deps]
        return lines
    return list(importlib.metadata.requires("kubeline") or [])


def requirements() -> list[str]:
    """The runtime requirements of the image's kubeline, with the image's extras."""
    from packaging.requirements import Requirement

    reqs = []
    for line in _declared_requirements():
        req = Requirement(line)
        if req.name == "kubeline":
            continue
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", *IMAGE_EXTRAS)):
            continue
        req.marker = None
        reqs.append(str(req))
    return sorted(reqs)


def constraints() -> str:
    """The checkout's ``constraints.txt`` (pins of every package, renewed by ``make lock``),
    or "" for an installed kubeline without a checkout (the image then resolves afresh)."""
    root = project_root()
    path = root / "constraints.txt" if root else None
    return path.read_text() if path and path.exists() else ""


def project_root() -> Path | None:
    """The source checkout (with pyproject.toml) this kubeline runs from, if any."""
    root = Path(__file__).resolve().parents[3]
    is_checkout = (root / "pyproject.toml").exists() and (root / "sdk" / "kubeline").exists()
    return root if is_checkout else None


def package_dir(name: str) -> Path | None:
    """Where the installed package ``name`` lives, found without importing it (the image
    carries the operator's files; the SDK never imports the operator)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _source_digest() -> str:
    h = hashlib.sha256()
    roots = [p for p in (package_dir("kubeline"), package_dir("kubeline_operator")) if p]
    root = project_root()
    if root:
        h.update((root / "pyproject.toml").read_bytes())
    for base in roots:
        for f in sorted(base.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                h.update(str(f.relative_to(base.parent)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


class KubelineImageBuilder:
    """Builds ``localhost/kubeline:<version>`` in the OCI layout, stage by stage."""

    def __init__(self, log: Log = print) -> None:
        self.log = log
        self.layout = OciLayout(images_dir() / "oci")
        self.base_key = _digest(DEBIAN_SUITE, DEBIAN_MIRROR, *BASE_PACKAGES)
        self.deps_key = _digest(self.base_key, *requirements(), constraints())
        self.app_key = _digest(self.deps_key, _source_digest())

    @property
    def tag(self) -> str:
        return f"kubeline-{self.app_key}"

    def build(self) -> str:
        """Build what is missing; returns the final tag in the layout."""
        self.layout.ensure()
        tags = self.layout.tags()
        if self.tag in tags:
            return self.tag
        rootfs = images_dir() / f"rootfs-{self.base_key}"
        if f"base-{self.base_key}" not in tags or not rootfs.exists():
            self._build_base(rootfs)
        if f"deps-{self.deps_key}" not in tags:
            self._build_deps(rootfs)
        self._build_app()
        return self.tag

    def _build_base(self, rootfs: Path) -> None:
        if shutil.which("debootstrap") is None or shutil.which("umoci") is None:
            raise RuntimeError("building images needs debootstrap and umoci: "
                               "apt-get install -y debootstrap umoci")
        self.log(f"building the base layer: debootstrap {DEBIAN_SUITE} + python3 (~1 min) ...")
        start = time.monotonic()
        tmp = rootfs.with_name(rootfs.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
              DEBIAN_SUITE, str(tmp), DEBIAN_MIRROR])
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (tmp / junk).glob("*"):
                if f.is_file():
                    f.unlink()
        (tmp / "etc/resolv.conf").write_text("")  # never ship the host's resolver
        shutil.rmtree(rootfs, ignore_errors=True)
        tmp.rename(rootfs)
        tag = f"base-{self.base_key}"
        _run(["umoci", "new", "--image", self.layout.ref(tag)])
        _run(["umoci", "insert", "--image", self.layout.ref(tag), str(rootfs), "/"])
        self.log(f"base layer built in {time.monotonic() - start:.0f}s")

    def _build_deps(self, rootfs: Path) -> None:
        reqs = requirements()
        self.log(f"building the dependency layer ({len(reqs)} requirements) ...")
        start = time.monotonic()
        wheels = images_dir() / f"wheels-{self.deps_key}"
        pins = constraints()
        pinned = ["-c", "/wheels/constraints.txt"] if pins else []
        if not wheels.exists():
            tmp = wheels.with_name(wheels.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            (tmp / "constraints.txt").write_text(pins)
            env = {**os.environ, "PIP_CONSTRAINT": str(tmp / "constraints.txt")} if pins else None
            _run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(tmp), *reqs], env=env)
            tmp.rename(wheels)
        venv = rootfs / "opt/kubeline/venv"
        shutil.rmtree(venv, ignore_errors=True)
        mnt = rootfs / "wheels"
        mnt.mkdir(exist_ok=True)
        _run(["mount", "--bind", "-o", "ro", str(wheels), str(mnt)])
        try:
            _run(["chroot", str(rootfs), "python3", "-m", "venv", "/opt/kubeline/venv"])
            _run(["chroot", str(rootfs), "/opt/kubeline/venv/bin/pip", "install", "-q",
                  "--no-index", "--find-links", "/wheels", *pinned, *reqs])
            _run(["chroot", str(rootfs), "/opt/kubeline/venv/bin/python", "-m", "compileall",
                  "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", "/opt/kubeline/venv"])
        finally:
            _unmount(mnt)
            mnt.rmdir()
        tag = f"deps-{self.deps_key}"
        _run(["umoci", "tag", "--image", self.layout.ref(f"base-{self.base_key}"), tag])
        _run(["umoci", "insert", "--image", self.layout.ref(tag), str(venv), "/opt/kubeline/venv"])
        self.log(f"dependency layer built in {time.monotonic() - start:.0f}s")

    def _build_app(self) -> None:
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            app = Path(tmp) / "app"
            wheel_dir = Path(tmp) / "wheel"
            root = project_root()
            if root:
                _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                      "--no-build-isolation", "-w", str(wheel_dir), str(root)])
                wheel = next(wheel_dir.glob("kubeline-*.whl"))
                _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
                      "--target", str(app), str(wheel)])
            else:  # an installed kubeline: copy its packages
                for name in ("kubeline", "kubeline_operator"):
                    src = package_dir(name)
                    if src is None:
                        raise RuntimeError(f"package {name} is not installed: cannot build the "
                                           "image from it")
                    shutil.copytree(src, app / src.name,
                                    ignore=shutil.ignore_patterns("__pycache__"))
            shutil.rmtree(app / "bin", ignore_errors=True)
            _run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode",
                  "unchecked-hash", str(app)])
            etc = Path(tmp) / "etc"
            write_user_files(images_dir() / f"rootfs-{self.base_key}" / "etc", etc)
            tag = self.tag
            _run(["umoci", "tag", "--image", self.layout.ref(f"deps-{self.deps_key}"), tag])
            _run(["umoci", "insert", "--image", self.layout.ref(tag), str(app),
                  "/opt/kubeline/app"])
            _run(["umoci", "insert", "--image", self.layout.ref(tag), str(etc), "/etc"])
        uid = IMAGE_USER[1]
        cfg = ["umoci", "config", "--image", self.layout.ref(tag), "--config.workingdir", "/tmp",
               "--config.user", f"{uid}:{uid}",
               "--config.cmd", "python", "--config.cmd", "-m", "--config.cmd", "kubeline_operator",
               "--config.label", f"org.opencontainers.image.version={__version__}"]
        for k, v in IMAGE_ENV.items():
            cfg += ["--config.env", f"{k}={v}"]
        _run(cfg)
        self.log(f"app layer built in {time.monotonic() - start:.1f}s")


def write_user_files(base_etc: Path, out: Path) -> None:
    """The base layer's /etc/passwd and /etc/group with the image user added, into ``out``."""
    name, uid = IMAGE_USER
    out.mkdir(parents=True, exist_ok=True)
    for fname, line in (("passwd", f"{name}:x:{uid}:{uid}:Kubeline:/tmp:/usr/sbin/nologin"),
                        ("group", f"{name}:x:{uid}:")):
        lines = [ln for ln in (base_etc / fname).read_text().splitlines()
                 if ln and not ln.startswith(f"{name}:")]
        (out / fname).write_text("\n".join([*lines, line]) + "\n")
        (out / fname).chmod(0o644)


def ensure_kubeline_image(cluster: DevCluster, log: Log = print) -> str:
    """Build (if inputs changed) and import the Kubeline image; returns its name."""
    builder = KubelineImageBuilder(log=log)
    tag = builder.build()
    import_image(cluster, builder.layout, tag, KUBELINE_IMAGE, log)
    gc_layout(builder.layout, keep={tag, f"deps-{builder.deps_key}", f"base-{builder.base_key}"})
    return KUBELINE_IMAGE


def build_store_image(log: Log = print) -> tuple[OciLayout, str]:
    """Build (if its inputs changed) the store image in the layout; returns (layout, tag)."""
    from kubeline.dev.gobuild import tool_path

    builder = KubelineImageBuilder(log=log)
    binary = tool_path("versitygw", log=log)
    tag = f"store-{_digest(builder.base_key, binary.read_bytes())}"
    layout = builder.layout
    layout.ensure()
    if tag in layout.tags():
        return layout, tag
    rootfs = images_dir() / f"rootfs-{builder.base_key}"
    if f"base-{builder.base_key}" not in layout.tags() or not rootfs.exists():
        builder._build_base(rootfs)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        layer = Path(tmp) / "bin"
        layer.mkdir()
        shutil.copy2(binary, layer / "versitygw")
        (layer / "versitygw").chmod(0o755)
        _run(["umoci", "tag", "--image", layout.ref(f"base-{builder.base_key}"), tag])
        _run(["umoci", "insert", "--image", layout.ref(tag), str(layer), "/usr/local/bin"])
    _run(["umoci", "config", "--image", layout.ref(tag), "--config.workingdir", "/tmp",
          "--config.user", "10001:10001", "--config.env", f"PATH={IMAGE_ENV['PATH']}",
          "--config.env", "HOME=/tmp", "--config.cmd", "versitygw",
          "--config.label", f"org.opencontainers.image.version={__version__}"])
    log(f"store image built in {time.monotonic() - start:.1f}s")
    return layout, tag


def ensure_store_image(cluster: DevCluster, log: Log = print) -> str:
    """Build (if inputs changed) and import the embedded store's image; returns its name."""
    layout, tag = build_store_image(log)
    import_image(cluster, layout, tag, STORE_IMAGE, log)
    stale = [t for t in layout.tags() if t.startswith("store-") and t != tag]
    for t in stale:
        _run(["umoci", "rm", "--image", layout.ref(t)])
    if stale:
        _run(["umoci", "gc", "--layout", str(layout.path)])
    return STORE_IMAGE


def gc_layout(layout: OciLayout, keep: set[str]) -> None:
    """Drop old kubeline-* app tags and unreferenced blobs from the layout."""
    stale = [t for t in layout.tags() if t.startswith("kubeline-") and t not in keep]
    for t in stale:
        _run(["umoci", "rm", "--image", layout.ref(t)])
    if stale:
        _run(["umoci", "gc", "--layout", str(layout.path)])
