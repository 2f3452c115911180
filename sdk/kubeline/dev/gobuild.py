"""Build the local cluster's upstream tools from Go modules, cached by their inputs.

Each tool is built once per input key (module files, version, flags, Go
version) into ``~/.cache/kubeline/bin/<tool>-<key>``; ``bin/<tool>`` points at
the newest build. A warm start compiles nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kubeline.dev.paths import cache_root

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
HELM_VERSION = "v3.21.4"
VERSITYGW_VERSION = "v1.7.0"
KWOK_VERSION = "v0.8.0"
# Argo Workflows' controller: the peer of bench/peers/argo.py, built for benchmarks only.
ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"
ARGO_VERSION = "v4.0.5"

SOURCES = Path(__file__).parent / "gobuild"


def _k8s_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


@dataclass(frozen=True)
class Tool:
    """A Go program: either a module of ours (``module``) or ``go install pkg@version``."""

    name: str
    module: str | None = None
    package: str | None = None
    ldflags: str = "-s -w"
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    bench_only: bool = False  # built only when named: never part of the cluster or the image

    def inputs(self) -> bytes:
        parts = [self.name, self.package or "", self.ldflags, repr(sorted(self.env.items()))]
        if self.module:
            src = SOURCES / self.module
            for f in sorted(src.iterdir()):
                if f.suffix in (".go", ".mod", ".sum"):
                    parts += [f.name, f.read_text()]
        return "\0".join(parts).encode()


TOOLS: dict[str, Tool] = {
    "hyperkube": Tool(
        "hyperkube", module="hyperkube", ldflags=_k8s_ldflags(),
        note=f"Kubernetes {KUBERNETES_VERSION} (cold build: 15-30 min on 2 cores)",
    ),
    "etcd": Tool("etcd", module="etcd", note=f"etcd {ETCD_VERSION}"),
    "pause": Tool("pause", module="pause", env={"CGO_ENABLED": "0"}, note="pod sandbox"),
    "cristatus": Tool("cristatus", module="cristatus", env={"CGO_ENABLED": "0"},
                      note="CRI runtime Status client (crictl is not packaged for bookworm)"),
    "helm": Tool(
        "helm", package=f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}",
        ldflags=f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
        note=f"helm {HELM_VERSION}",
    ),
    "versitygw": Tool(
        "versitygw", package=f"github.com/versity/versitygw/cmd/versitygw@{VERSITYGW_VERSION}",
        note=f"versitygw {VERSITYGW_VERSION} (S3 server)",
    ),
    "kwok": Tool("kwok", package=f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
                 note=f"kwok {KWOK_VERSION}"),
    "workflow-controller": Tool(
        "workflow-controller", package=f"{ARGO_MODULE}/cmd/workflow-controller@{ARGO_VERSION}",
        note=f"Argo Workflows {ARGO_VERSION} controller, benchmark peer only (~4 min)",
        bench_only=True,
    ),
}


def go_env() -> dict[str, str]:
    root = cache_root() / "go"
    return {
        **os.environ,
        "GOMODCACHE": str(root / "mod"),
        "GOCACHE": str(root / "build"),
        "GOPATH": str(root / "path"),
        "GOFLAGS": "-mod=mod",
    }


def go_version() -> str:
    go = shutil.which("go")
    if not go:
        raise RuntimeError(
            "Go is not installed: the local cluster builds Kubernetes from its Go modules. "
            "Install Go >= 1.24 (e.g. `apt-get install golang-1.24` or from your distribution) "
            "and make sure `go` is on PATH."
        )
    return subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout


def bin_dir() -> Path:
    return cache_root() / "bin"


def tool_key(tool: Tool) -> str:
    return hashlib.sha256(tool.inputs() + go_version().encode()).hexdigest()[:12]


def tool_path(name: str, build: bool = True, log=print) -> Path:
    """Path of a built tool; builds it first when its cached build is missing."""
    tool = TOOLS[name]
    target = bin_dir() / f"{name}-{tool_key(tool)}"
    if not target.exists():
        if not build:
            raise FileNotFoundError(f"{name} is not built yet (run `kubeline dev build`)")
        _build(tool, target, log)
    link = bin_dir() / name
    if not link.is_symlink() or os.readlink(link) != target.name:
        tmp = bin_dir() / f".{name}.link"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target.name)
        tmp.replace(link)
    return target


def build_all(names: list[str] | None = None, log=print) -> dict[str, Path]:
    """Build the named tools, or every tool the cluster uses (bench-only tools only by name)."""
    default = [n for n, t in TOOLS.items() if not t.bench_only]
    return {n: tool_path(n, log=log) for n in (names or default)}


def module_dir(module: str, version: str) -> Path:
    """A downloaded module's source folder in the tools' module cache (``go mod download``
    first, so it is there after a build too); read-only, never copied into the repo."""
    result = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"],
                            env={**go_env(), "GOFLAGS": ""}, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"go mod download {module}@{version} failed:\n{result.stderr[-2000:]}")
    return Path(json.loads(result.stdout)["Dir"])


def _build(tool: Tool, target: Path, log) -> None:
    bin_dir().mkdir(parents=True, exist_ok=True)
    tmp_out = target.with_name(f".{target.name}.tmp")
    env = {**go_env(), **tool.env}
    if tool.module:
        cmd = ["go", "build", "-trimpath", "-ldflags", tool.ldflags, "-o", str(tmp_out), "."]
        cwd: Path | None = SOURCES / tool.module
    else:
        gobin = target.with_name(f".{target.name}.gobin")
        shutil.rmtree(gobin, ignore_errors=True)
        env["GOBIN"] = str(gobin)
        env["GOFLAGS"] = ""
        cmd = ["go", "install", "-trimpath", "-ldflags", tool.ldflags, str(tool.package)]
        cwd = None
    log(f"building {tool.name}: {tool.note} ...")
    start = time.monotonic()
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(60):
            log(f"  still building {tool.name} ({time.monotonic() - start:.0f}s)")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    finally:
        stop.set()
    if result.returncode != 0:
        raise RuntimeError(f"building {tool.name} failed:\n{result.stderr[-4000:]}")
    if not tool.module:
        assert tool.package, tool.name
        built = gobin / tool.package.split("@")[0].rsplit("/", 1)[-1]
        shutil.move(str(built), tmp_out)
        shutil.rmtree(gobin, ignore_errors=True)
    tmp_out.replace(target)
    log(f"built {tool.name} in {time.monotonic() - start:.0f}s -> {target}")


def main(argv: list[str] | None = None) -> int:
    """``python -m kubeline.dev.gobuild [tool ...]``: build (or find) the tools."""
    names = (argv if argv is not None else sys.argv[1:]) or list(TOOLS)
    for name, path in build_all(names).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
