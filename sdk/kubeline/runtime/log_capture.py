"""The step's own log, kept after its Pod is gone.

The runtime tees everything the step prints (``sys.stdout`` and ``sys.stderr``, so
``print``, ``logging`` to the console and tracebacks) into a bounded buffer and, when
the attempt ends (success or failure), saves it as ``<outputsUri>/step.log``
(``ArtifactStore.step_log_uri``). The step saves its own log, rather than the operator
reading Pod logs: the operator would need ``pods/log`` rights and one more request per
step on its hot path; the Pod already holds the text. A process killed outright
(out of memory, SIGKILL) saves nothing: its log is then only in the Pod, while it exists;
one stopped by SIGTERM (a deleted or evicted Pod) saves it (``runtime.termination``).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from kubeline.resources import layout

MAX_BYTES = 8 * 1024 * 1024  # the tail kept; a longer log says how much was dropped


class _Tee:
    """A text stream writing to the original stream and to the capture."""

    def __init__(self, original: TextIO, capture: LogCapture) -> None:
        self._original = original
        self._capture = capture

    def write(self, text: str) -> int:
        self._capture.add(text)
        return self._original.write(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class LogCapture:
    """Tee ``sys.stdout``/``sys.stderr`` into memory, keeping the last ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._saved: tuple[TextIO, TextIO] | None = None

    def add(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)
            self._size += len(text)
            while self._size > self.max_bytes and len(self._parts) > 1:
                gone = self._parts.pop(0)
                self._size -= len(gone)
                self._dropped += len(gone)
            if self._size > self.max_bytes:  # one huge write: keep its tail
                only = self._parts[0]
                cut = self._size - self.max_bytes
                self._parts[0] = only[cut:]
                self._size -= cut
                self._dropped += cut

    def start(self) -> LogCapture:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self)
        sys.stderr = _Tee(sys.stderr, self)
        return self

    def stop(self) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None

    def text(self) -> str:
        with self._lock:
            body = "".join(self._parts)
            if self._dropped:
                return f"[kubeline: the first {self._dropped} characters were dropped]\n{body}"
            return body


def log_uri(outputs_uri: str) -> str:
    """Where an attempt's log goes, beside its outputs and manifest."""
    return layout.step_log_uri(outputs_uri)


def save_log(store: Any, outputs_uri: str, text: str) -> str | None:
    """Write the log to the artifact store; a failure is reported on stderr, never raised."""
    uri = log_uri(outputs_uri)
    try:
        store.write_bytes(uri, text.encode("utf-8", errors="replace"))
    except Exception as exc:  # the step's outcome must not depend on saving its log
        print(f"kubeline: could not save the step log to {uri}: {exc}", file=sys.stderr)
        return None
    return uri
