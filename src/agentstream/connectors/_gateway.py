"""The ingestion gateway: signed GitHub and Slack webhooks in, ``RawRecord``s on ``ingest.*``.

Per request, in this order: body size (413) → signature (401) → headers and body syntax (400)
→ handshakes answered (GitHub ``ping``, Slack ``url_verification``) → events nobody consumes
answered 202 ``ignored: <reason>`` → a delivery already stored by this process answered 200
``duplicate`` → the raw record is produced and the answer waits for Kafka's acknowledgement:
200 once acknowledged, 503 with ``Retry-After`` when it is not within ``ack_timeout``. Nothing is
produced for a request answered otherwise. Secrets never reach logs, errors or metrics.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from agentstream.config import KafkaSettings
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


class Gateway:
    """The gateway's Starlette ``app`` and the publisher behind it.

    ``clock`` (default ``time.time``) is "now" for Slack's replay window; tests pass a fixed
    clock to replay signed captures. ``publisher`` defaults to a ``RawPublisher`` over ``kafka``
    with ``settings.ack_timeout``; it is started and closed with the app.
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
        self.publisher = publisher or RawPublisher(self.kafka, timeout=self.settings.ack_timeout)
        self._github_secrets = [s.get_secret_value() for s in self.settings.github_secrets]
        self._slack_secrets = [s.get_secret_value() for s in self.settings.slack_signing_secrets]
        self._recent = _Recent(self.settings.recent_deliveries)
        self._retry_after = str(max(1, int(self.settings.retry_after.total_seconds())))
        self.app = Starlette(
            routes=[
                Route("/webhooks/github", self.github, methods=["POST"]),
                Route("/webhooks/slack", self.slack, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self._startup()
        try:
            yield
        finally:
            await self._shutdown()

    async def _startup(self) -> None:
        self.publisher.start()
        for source in ("github", "slack"):
            topic = ingest_topic(source, prefix=self.kafka.topic_prefix)
            try:  # register the RawRecord schema now rather than on the first request
                self.publisher.encode(
                    topic, make_raw(source, "warm-up", b"", delivery_id="warm-up")
                )
            except Exception as exc:  # the broker may be down: requests will get 503 until it is up
                log.warning(
                    "gateway: could not prepare %s yet (%s); will retry per request", topic, exc
                )

    async def _shutdown(self) -> None:
        self.publisher.close()

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # -- shared steps -------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Reject(
                413, "too_large", f"body of {declared} bytes is over the {limit}-byte limit"
            )
        size = 0
        chunks = []
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Reject(413, "too_large", f"body is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

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

    async def _store(self, source: str, event: str, key: str, raw: Any) -> Response:
        if raw.delivery_id and raw.id in self._recent:
            GATEWAY_REQUESTS.labels(source, event, "duplicate").inc()
            return JSONResponse({"status": "duplicate", "id": raw.id})
        topic = ingest_topic(source, prefix=self.kafka.topic_prefix)
        try:
            took = await self.publisher.publish(topic, key, raw)
        except PublishError as exc:
            GATEWAY_REQUESTS.labels(source, event, "unavailable").inc()
            log.warning("gateway: %s %s not stored: %s", source, event, exc)
            return PlainTextResponse(
                f"unavailable: {exc}", status_code=503, headers={"Retry-After": self._retry_after}
            )
        GATEWAY_ACK_LATENCY.labels(source).observe(took)
        GATEWAY_REQUESTS.labels(source, event, "stored").inc()
        self._recent.add(raw.id)
        return JSONResponse({"status": "stored", "id": raw.id})

    @staticmethod
    def _rejected(source: str, exc: _Reject) -> Response:
        GATEWAY_REQUESTS.labels(source, exc.event, exc.outcome).inc()
        return PlainTextResponse(exc.message, status_code=exc.status)

    # -- GitHub ------------------------------------------------------------------------------
    async def github(self, request: Request) -> Response:
        try:
            return await self._github(request)
        except _Reject as exc:
            return self._rejected("github", exc)

    async def _github(self, request: Request) -> Response:
        body = await self._body(request)
        headers = request.headers
        try:
            verify_github(self._github_secrets, body, headers.get("x-hub-signature-256"))
        except SignatureError as exc:
            raise _Reject(401, "unauthorized", str(exc)) from None
        event = headers.get("x-github-event", "")
        delivery = headers.get("x-github-delivery", "")
        if not event or not delivery:
            raise _Reject(400, "bad_request", "missing X-GitHub-Event or X-GitHub-Delivery header")
        if event == "ping":
            GATEWAY_REQUESTS.labels("github", event, "handshake").inc()
            return JSONResponse({"status": "pong"})
        if event not in SUPPORTED_GITHUB_EVENTS:
            GATEWAY_REQUESTS.labels("github", "other", "ignored").inc()
            return PlainTextResponse(f"ignored: event {event!r} is not consumed", status_code=202)
        content_type = headers.get("content-type", "")
        payload_bytes = body
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "payload" not in form:
                raise _Reject(400, "bad_request", "form body without a 'payload' field", event)
            payload_bytes = form["payload"][0].encode()
        payload = self._json(payload_bytes, "body", event)
        if not isinstance(payload, dict):
            raise _Reject(400, "bad_request", "body is not a JSON object", event)
        repo = payload.get("repository")
        key = str(repo.get("full_name") or "") if isinstance(repo, dict) else ""
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

    # -- Slack -------------------------------------------------------------------------------
    async def slack(self, request: Request) -> Response:
        try:
            return await self._slack(request)
        except _Reject as exc:
            return self._rejected("slack", exc)

    async def _slack(self, request: Request) -> Response:
        body = await self._body(request)
        headers = request.headers
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
            GATEWAY_REQUESTS.labels("slack", "interactive", "ignored").inc()
            return PlainTextResponse(
                "ignored: slash commands and interactive payloads are not ingested", status_code=202
            )
        payload = self._json(body, "body", "unknown")
        if not isinstance(payload, dict):
            raise _Reject(400, "bad_request", "body is not a JSON object")
        ptype = payload.get("type")
        if ptype == "url_verification":
            GATEWAY_REQUESTS.labels("slack", "url_verification", "handshake").inc()
            return JSONResponse({"challenge": payload.get("challenge", "")})
        if ptype != "event_callback":
            GATEWAY_REQUESTS.labels("slack", "other", "ignored").inc()
            return PlainTextResponse(
                f"ignored: envelope type {ptype!r} is not ingested", status_code=202
            )
        event = payload.get("event")
        event_id = payload.get("event_id")
        if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
            raise _Reject(
                400, "bad_request", "event_callback without an 'event' object and an 'event_id'"
            )
        etype = str(event.get("type") or "")
        if etype not in SUPPORTED_SLACK_EVENTS:
            GATEWAY_REQUESTS.labels("slack", "other", "ignored").inc()
            return PlainTextResponse(f"ignored: event {etype!r} is not consumed", status_code=202)
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


def run_gateway(
    settings: GatewaySettings | None = None, kafka: KafkaSettings | None = None
) -> None:
    """Serve the gateway with uvicorn until SIGTERM/SIGINT (``agentstream gateway``).

    A signal stops accepting connections, lets requests in progress finish (their records are
    acknowledged or answered 503), flushes the producer and returns, so the process exits 0.
    """
    import uvicorn  # noqa: PLC0415

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # uvicorn re-raises a captured signal after shutting down, which ends the process
            # "killed by SIGTERM"; a clean stop is not a failure.
            super().handle_exit(sig, frame)
            self._captured_signals.clear()

    gateway = Gateway(settings, kafka)
    config = uvicorn.Config(
        gateway.app,
        host=gateway.settings.host,
        port=gateway.settings.port,
        log_level="info",
        access_log=False,
        lifespan="on",
    )
    _Server(config).run()


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
