"""The termination message: a JSON pointer (success) or a bounded error report (failure)."""

from __future__ import annotations

import json
import traceback
from typing import Any

from kubeline.resources.manifest import TerminationMessage

MAX_BYTES = 4096
MAX_MESSAGE = 1500


def _encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def success_message(manifest_uri: str) -> bytes:
    return _encoded(TerminationMessage(ok=True, manifest=manifest_uri).to_wire())


def failure_message(exc: BaseException, limit: int = MAX_BYTES) -> bytes:
    """``{"ok": false, "type", "message", "traceback"}`` within ``limit`` bytes (tail kept)."""
    message = str(exc)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    full_tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    payload: dict[str, Any] = TerminationMessage(
        ok=False, type=type(exc).__name__, message=message, traceback=full_tb).to_wire()
    keep = len(full_tb)
    data = _encoded(payload)
    while len(data) > limit and keep > 0:
        keep = max(0, keep - max(len(data) - limit, 64))
        payload["traceback"] = "..." + full_tb[-keep:] if keep else ""
        data = _encoded(payload)
    while len(data) > limit:  # a message full of escapes: shorten it too
        payload["message"] = payload["message"][: len(payload["message"]) // 2] + "..."
        data = _encoded(payload)
    return data


def write_termination(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:  # not in a Pod (or no permission): the log still has it
        print(f"kubeline: cannot write termination message to {path}: {exc}", flush=True)
