"""The few ASGI steps the gateway's webhook routes need, without a framework in between.

A webhook request is: headers, a body read up to a limit, one short answer. Starlette's request
and response objects and its middleware stack cost more per request than everything the gateway
itself does for a stored delivery, so the two webhook routes speak ASGI directly (the rest of the
app, ``/healthz``, ``/metrics``, 404 and 405, stays a Starlette app).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

__all__ = [
    "Answer",
    "Disconnected",
    "Receive",
    "Scope",
    "Send",
    "TooLarge",
    "headers_of",
    "json_answer",
    "read_body",
    "route_path",
    "send_answer",
    "text_answer",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"


class Answer:
    """One response: status, body bytes, content type and any extra headers."""

    __slots__ = ("body", "content_type", "extra", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: bytes,
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.extra = extra


def json_answer(content: Any, status: int = 200) -> Answer:
    """``content`` as compact JSON (the bytes Starlette's ``JSONResponse`` would send)."""
    return Answer(status, orjson.dumps(content), _JSON)


def text_answer(message: str, status: int, extra: tuple[tuple[bytes, bytes], ...] = ()) -> Answer:
    """A ``text/plain`` answer (the bytes Starlette's ``PlainTextResponse`` would send)."""
    return Answer(status, message.encode(), _TEXT, extra)


class TooLarge(Exception):
    """The body is over the limit (``declared`` is the Content-Length, if it said so)."""

    def __init__(self, limit: int, declared: int | None) -> None:
        super().__init__(limit, declared)
        self.limit = limit
        self.declared = declared


class Disconnected(Exception):
    """The client went away before its body arrived in full."""


def headers_of(scope: Scope) -> dict[str, str]:
    """The request headers, names lower-case; a repeated header keeps its first value."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (``root_path``), as Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    """The whole body; ``TooLarge`` as soon as it (or its Content-Length) is over ``limit``."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit, int(declared))
    first = b""
    chunks: list[bytes] | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit, None)
        if chunks is not None:
            chunks.append(chunk)
        elif first:
            chunks = [first, chunk]
        else:
            first = chunk
        if not message.get("more_body", False):
            return b"".join(chunks) if chunks is not None else first


async def send_answer(send: Send, answer: Answer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", answer.content_type),
                (b"content-length", str(len(answer.body)).encode()),
                *answer.extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})
