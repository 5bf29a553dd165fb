"""A local stub of Slack's Web API over real HTTP, for testing chatbots without Slack.

``SlackWebStub`` serves the methods a bot needs (``chat.postMessage``, ``auth.test``,
``conversations.replies``) on loopback, the way Slack answers them: form or JSON bodies, a bearer
token, ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``, HTTP 429 with ``Retry-After``
when rate limited. Tests point the code under test at ``stub.base_url`` (Slack's own is
``https://slack.com/api/``) and read back what was posted::

    with SlackWebStub(token="xoxb-test") as slack:
        run_my_bot(slack_base_url=slack.base_url, token="xoxb-test")
        posted = slack.wait_for_posts(1, timeout=timedelta(seconds=10))
        assert posted[0].thread_ts == "1714000000.000100"

``fail_next(n, status=429, retry_after=1)`` (or ``error="channel_not_found"``) scripts failures.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from agentstream.errors import AgentStreamError

__all__ = ["SlackPost", "SlackStubError", "SlackWebStub"]


class SlackStubError(AgentStreamError):
    """The Slack stub could not start, or a wait for posts ran past its deadline."""


@dataclass(frozen=True)
class SlackPost:
    """One accepted ``chat.postMessage`` call, as the stub stored it."""

    channel: str
    text: str
    ts: str
    thread_ts: str | None
    blocks: Any = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None


class SlackWebStub:
    """Slack's Web API on ``127.0.0.1:<free port>``, served from a background thread.

    ``token`` (default ``"xoxb-test"``) is the only bearer token accepted (others get
    ``invalid_auth``); ``bot_user_id`` is what ``auth.test`` reports (default ``"U0BOT"``).
    ``base_url`` ends with ``/api/`` like Slack's, so clients append method names to it.
    """

    def __init__(
        self, *, token: str = "xoxb-test", bot_user_id: str = "U0BOT", team_id: str = "T0TEAM"
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.posts: list[SlackPost] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Condition()
        self._seq = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- scripting -----------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 200,
        error: str = "ratelimited",
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``n`` ``chat.postMessage`` calls with a failure instead of posting.

        ``status=429`` with ``retry_after`` is Slack's rate limit; ``status=200`` with an
        ``error`` is an API error (``{"ok": false, "error": ...}``); 5xx is a server error.
        """
        with self._lock:
            self._failures.extend(_Failure(status, error, retry_after) for _ in range(n))

    def wait_for_posts(self, n: int, *, timeout: timedelta) -> list[SlackPost]:
        """Block until at least ``n`` messages were posted; ``SlackStubError`` at the deadline."""
        deadline = time.monotonic() + timeout.total_seconds()
        with self._lock:
            while len(self.posts) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SlackStubError(
                        f"Slack stub: {len(self.posts)} of {n} expected chat.postMessage calls "
                        f"arrived within {timeout}"
                    )
                self._lock.wait(left)
            return list(self.posts)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackWebStub:
        """Start serving (returns once the port accepts connections)."""
        try:
            import uvicorn  # noqa: PLC0415
            from starlette.applications import Starlette  # noqa: PLC0415
            from starlette.routing import Route  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the http extra is part of dev
            raise SlackStubError(
                "the Slack stub needs Starlette and uvicorn: pip install 'agentstream[http]'"
            ) from exc
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/api/{method}", self._endpoint, methods=["GET", "POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        server = self._server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name="slack-web-stub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not getattr(server, "started", False):
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise SlackStubError("Slack stub did not start serving within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackWebStub:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the API -------------------------------------------------------------------------------

    async def _endpoint(self, request: Any) -> Any:
        from starlette.responses import JSONResponse  # noqa: PLC0415

        method = request.path_params["method"]
        raw = await request.body()
        args = _parse_args(request.headers.get("content-type", ""), raw)
        args.update(dict(request.query_params))
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() or str(args.get("token", ""))
        with self._lock:
            self.calls.append((method, args))
        if token != self.token:
            return JSONResponse({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        if method == "auth.test":
            return JSONResponse({"ok": True, "user_id": self.bot_user_id, "team_id": self.team_id,
                                 "bot_id": "B0BOT", "url": "https://stub.slack.com/"})  # fmt: skip
        if method == "chat.postMessage":
            return self._post_message(args, JSONResponse)
        if method == "conversations.replies":
            with self._lock:
                msgs = [{"ts": p.ts, "text": p.text, "thread_ts": p.thread_ts}
                        for p in self.posts if p.channel == args.get("channel")
                        and (p.thread_ts or p.ts) == args.get("ts")]  # fmt: skip
            return JSONResponse({"ok": True, "messages": msgs, "has_more": False})
        return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)

    def _post_message(self, args: dict[str, Any], response: Any) -> Any:
        channel = str(args.get("channel") or "")
        text = args.get("text")
        blocks = args.get("blocks")
        with self._lock:
            if self._failures:
                f = self._failures.pop(0)
                headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                return response({"ok": False, "error": f.error}, status_code=f.status,
                                headers=headers)  # fmt: skip
        if not channel:
            return response({"ok": False, "error": "channel_not_found"})
        if not text and not blocks:
            return response({"ok": False, "error": "no_text"})
        with self._lock:
            self._seq += 1
            ts = f"{int(time.time())}.{self._seq:06d}"
            thread_ts = args.get("thread_ts") or None
            post = SlackPost(channel=channel, text=str(text or ""), ts=ts,
                             thread_ts=str(thread_ts) if thread_ts else None, blocks=blocks,
                             raw=dict(args))  # fmt: skip
            self.posts.append(post)
            self._lock.notify_all()
        message = {"type": "message", "user": self.bot_user_id, "text": post.text, "ts": ts,
                   "bot_id": "B0BOT", "thread_ts": post.thread_ts}  # fmt: skip
        return response({"ok": True, "channel": channel, "ts": ts, "message": message})


def _parse_args(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        doc = json.loads(raw)
        return dict(doc) if isinstance(doc, dict) else {}
    return dict(parse_qsl(raw.decode(), keep_blank_values=True))
