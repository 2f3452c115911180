"""What the UI's browser tests share: the UI served in the test process, Debian's
Chromium through Playwright, and screenshots."""

from __future__ import annotations

import importlib
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "ui-screenshots"
CHROMIUM = os.environ.get("KUBELINE_CHROMIUM", "/usr/bin/chromium")
COLORS = {"completed": "rgb(37, 99, 235)", "running": "rgb(234, 179, 8)",
          "failed": "rgb(220, 38, 38)", "cached": "rgb(22, 163, 74)",
          "pending": "rgb(156, 163, 175)"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UiServer:
    """The UI app served by uvicorn in a thread of the test process."""

    def __init__(self, mode: str, namespace: str) -> None:
        import uvicorn
        from kubeline.ui.server import build_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(mode, namespace), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the UI server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def load_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> Any:
    module = f"ui_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def open_run(browser: Any, ui: UiServer, ns: str, run: str) -> Any:
    page = browser.new_page(viewport={"width": 1500, "height": 900})
    page.goto(f"{ui.url}/runs/{run}?ns={ns}")
    page.wait_for_selector("#dag[data-ready='1']", timeout=20000)
    return page


def node_status(page: Any, step: str) -> tuple[str, str]:
    el = page.locator(f"[data-testid='step-{step}']")
    return (el.get_attribute("data-status"),
            el.evaluate("e => getComputedStyle(e).backgroundColor"))


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, once the imported kubeline has its UI built."""
    from kubeline.ui.app import STATIC_DIR

    if not (STATIC_DIR / "index.html").exists():  # the kubeline this session imports
        pytest.fail(f"the UI is not built in {STATIC_DIR}: run `make ui` in that checkout")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox", "--disable-gpu"])


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium for one test module, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()
