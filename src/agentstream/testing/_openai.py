"""A local OpenAI-compatible HTTP server for tests: real HTTP on a free port, scriptable.

    with OpenAIServer() as server:                   # Starlette + uvicorn on a thread
        server.enqueue(Reply.rate_limited(retry_after=2), Reply.ok("fine"))
        llm = LLM("a", settings=LLMSettings(base_url=server.base_url, api_key="test"))
        ...
        assert server.prompts() == [...]             # every chat prompt it saw, in order

Endpoints: ``POST /v1/chat/completions`` (with and without ``stream``), ``POST /v1/embeddings``,
``GET /v1/models``. Scripted replies are used first-in first-out (optionally only for prompts
containing ``when``); without one the server answers ``responder(messages)`` or, by default,
a JSON object for the requested schema (filled like the offline model) or an echo. Knobs:
``latency`` (added to every call), ``rate_limit_rps`` (answer 429 with ``Retry-After`` beyond it),
``usage`` (token counts). ``in_flight``/``max_in_flight`` count concurrent requests.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OpenAIServer", "Reply", "SeenRequest"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with the class methods."""

    kind: str  # ok | status | stall | raw
    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] | None = None
    when: str | None = None  # only for a prompt containing this text

    @classmethod
    def ok(cls, content: str, *, usage: tuple[int, int] | None = None,
           headers: dict[str, str] | None = None, when: str | None = None) -> Reply:
        return cls("ok", content, headers=headers or {}, usage=usage, when=when)

    @classmethod
    def json(cls, value: Any, *, when: str | None = None) -> Reply:
        """An answer whose content is ``value`` as JSON (e.g. wrong-schema JSON)."""
        return cls("ok", json.dumps(value), when=when)

    @classmethod
    def malformed(cls, *, when: str | None = None) -> Reply:
        """Content that is not JSON at all."""
        return cls("ok", 'Sure! {"kind": "oops", severity: ', when=when)

    @classmethod
    def rate_limited(cls, *, retry_after: float | None = 1.0,
                     headers: dict[str, str] | None = None, when: str | None = None) -> Reply:
        h = dict(headers or {})
        if retry_after is not None:
            h["retry-after"] = f"{retry_after:g}"
        return cls("status", status=429, headers=h, when=when)

    @classmethod
    def server_error(cls, status: int = 500, *, when: str | None = None) -> Reply:
        return cls("status", status=status, when=when)

    @classmethod
    def http_status(cls, code: int, *, when: str | None = None) -> Reply:
        """Any other status (400, 404, ...) with an OpenAI-style error body."""
        return cls("status", status=code, when=when)

    @classmethod
    def stall(cls, seconds: float, *, when: str | None = None) -> Reply:
        """Say nothing for ``seconds`` (past the client's timeout), then answer."""
        return cls("stall", delay=seconds, when=when)


@dataclass(frozen=True)
class SeenRequest:
    path: str
    body: dict[str, Any]
    at: float
    status: int

    @property
    def prompt(self) -> str:
        msgs = self.body.get("messages") or []
        users = [m for m in msgs if m.get("role") == "user"]
        return str(users[0].get("content", "")) if users else ""


class OpenAIServer:
    """See the module docstring. ``start``/``stop`` or use as a context manager."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        model: str = "test-model",
        rate_limit_rps: float | None = None,
        responder: Callable[[list[dict[str, Any]]], str] | None = None,
        usage: tuple[int, int] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.model = model
        self.rate_limit_rps = rate_limit_rps
        self.responder = responder
        self.usage = usage
        self.host = host
        self.port = port
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.concurrency: list[tuple[float, int]] = []  # (time, in flight) at each arrival
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._bucket = 0.0
        self._bucket_at = time.monotonic()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next_reply(self, prompt: str) -> Reply | None:
        with self._lock:
            for i, r in enumerate(self._script):
                if r.when is None or r.when in prompt:
                    return self._script.pop(i)
        return None

    def prompts(self) -> list[str]:
        """The first user message of every chat request, in arrival order (429s included)."""
        return [r.prompt for r in self.requests if r.path.endswith("/chat/completions")]

    def answered(self) -> list[str]:
        """Prompts of the chat requests answered 200."""
        return [r.prompt for r in self.requests
                if r.path.endswith("/chat/completions") and r.status == 200]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> OpenAIServer:
        import uvicorn  # noqa: PLC0415 - optional extra

        from agentstream.localkafka import free_port  # noqa: PLC0415 - optional extra

        if not self.port:
            self.port = free_port()
        config = uvicorn.Config(self._app(), host=self.host, port=self.port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="openai-test-server",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"test OpenAI server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(10)
            self._server = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the app --------------------------------------------------------------------------------
    def _app(self) -> Any:
        from starlette.applications import Starlette  # noqa: PLC0415 - optional extra
        from starlette.routing import Route  # noqa: PLC0415 - optional extra

        return Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ])

    def _over_limit(self) -> float | None:
        """Seconds until the server-side rate limit has room, or None when it has now."""
        rps = self.rate_limit_rps
        if rps is None:
            return None
        with self._lock:
            now = time.monotonic()
            self._bucket = min(max(1.0, rps), self._bucket + (now - self._bucket_at) * rps)
            self._bucket_at = now
            if self._bucket >= 1:
                self._bucket -= 1
                return None
            return (1 - self._bucket) / rps

    async def _chat(self, request: Any) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse  # noqa: PLC0415 - optional extra

        body = await request.json()
        msgs = body.get("messages") or []
        seen_prompt = next((str(m.get("content", "")) for m in msgs if m.get("role") == "user"),
                           "")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.concurrency.append((time.monotonic(), self.in_flight))
        status = 200
        try:
            reply = self._next_reply(seen_prompt)
            wait = self._over_limit() if reply is None else None
            if wait is not None:
                status = 429
                return _error(429, "rate limited (test server limit)",
                              {"retry-after": str(max(1, math.ceil(wait))),
                               "x-ratelimit-remaining-requests": "0",
                               "x-ratelimit-reset-requests": f"{wait:.3f}s"})
            if self.latency:
                await asyncio.sleep(self.latency)
            if reply is not None and reply.kind == "status":
                status = reply.status
                return _error(reply.status, f"scripted {reply.status}", reply.headers)
            if reply is not None and reply.kind == "stall":
                await asyncio.sleep(reply.delay)
            content = reply.content if reply is not None and reply.content is not None else (
                self._default_content(body))
            usage = (reply.usage if reply is not None and reply.usage else None) or self.usage or (
                sum(len(str(m.get("content", ""))) for m in msgs) // 4 + 1, len(content) // 4 + 1)
            headers = dict(reply.headers) if reply is not None else {}
            if body.get("stream"):
                return StreamingResponse(self._sse(content, usage), media_type="text/event-stream",
                                         headers=headers)
            return JSONResponse(self._completion(content, usage), headers=headers)
        except asyncio.CancelledError:
            status = 499
            raise
        finally:
            self.in_flight -= 1
            self.requests.append(SeenRequest(request.url.path, body, time.monotonic(), status))

    def _default_content(self, body: dict[str, Any]) -> str:
        msgs = body.get("messages") or []
        if self.responder is not None:
            return self.responder(msgs)
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema:
            from agentstream.llm import offline_structured  # noqa: PLC0415 - optional extra

            return offline_structured(msgs, schema)
        last = str(msgs[-1].get("content", "")) if msgs else ""
        return f"ok: {last[:200]}"

    def _completion(self, content: str, usage: tuple[int, int]) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": self.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]},
        }

    async def _sse(self, content: str, usage: tuple[int, int]) -> Any:
        base = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": self.model}
        step = max(1, len(content) // 4)
        for i in range(0, max(len(content), 1), step):
            chunk = {**base, "choices": [{"index": 0, "finish_reason": None,
                                          "delta": {"content": content[i : i + step]}}]}
            yield f"data: {json.dumps(chunk)}\n\n"
            await asyncio.sleep(0)
        done = {**base, "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]}
        yield f"data: {json.dumps(done)}\n\n"
        last = {**base, "choices": [], "usage": {"prompt_tokens": usage[0],
                                                  "completion_tokens": usage[1],
                                                  "total_tokens": sum(usage)}}
        yield f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n"

    async def _embeddings(self, request: Any) -> Any:
        from starlette.responses import JSONResponse  # noqa: PLC0415 - optional extra

        from agentstream.llm import offline_embedding  # noqa: PLC0415 - optional extra

        body = await request.json()
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        dims = int(body.get("dimensions") or 384)
        reply = self._next_reply("")
        status = 200
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if reply is not None and reply.kind == "status":
                status = reply.status
                return _error(reply.status, f"scripted {reply.status}", reply.headers)
            data = [{"object": "embedding", "index": i, "embedding": offline_embedding(t, dims)}
                    for i, t in enumerate(texts)]
            n = sum(len(t) for t in texts) // 4 + 1
            return JSONResponse({"object": "list", "data": data, "model": body.get("model"),
                                 "usage": {"prompt_tokens": n, "total_tokens": n}})
        finally:
            self.requests.append(SeenRequest(request.url.path, body, time.monotonic(), status))

    async def _models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse  # noqa: PLC0415 - optional extra

        return JSONResponse({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 0, "owned_by": "agentstream"}]})


def _error(status: int, message: str, headers: dict[str, str]) -> Any:
    from starlette.responses import JSONResponse  # noqa: PLC0415 - optional extra

    kind = "rate_limit_error" if status == 429 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": str(status)}},
                        status_code=status, headers=headers)


def main(argv: list[str] | None = None) -> None:
    """``python -m agentstream.testing._openai --port N [--latency S] [--rate-limit-rps R]``: the
    server as its own process (benchmarks keep it off the agent's CPU)."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit-rps", type=float, default=None)
    args = parser.parse_args(argv)
    server = OpenAIServer(port=args.port, latency=args.latency,
                          rate_limit_rps=args.rate_limit_rps)
    server.start()
    print(f"serving {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
