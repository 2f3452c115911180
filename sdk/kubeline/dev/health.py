"""Readiness probes of the local cluster's components, and how their health is told.

A probe returns None when its component is ready, else the reason it is not, in
words a person can act on. Probes are quick (a few seconds at most) and never
raise for an unready component.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Probe = Callable[[], "str | None"]

# Component states shown by ``kubeline dev status``.
READY, RUNNING, CRASHED, STOPPED = "ready", "running", "crashed", "stopped"

# The kubelet renews its node Lease every 10 s (a quarter of its 40 s duration).
LEASE_STALE_AFTER_S = 40.0


@dataclass
class ComponentHealth:
    """One component's health: ``ready``, ``running`` (not ready), ``crashed`` or ``stopped``."""

    name: str
    state: str
    pid: int | None = None
    detail: str = ""
    restarts: int = 0
    log: str = ""


def run_probe(probe: Probe) -> str | None:
    """``probe()``, with an unexpected exception turned into its reason."""
    try:
        return probe()
    except Exception as exc:  # a probe's bug must not pass for readiness
        return f"{type(exc).__name__}: {exc}"


def _short(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and exc.reason is not None:
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    return str(exc) or type(exc).__name__


def http_get(url: str, ctx: ssl.SSLContext | None = None, timeout: float = 3.0
             ) -> tuple[int, str]:
    """(status, body) of a GET; status 0 and the error when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, ValueError) as exc:
        return 0, _short(exc)


def http_probe(url: str, ctx: ssl.SSLContext | None = None,
               ok: Callable[[str], bool] | None = None) -> Probe:
    """Ready when ``url`` answers 200 (and ``ok(body)`` holds)."""
    def probe() -> str | None:
        status, body = http_get(url, ctx)
        if status == 0:
            return f"{url}: {body}"
        if status == 200 and (ok is None or ok(body)):
            return None
        return f"{url}: HTTP {status}: {failing_checks(body)}"
    return probe


def failing_checks(body: str) -> str:
    """The failing checks of a verbose /readyz or /healthz body (``[-]name failed``), or
    its first line."""
    bad = [line[3:].split(" ")[0] for line in body.splitlines() if line.startswith("[-]")]
    if bad:
        return "failing checks: " + ", ".join(bad)
    first = body.strip().splitlines()
    return first[0][:200] if first else "(empty body)"


def port_probe(host: str, port: int) -> Probe:
    def probe() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=2):
                return None
        except OSError as exc:
            return f"{host}:{port}: {_short(exc)}"
    return probe


def cri_probe(cristatus: Path, socket_path: Path) -> Probe:
    """Ready when the CRI runtime Status call reports RuntimeReady and NetworkReady
    (what the kubelet checks before it starts; ``ctr version`` answers earlier)."""
    def probe() -> str | None:
        try:
            out = subprocess.run(
                [str(cristatus), "-endpoint", f"unix://{socket_path}", "-timeout", "2s"],
                capture_output=True, text=True, timeout=10,
            )
        except subprocess.TimeoutExpired:
            return "the CRI Status call did not return in 10s"
        return cri_reason(out.returncode, out.stdout)
    return probe


def cri_reason(returncode: int, stdout: str) -> str | None:
    """Why a ``cristatus`` result is not ready (None when it is)."""
    try:
        result = json.loads(stdout)
    except ValueError:
        return f"cristatus exited {returncode}: {stdout.strip()[:200]}"
    if returncode == 0 and result.get("ready"):
        return None
    if result.get("error"):
        return f"CRI Status call failed: {result['error']}"
    conds = {c["type"]: c for c in result.get("conditions", [])}
    missing = []
    for kind in ("RuntimeReady", "NetworkReady"):
        cond = conds.get(kind)
        if cond is None:
            missing.append(f"{kind} not reported")
        elif not cond.get("status"):
            why = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
            missing.append(f"{kind}=false" + (f" ({why})" if why else ""))
    return "CRI runtime not ready: " + "; ".join(missing or ["not ready"])


# klog (E/F + MMDD), logrus (level=error), zap/JSON ("level":"error"), Go panics.
_ERROR_LINE = re.compile(
    r'^[EF]\d{4} |level=(error|fatal|panic)\b|"level":"(error|fatal|panic|dpanic)"'
    r"|^panic: |^fatal error: |^Error: ",
)


def last_error_line(log_text: str) -> str | None:
    """The last line of a component log that reports an error, or None."""
    for line in reversed(log_text.splitlines()):
        if _ERROR_LINE.search(line.strip()):
            return line.strip()[:400]
    return None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def node_problem(node: dict[str, Any] | None, lease: dict[str, Any] | None,
                 now: datetime | None = None, since: datetime | None = None) -> str | None:
    """Why a Node cannot run Pods (None when it can): not registered, not Ready, or its
    kubelet stopped renewing the node Lease (seen long before the Ready condition turns).
    With ``since`` (a kubelet start), a Lease renewed before then does not count: the
    Ready condition may still be the one its previous run reported."""
    if node is None:
        return "the node is not registered (is the kubelet running?)"
    name = node.get("metadata", {}).get("name", "?")
    conds = {c.get("type"): c for c in node.get("status", {}).get("conditions", [])}
    ready = conds.get("Ready")
    if ready is None or ready.get("status") != "True":
        why = ": ".join(x for x in ((ready or {}).get("reason"), (ready or {}).get("message"))
                        if x)
        return f"node {name} is not Ready" + (f" ({why})" if why else "")
    renewed = _parse_time((lease or {}).get("spec", {}).get("renewTime"))
    if since is not None and (renewed is None or renewed < since):
        return f"the kubelet of node {name} has not renewed its Lease since it started"
    if lease is not None and renewed is not None:
        age = ((now or datetime.now(UTC)) - renewed).total_seconds()
        if age > LEASE_STALE_AFTER_S:
            return (f"the kubelet of node {name} has not renewed its Lease for {age:.0f}s "
                    "(the kubelet is stopped or hung)")
    return None
