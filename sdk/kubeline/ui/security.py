"""Security headers on every response, and CSRF protection of state-changing requests.

CSRF: a double-submit token. Every page load sets the ``kubeline-csrf`` cookie
(random, SameSite=Strict); a POST, PUT, PATCH or DELETE must echo it in the
``X-Kubeline-CSRF`` header and, when the browser sends an ``Origin``, come from the
UI's own origin. Another site can neither read the cookie nor set the header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

CSRF_COOKIE = "kubeline-csrf"
CSRF_HEADER = "x-kubeline-csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The app's pages: scripts and workers only from the UI itself, no plugins, not framable.
PAGE_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # the graph positions nodes with style attributes
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
#: A stored visualization: a sandbox (opaque origin: no cookies, no access to the UI), no
#: network, framed only by the UI.
VISUALIZATION_CSP = "; ".join([
    "sandbox allow-scripts",
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    "img-src data: blob:",
    "font-src data:",
    "frame-ancestors 'self'",
])

_COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def security_headers(path: str, existing: dict[str, str]) -> dict[str, str]:
    """Headers to add to a response for ``path`` (a response's own CSP wins)."""
    headers = dict(_COMMON)
    if "content-security-policy" not in existing:
        headers["content-security-policy"] = PAGE_CSP
    if "x-frame-options" not in existing:
        headers["x-frame-options"] = "DENY"
    if path.startswith("/api/"):
        headers["cache-control"] = "no-store"
    return headers


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_problem(method: str, headers: Any, cookies: dict[str, str], host_url: str) -> str | None:
    """Why a request fails the CSRF check, or None when it passes (or is safe)."""
    if method.upper() not in UNSAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin and origin.rstrip("/") != host_url.rstrip("/"):
        return f"cross-origin request from {origin} refused"
    cookie = cookies.get(CSRF_COOKIE) or ""
    sent = headers.get(CSRF_HEADER) or ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        return "missing or wrong CSRF token (reload the page)"
    return None


class SecurityHeadersMiddleware:
    """ASGI middleware adding :func:`security_headers` to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or [])
                existing = {k.decode().lower(): v.decode() for k, v in raw}
                for key, value in security_headers(path, existing).items():
                    raw.append((key.encode(), value.encode()))
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, wrapped)


class CsrfMiddleware:
    """ASGI middleware refusing unsafe requests that fail :func:`csrf_problem` (HTTP 403)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method", "GET").upper() in UNSAFE_METHODS:
            from starlette.requests import Request
            from starlette.responses import JSONResponse

            request = Request(scope)
            host_url = f"{request.url.scheme}://{request.url.netloc}"
            problem = csrf_problem(request.method, request.headers, dict(request.cookies),
                                   host_url)
            if problem:
                await JSONResponse({"error": "csrf", "message": problem}, 403)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)
