"""Access control: a token on every request when configured, CSRF protection on every POST.

- ``TokenAuth`` (ASGI middleware) refuses any request — pages, streams, JSON, health — that does
  not carry the token as ``Authorization: Bearer <token>`` or as the password of HTTP basic auth.
  Comparison is constant-time; the token never appears in a page or a log line.
- CSRF: a random per-browser value in a ``SameSite=Strict``, ``HttpOnly`` cookie, echoed in a
  hidden form field (double submit); a POST whose field does not match the cookie, or whose
  ``Origin`` names another host, is refused with 403.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CSRF_COOKIE", "TokenAuth", "check_csrf", "csrf_token", "with_csrf_cookie"]

CSRF_COOKIE = "agentstream_csrf"


def _presented_token(headers: dict[bytes, bytes]) -> str | None:
    value = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


class TokenAuth:
    """Refuse every HTTP request without the token (401 + a basic-auth challenge)."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        if not token:
            raise ValueError("TokenAuth needs a non-empty token")
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        presented = _presented_token(headers)
        if presented is not None and hmac.compare_digest(presented.encode(), self._token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = Response(
            "authentication required: send the console token "
            "(Authorization: Bearer <token>, or basic auth with the token as password)\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Basic realm="AgentStream console", charset="UTF-8"'},
        )
        await response(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The browser's CSRF value (from its cookie), or a new one to set on the response."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing
    token: str = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
    request.state.new_csrf = token
    return token


def with_csrf_cookie(request: Request, response: Response) -> Response:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", path="/")
    return response


def check_csrf(request: Request, form: Any) -> str | None:
    """None when the POST is same-origin and carries the cookie's value; else why not."""
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin and origin.split("://", 1)[-1] != host:
        return f"cross-site request refused (Origin {origin} is not this console)"
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = str(form.get("csrf", ""))
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        return "missing or wrong CSRF token: reload the page and try again"
    return None
