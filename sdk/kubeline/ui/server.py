"""Serving the UI: in the foreground (``kubeline ui``, the chart's Deployment) or in a
background thread of the user's process (``PipelineRunLineageVisualizer().visualize``)."""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
import webbrowser
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kubeline.errors import ConfigurationError
from kubeline.resources.names import ENV_UI_PORT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def build_app(mode: str = "local", namespace: str | None = None,
              context: str | None = None) -> Any:
    """The ASGI app for ``mode`` (local, client or server)."""
    from kubeline.ui.app import make_app
    from kubeline.ui.auth import Connector

    return make_app(Connector.create(mode, namespace, context))


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, mode: str = "local",
          namespace: str | None = None, context: str | None = None,
          open_path: str | None = None, log_level: str = "warning") -> None:
    """Serve until interrupted; with ``open_path`` open it in the browser once listening."""
    import uvicorn

    app = build_app(mode, namespace, context)
    # Event streams never end by themselves: shutting down waits for them only briefly.
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    if open_path is not None:
        def opener() -> None:
            for _ in range(100):
                if server.started:
                    webbrowser.open(f"http://{_url_host(host)}:{port}{open_path}")
                    return
                time.sleep(0.05)

        threading.Thread(target=opener, daemon=True).start()
    server.run()


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


@dataclass
class Background:
    """A UI server running in a daemon thread of this process."""

    server: Any
    thread: threading.Thread
    url: str


_background: Background | None = None
_lock = threading.Lock()


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def background(host: str = DEFAULT_HOST, port: int | None = None,
               namespace: str | None = None) -> Background:
    """Start (once per process) a UI server in a thread, on ``port`` or the first free one
    from 8050; later calls reuse it."""
    global _background
    with _lock:
        if _background is not None and _background.thread.is_alive():
            return _background
        import uvicorn

        wanted = port or int(os.environ.get(ENV_UI_PORT) or DEFAULT_PORT)
        chosen = next((p for p in range(wanted, wanted + 20) if port_free(host, p)), None)
        if chosen is None:
            raise ConfigurationError(f"no free port for the UI in {wanted}-{wanted + 19}")
        app = build_app("local", namespace)
        config = uvicorn.Config(app, host=host, port=chosen, log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        # uvicorn installs signal handlers only in the main thread: none here.
        thread = threading.Thread(target=server.run, name="kubeline-ui", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the UI server did not start on {host}:{chosen}")
            time.sleep(0.02)
        _background = Background(server, thread, f"http://{host}:{chosen}")
        return _background


def run_url(base: str, run_name: str, namespace: str | None) -> str:
    query = f"?{urlencode({'ns': namespace})}" if namespace else ""
    return f"{base}/runs/{quote(run_name)}{query}"


_keep_serving_registered = False


def keep_serving_at_exit() -> None:
    """Outside a notebook, keep the pages alive after the script's last line, until Ctrl+C."""
    global _keep_serving_registered
    if _keep_serving_registered:
        return
    _keep_serving_registered = True

    def wait() -> None:
        bg = _background
        if bg is None or not bg.thread.is_alive():
            return
        print(f"Kubeline UI at {bg.url} (press Ctrl+C to stop)", flush=True)
        try:
            while bg.thread.is_alive():
                bg.thread.join(0.5)
        except KeyboardInterrupt:
            bg.server.should_exit = True
            bg.thread.join(5)

    atexit.register(wait)
