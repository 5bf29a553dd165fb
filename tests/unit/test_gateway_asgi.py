"""The gateway's own ASGI steps (body limit, headers, mount paths), its settings and raw ids."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agentstream.connectors import GatewaySettings
from agentstream.connectors._asgi import (
    Disconnected,
    TooLarge,
    headers_of,
    json_answer,
    read_body,
    route_path,
    send_answer,
    text_answer,
)
from agentstream.connectors._gateway import _tcp_listener
from agentstream.connectors._raw import RAW_NAMESPACE, raw_id


def _receiver(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> MutableMapping[str, Any]:
        return queue.pop(0)

    return receive


def _read(receive: Any, headers: dict[str, str], limit: int) -> bytes:
    return asyncio.run(read_body(receive, headers, limit))


def test_read_body_joins_chunks_and_stops_at_the_limit() -> None:
    chunks = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": True},
        {"type": "http.request", "body": b"e", "more_body": False},
    ]
    assert _read(_receiver(*chunks), {}, 5) == b"abcde"
    assert _read(_receiver({"type": "http.request", "body": b"one"}), {}, 5) == b"one"
    assert _read(_receiver({"type": "http.request"}), {}, 5) == b""
    with pytest.raises(TooLarge) as exc:
        _read(_receiver(*chunks), {}, 4)
    assert exc.value.limit == 4 and exc.value.declared is None


def test_read_body_refuses_a_declared_length_over_the_limit_without_reading() -> None:
    def receive() -> Any:
        raise AssertionError("the body must not be read")

    with pytest.raises(TooLarge) as exc:
        _read(receive, {"content-length": "11"}, 10)
    assert exc.value.declared == 11


def test_read_body_reports_a_client_gone_before_the_end() -> None:
    receive = _receiver(
        {"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}
    )
    with pytest.raises(Disconnected):
        _read(receive, {}, 100)


def test_headers_keep_the_first_of_repeated_values() -> None:
    scope = {
        "headers": [(b"x-github-event", b"push"), (b"x-github-event", b"ping"), (b"a", b"\xe9")]
    }
    assert headers_of(scope) == {"x-github-event": "push", "a": "é"}


def test_route_path_is_the_path_below_the_mount_point() -> None:
    assert route_path({"path": "/webhooks/github"}) == "/webhooks/github"
    assert route_path({"path": "/in/webhooks/github", "root_path": "/in"}) == "/webhooks/github"
    assert route_path({"path": "/other", "root_path": "/in"}) == "/other"


def test_answers_carry_length_type_and_extra_headers() -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(send_answer(send, text_answer("unavailable: x", 503, ((b"retry-after", b"7"),))))
    start, body = sent
    assert start["status"] == 503 and body["body"] == b"unavailable: x"
    assert dict(start["headers"]) == {
        b"content-type": b"text/plain; charset=utf-8",
        b"content-length": b"14",
        b"retry-after": b"7",
    }
    # The same compact JSON Starlette's JSONResponse sends.
    assert (
        json_answer({"status": "stored", "id": "é"}).body == '{"status":"stored","id":"é"}'.encode()
    )


@given(st.sampled_from(["github", "slack", "ics"]), st.text())
def test_raw_id_is_uuid5_of_source_and_delivery(source: str, key: str) -> None:
    assert raw_id(source, key) == str(uuid.uuid5(RAW_NAMESPACE, f"{source}\0{key}"))


def test_workers_and_linger_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().workers == 1
    monkeypatch.setenv("AGENTSTREAM_GATEWAY_WORKERS", "3")
    monkeypatch.setenv("AGENTSTREAM_GATEWAY_LINGER", "PT0.005S")
    s = GatewaySettings()
    assert s.workers == 3 and s.linger == timedelta(milliseconds=5)
    with pytest.raises(ValidationError, match="workers"):
        GatewaySettings(workers=0)


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection asyncio accepts on ``listener`` (as uvicorn's workers do)."""

    async def main() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    return asyncio.run(main())


def test_worker_sockets_accept_connections_without_nagle() -> None:
    import uvicorn  # noqa: PLC0415

    # uvicorn's bound socket says proto 0 (asyncio then leaves Nagle on for accepted sockets).
    config = uvicorn.Config(lambda: None, host="127.0.0.1", port=0, log_level="warning")
    listener = _tcp_listener(config.bind_socket())
    assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()
    assert _tcp_listener(listener) is listener  # already TCP: left as it is
    assert _nodelay_of_accepted(listener) != 0
