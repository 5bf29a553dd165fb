"""The ingestion gateway: signed GitHub and Slack webhooks in, ``RawRecord``s on ``ingest.*``.

The two webhook routes are plain ASGI (``_asgi``); ``/healthz``, ``/metrics`` and everything
else are a Starlette app behind them.

Per request, in this order: body size (413) → signature (401) → headers and body syntax (400)
→ handshakes answered (GitHub ``ping``, Slack ``url_verification``) → events nobody consumes
answered 202 ``ignored: <reason>`` → a delivery already stored by this process answered 200
``duplicate`` → the raw record is produced and the answer waits for Kafka's acknowledgement:
200 once acknowledged, 503 with ``Retry-After`` when it is not within ``ack_timeout``. Nothing is
produced for a request answered otherwise. Secrets never reach logs, errors or metrics.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import msgspec
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentstream.config import KafkaSettings
from agentstream.connectors._asgi import (
    Answer,
    Disconnected,
    Receive,
    Scope,
    Send,
    TooLarge,
    headers_of,
    json_answer,
    read_body,
    route_path,
    send_answer,
    text_answer,
)
from agentstream.connectors._errors import SignatureError
from agentstream.connectors._github import SUPPORTED_GITHUB_EVENTS
from agentstream.connectors._publish import PublishError, RawPublisher
from agentstream.connectors._raw import ingest_topic, make_raw
from agentstream.connectors._settings import GatewaySettings
from agentstream.connectors._signing import verify_github, verify_slack
from agentstream.connectors._slack import SUPPORTED_SLACK_EVENTS
from agentstream.connectors.metrics import GATEWAY_ACK_LATENCY, GATEWAY_REQUESTS
from agentstream.errors import AgentStreamError

__all__ = ["Gateway", "GatewayStartError", "run_gateway", "serve_gateway"]

log = logging.getLogger("agentstream.gateway")

_SOURCES = ("github", "slack")


class _Reject(Exception):
    def __init__(self, status: int, outcome: str, message: str, event: str = "unknown") -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome
        self.message = message
        self.event = event


class _Recent:
    """Ids of deliveries this process has stored (bounded, newest kept)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def add(self, key: str) -> None:
        if self.capacity <= 0:
            return
        self._ids[key] = None
        self._ids.move_to_end(key)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class _Repository(msgspec.Struct):
    full_name: str = ""


class _GitHubHead(msgspec.Struct):
    """What the gateway reads of a GitHub payload: the key. The rest is checked, not built."""

    repository: _Repository | None = None


_GITHUB_HEAD = msgspec.json.Decoder(_GitHubHead)


class _Webhook:
    """The ASGI app of one webhook route (reached straight from ``Gateway.app`` for a POST, or
    through the Starlette router)."""

    def __init__(self, gateway: Gateway, source: str) -> None:
        self.gateway = gateway
        self.source = source
        self.handle = gateway._github if source == "github" else gateway._slack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        try:
            headers = headers_of(scope)
            try:
                body = await read_body(receive, headers, gateway.settings.max_body_bytes)
                answer = await self.handle(headers, body)
            except TooLarge as exc:
                size = f"of {exc.declared} bytes " if exc.declared is not None else ""
                raise _Reject(
                    413, "too_large", f"body {size}is over the {exc.limit}-byte limit"
                ) from None
        except _Reject as exc:
            gateway._count(self.source, exc.event, exc.outcome)
            answer = text_answer(exc.message, exc.status)
        except Disconnected:
            return  # nobody to answer; nothing was produced
        await send_answer(send, answer)


class _App:
    """``Gateway.app``: POSTs to the webhook routes go straight to their handlers; every other
    request (``/healthz``, ``/metrics``, 404, 405) and the lifespan go to the Starlette app."""

    def __init__(self, hooks: dict[str, _Webhook], fallback: Starlette) -> None:
        self.hooks = hooks
        self.starlette = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            hook = self.hooks.get(route_path(scope))
            if hook is not None:
                try:
                    await hook(scope, receive, send)
                except Exception:
                    log.exception("gateway: unexpected error on %s", scope["path"])
                    raise  # the server answers 500 if nothing was sent yet
                return
        await self.starlette(scope, receive, send)


class Gateway:
    """The gateway's ASGI ``app`` and the publisher behind it.

    ``clock`` (default ``time.time``) is "now" for Slack's replay window; tests pass a fixed
    clock to replay signed captures. ``publisher`` defaults to a ``RawPublisher`` over ``kafka``
    with ``settings.ack_timeout`` and ``settings.linger``; it is started and closed with the app.
    """

    def __init__(
        self,
        settings: GatewaySettings | None = None,
        kafka: KafkaSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        publisher: RawPublisher | None = None,
    ) -> None:
        self.settings = settings or GatewaySettings()
        self.kafka = kafka or KafkaSettings()
        self.clock = clock
        self.publisher = publisher or RawPublisher(
            self.kafka, timeout=self.settings.ack_timeout, linger=self.settings.linger
        )
        self._github_secrets = [s.get_secret_value() for s in self.settings.github_secrets]
        self._slack_secrets = [s.get_secret_value() for s in self.settings.slack_signing_secrets]
        self._recent = _Recent(self.settings.recent_deliveries)
        self._retry_after = (
            (b"retry-after", str(max(1, int(self.settings.retry_after.total_seconds()))).encode()),
        )
        self._topics = {s: ingest_topic(s, prefix=self.kafka.topic_prefix) for s in _SOURCES}
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._latency = {s: GATEWAY_ACK_LATENCY.labels(s) for s in _SOURCES}
        hooks = {f"/webhooks/{s}": _Webhook(self, s) for s in _SOURCES}
        self.starlette = Starlette(
            routes=[
                *(Route(path, hook, methods=["POST"]) for path, hook in hooks.items()),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )
        self.app = _App(hooks, self.starlette)
        # Set by run_gateway, whose process is the gateway's alone: see _startup.
        self._freeze_heap = False

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self._startup()
        try:
            yield
        finally:
            await self._shutdown()

    async def _startup(self) -> None:
        self.publisher.start()
        for source, topic in self._topics.items():
            try:  # register the RawRecord schema now rather than on the first request
                self.publisher.encode(
                    topic, make_raw(source, "warm-up", b"", delivery_id="warm-up")
                )
            except Exception as exc:  # the broker may be down: requests will get 503 until it is up
                log.warning(
                    "gateway: could not prepare %s yet (%s); will retry per request", topic, exc
                )
        if self._freeze_heap:
            # Everything built so far (modules, schemas, settings: ~80k objects) lives as long
            # as the process. Left in the collected generations, each full collection walks it
            # all and stops the loop for ~50 ms, which every request in flight then waits out.
            gc.collect()
            gc.freeze()

    async def _shutdown(self) -> None:
        self.publisher.close()

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # -- shared steps -------------------------------------------------------------------------
    def _count(self, source: str, event: str, outcome: str) -> None:
        key = (source, event, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = GATEWAY_REQUESTS.labels(source, event, outcome)
        counter.inc()

    @staticmethod
    def _json(body: bytes, what: str, event: str) -> Any:
        try:
            return orjson.loads(body)
        except UnicodeDecodeError:
            raise _Reject(400, "bad_request", f"{what} is not UTF-8", event) from None
        except json.JSONDecodeError as exc:
            raise _Reject(
                400,
                "bad_request",
                f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                event,
            ) from None

    async def _store(self, source: str, event: str, key: str, raw: Any) -> Answer:
        if raw.delivery_id and raw.id in self._recent:
            self._count(source, event, "duplicate")
            return json_answer({"status": "duplicate", "id": raw.id})
        try:
            took = await self.publisher.publish(self._topics[source], key, raw)
        except PublishError as exc:
            self._count(source, event, "unavailable")
            log.warning("gateway: %s %s not stored: %s", source, event, exc)
            return text_answer(f"unavailable: {exc}", 503, self._retry_after)
        self._latency[source].observe(took)
        self._count(source, event, "stored")
        self._recent.add(raw.id)
        return json_answer({"status": "stored", "id": raw.id})

    # -- GitHub ------------------------------------------------------------------------------
    async def _github(self, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            verify_github(self._github_secrets, body, headers.get("x-hub-signature-256"))
        except SignatureError as exc:
            raise _Reject(401, "unauthorized", str(exc)) from None
        event = headers.get("x-github-event", "")
        delivery = headers.get("x-github-delivery", "")
        if not event or not delivery:
            raise _Reject(400, "bad_request", "missing X-GitHub-Event or X-GitHub-Delivery header")
        if event == "ping":
            self._count("github", event, "handshake")
            return json_answer({"status": "pong"})
        if event not in SUPPORTED_GITHUB_EVENTS:
            self._count("github", "other", "ignored")
            return text_answer(f"ignored: event {event!r} is not consumed", 202)
        payload_bytes = body
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "payload" not in form:
                raise _Reject(400, "bad_request", "form body without a 'payload' field", event)
            payload_bytes = form["payload"][0].encode()
        key = self._github_key(payload_bytes, event)
        raw = make_raw(
            "github",
            event,
            payload_bytes,
            delivery_id=delivery,
            headers={
                "x-github-event": event,
                "x-github-delivery": delivery,
                "x-github-hook-id": headers.get("x-github-hook-id", ""),
            },
        )
        return await self._store("github", event, key, raw)

    def _github_key(self, payload: bytes, event: str) -> str:
        """The repository's full name; 400 unless ``payload`` is a JSON object in UTF-8.

        The whole payload's syntax is checked but only ``repository.full_name`` is built (a
        28 KB pull request parsed in full costs several times more, mostly in objects thrown
        away). Anything unusual takes the full parse, which decides exactly as before.
        """
        try:
            head = _GITHUB_HEAD.decode(payload)
        except msgspec.MsgspecError:
            head = None
        if head is not None and (payload.isascii() or _is_utf8(payload)):
            return head.repository.full_name if head.repository is not None else ""
        document = self._json(payload, "body", event)
        if not isinstance(document, dict):
            raise _Reject(400, "bad_request", "body is not a JSON object", event)
        repo = document.get("repository")
        return str(repo.get("full_name") or "") if isinstance(repo, dict) else ""

    # -- Slack -------------------------------------------------------------------------------
    async def _slack(self, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            verify_slack(
                self._slack_secrets,
                body,
                timestamp=headers.get("x-slack-request-timestamp"),
                signature=headers.get("x-slack-signature"),
                clock=self.clock,
                max_skew=self.settings.slack_max_skew,
            )
        except SignatureError as exc:
            raise _Reject(401, "unauthorized", str(exc)) from None
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            self._count("slack", "interactive", "ignored")
            return text_answer(
                "ignored: slash commands and interactive payloads are not ingested", 202
            )
        payload = self._json(body, "body", "unknown")
        if not isinstance(payload, dict):
            raise _Reject(400, "bad_request", "body is not a JSON object")
        ptype = payload.get("type")
        if ptype == "url_verification":
            self._count("slack", "url_verification", "handshake")
            return json_answer({"challenge": payload.get("challenge", "")})
        if ptype != "event_callback":
            self._count("slack", "other", "ignored")
            return text_answer(f"ignored: envelope type {ptype!r} is not ingested", 202)
        event = payload.get("event")
        event_id = payload.get("event_id")
        if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
            raise _Reject(
                400, "bad_request", "event_callback without an 'event' object and an 'event_id'"
            )
        etype = str(event.get("type") or "")
        if etype not in SUPPORTED_SLACK_EVENTS:
            self._count("slack", "other", "ignored")
            return text_answer(f"ignored: event {etype!r} is not consumed", 202)
        retry = headers.get("x-slack-retry-num", "")
        attempt = int(retry) + 1 if retry.isdigit() else 1
        item = event.get("item")
        channel = event.get("channel") or (item.get("channel") if isinstance(item, dict) else "")
        if isinstance(channel, dict):
            channel = channel.get("id") or ""
        raw = make_raw(
            "slack",
            etype,
            body,
            delivery_id=event_id,
            attempt=attempt,
            headers={
                "x-slack-request-timestamp": headers.get("x-slack-request-timestamp", ""),
                "x-slack-retry-num": retry,
                "x-slack-retry-reason": headers.get("x-slack-retry-reason", ""),
                "team_id": str(payload.get("team_id") or ""),
            },
        )
        return await self._store("slack", etype, str(channel), raw)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


class _WorkerApp:
    """A picklable app factory: each worker process builds its own gateway (own producer)."""

    def __init__(self, settings: GatewaySettings, kafka: KafkaSettings) -> None:
        self.settings = settings
        self.kafka = kafka

    def __call__(self) -> _App:
        gateway = Gateway(self.settings, self.kafka)
        gateway._freeze_heap = True
        return gateway.app


def run_gateway(
    settings: GatewaySettings | None = None, kafka: KafkaSettings | None = None
) -> None:
    """Serve the gateway with uvicorn until SIGTERM/SIGINT (``agentstream gateway``).

    A signal stops accepting connections, lets requests in progress finish (their records are
    acknowledged or answered 503), flushes the producer and returns, so the process exits 0.
    With ``settings.workers`` above 1, that many worker processes share the listening socket
    (uvicorn's supervisor), each with its own event loop and producer; the signal reaches every
    worker, which drains and flushes the same way.
    """
    import uvicorn  # noqa: PLC0415
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # uvicorn re-raises a captured signal after shutting down, which ends the process
            # "killed by SIGTERM"; a clean stop is not a failure.
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    settings = settings or GatewaySettings()
    kafka = kafka or KafkaSettings()
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": False,
        "lifespan": "on",
    }
    if settings.workers == 1:
        _Server(uvicorn.Config(_WorkerApp(settings, kafka)(), **common)).run()
        return
    config = uvicorn.Config(
        _WorkerApp(settings, kafka), factory=True, workers=settings.workers, **common
    )
    Multiprocess(config, sockets=[_tcp_listener(config.bind_socket())]).run()


def _tcp_listener(sock: socket.socket) -> socket.socket:
    """``sock`` (a bound listening socket) marked as TCP, so connections accepted on it get
    ``TCP_NODELAY``.

    uvicorn's ``bind_socket`` leaves ``proto`` at 0; accepted sockets inherit it and asyncio
    only disables Nagle's algorithm when it reads ``IPPROTO_TCP``, so every keep-alive answer
    after the first would wait ~40 ms for the client's delayed ACK (workers > 1 only: a single
    process binds through asyncio, which sets it).
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


@contextlib.contextmanager
def serve_gateway(
    gateway: Gateway,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> Iterator[str]:
    """Serve ``gateway`` with uvicorn in a background thread; yield its base URL.

    For tests and benchmarks: the server answers when the block starts and is shut down (the
    publisher flushed and closed) when it ends. ``port`` defaults to a free one.
    """
    import uvicorn  # noqa: PLC0415

    from agentstream.localkafka import free_port  # noqa: PLC0415

    chosen = port or free_port()
    config = uvicorn.Config(
        gateway.app, host=host, port=chosen, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gateway-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout.total_seconds()
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise GatewayStartError(
                f"the gateway did not start on {host}:{chosen} within {timeout}"
            )
        time.sleep(0.02)
    try:
        yield f"http://{host}:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout.total_seconds())


class GatewayStartError(AgentStreamError):
    """The gateway's HTTP server did not come up; the port may be taken."""
