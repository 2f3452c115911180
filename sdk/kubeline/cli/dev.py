"""``kubeline dev``: a local single-node Kubernetes cluster for trying and testing Kubeline."""

from __future__ import annotations

import json
import sys

import click


def _cluster():
    from kubeline.dev.cluster import DevCluster

    return DevCluster(log=lambda msg: click.echo(msg, err=True))


def _fail(exc: Exception) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(1)


@click.group()
def dev() -> None:
    """Run a local Kubernetes cluster built from upstream sources (etcd, kube-apiserver,
    controller-manager, scheduler, containerd, kube-proxy, kubelet) plus an S3 server.

    State lives in ~/.cache/kubeline/dev (override with KUBELINE_DEV_HOME)."""


@dev.command()
@click.option("--image/--no-image", default=True, show_default=True,
              help="Also build and import the Kubeline image.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for Ready.")
def up(image: bool, timeout: float) -> None:
    """Start the cluster (idempotent; recovers after an unclean stop)."""
    cluster = _cluster()
    try:
        cluster.up(timeout=timeout)
        if image:
            from kubeline.dev.images import ensure_kubeline_image

            name = ensure_kubeline_image(cluster, log=lambda m: click.echo(m, err=True))
            click.echo(f"image {name} is in the cluster's containerd", err=True)
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        _fail(exc)
    click.echo(f"export KUBECONFIG={cluster.paths.kubeconfig}")


@dev.command()
def down() -> None:
    """Stop every process the cluster started and remove its mounts, containers and network."""
    try:
        stopped = _cluster().down()
    except RuntimeError as exc:
        _fail(exc)
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


_STATE_COLOURS = {"ready": "green", "running": "yellow", "crashed": "red", "stopped": "red"}


@dev.command()
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def status(output: str) -> None:
    """Show each component's health (ready, running but not ready, crashed with its last
    error line, stopped), the supervisor's restarts, the endpoints and the node.

    Exits 0 when every component is ready, 1 when one is not, 3 when nothing runs."""
    info = _cluster().status()
    comps = info["components"]
    if output == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        for c in comps:
            line = f"{c['name']:<24} {click.style(c['state'], fg=_STATE_COLOURS[c['state']])}"
            if c["pid"]:
                line += f"  pid {c['pid']}"
            if c["restarts"]:
                line += f"  restarted {c['restarts']}x"
            click.echo(line)
            if c["detail"]:
                click.echo(f"{'':<24} {c['detail']}")
            if c["state"] in ("crashed", "running") and c["detail"]:
                click.echo(f"{'':<24} log: {c['log']}")
        for event in info["restartEvents"]:
            if event.get("event") == "restarted":
                click.echo(f"supervisor: {event['time']} restarted {event['component']} "
                           f"(last error in its log: {event['lastError']})")
        for key in ("server", "s3", "kubeconfig", "node"):
            if key in info:
                click.echo(f"{key:<24} {info[key]}")
    if not any(c["pid"] for c in comps):
        sys.exit(3)
    if any(c["state"] != "ready" for c in comps) or info.get("node") not in (None, "Ready"):
        sys.exit(1)


@dev.command()
def env() -> None:
    """Print shell exports for the cluster (KUBECONFIG and the S3 settings)."""
    cluster = _cluster()
    click.echo(f"export KUBECONFIG={cluster.paths.kubeconfig}")
    click.echo(f'export PATH="{cluster.paths.home / "bin"}:$PATH"')
    s3 = cluster.paths.home / "s3.env"
    if s3.exists():
        for line in s3.read_text().splitlines():
            click.echo(f"export {line}")


@dev.command("namespace-s3")
@click.argument("namespace")
@click.option("--bucket", default="kubeline-{namespace}", show_default=True,
              help="Bucket setting; {namespace} is replaced by NAMESPACE (docs/security.md).")
def namespace_s3(namespace: str, bucket: str) -> None:
    """Give NAMESPACE its own S3 account and bucket in the cluster's S3 server, and put
    those credentials in its kubeline-s3 Secret (a new secret key each time). Steps there
    then reach that bucket only; install the chart with s3.bucket set to the same setting
    and s3.stepCredentials=perNamespace."""
    from kubeline.dev.s3_identities import S3AdminError

    try:
        settings = _cluster().namespace_s3(namespace, bucket)
    except (RuntimeError, ValueError, S3AdminError) as exc:
        _fail(exc)
    click.echo(f"namespace {namespace}: account {settings['accessKeyId']}, bucket "
               f"{settings['bucket']} (Secret kubeline-s3)")


@dev.command()
@click.argument("tools", nargs=-1)
def build(tools: tuple[str, ...]) -> None:
    """Build (or find cached) upstream tools: hyperkube, etcd, pause, helm, versitygw, kwok
    (and, only when named, the benchmark peer workflow-controller)."""
    from kubeline.dev.gobuild import build_all

    try:
        built = build_all(list(tools) or None, log=lambda m: click.echo(m, err=True))
        for name, path in built.items():
            click.echo(f"{name}\t{path}")
    except (RuntimeError, KeyError) as exc:
        _fail(exc)


@dev.command()
def image() -> None:
    """Build the Kubeline image and the embedded store's image (each cached by its inputs)
    and import them into the cluster."""
    from kubeline.dev.images import ensure_kubeline_image, ensure_store_image

    try:
        cluster = _cluster()
        click.echo(ensure_kubeline_image(cluster, log=lambda m: click.echo(m, err=True)))
        click.echo(ensure_store_image(cluster, log=lambda m: click.echo(m, err=True)))
    except RuntimeError as exc:
        _fail(exc)
