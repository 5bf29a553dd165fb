"""A local stand-in for Slack's incoming-webhook endpoint: records each JSON body it is sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookStub:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_next = 0  # answer 500 this many times first
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url


@contextmanager
def webhook_stub() -> Iterator[WebhookStub]:
    stub = WebhookStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with stub.lock:
                failing = stub.fail_next > 0
                if failing:
                    stub.fail_next -= 1
                else:
                    stub.posts.append(json.loads(body))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"oops" if failing else b"ok")  # Slack answers "ok"

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub._url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
