"""``kubeline ui``: serve the web UI (runs as live lineage DAGs) and open it in the browser."""

from __future__ import annotations

import click


@click.command("ui")
@click.option("--port", type=int, default=8050, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep loopback unless you mean to share it).")
@click.option("--no-browser", is_flag=True, help="Do not open the browser.")
@click.option("--auth-mode", type=click.Choice(["local", "client", "server"]), default="local",
              show_default=True,
              help="local: the kubeconfig's credentials; client: each request's bearer token; "
                   "server: the Pod's ServiceAccount, read-only.")
@click.option("--log-level", default="warning", show_default=True, help="Server log level.")
@click.pass_context
def ui(ctx: click.Context, port: int, host: str, no_browser: bool, auth_mode: str,
       log_level: str) -> None:
    """Serve the Kubeline UI (default http://127.0.0.1:8050) and open it in the browser."""
    from kubeline.ui.server import serve

    obj = ctx.obj or {}
    click.echo(f"Kubeline UI at http://{host}:{port} ({auth_mode} credentials); Ctrl+C stops it.")
    serve(host=host, port=port, mode=auth_mode, namespace=obj.get("namespace"),
          context=obj.get("context"), open_path=None if no_browser else "/",
          log_level=log_level)
