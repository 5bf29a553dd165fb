"""A tiny threaded HTTP server for /metrics, /healthz, /readyz and read-only JSON endpoints.

It runs on a daemon thread with the standard library's ThreadingHTTPServer so that it never
blocks an agent's event loop and adds no dependency; JSON routes let other parts (memory queries,
workflow runs) expose read endpoints on the same port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

__all__ = ["OpsServer"]

Check = Callable[[], tuple[bool, str]]
JsonRoute = Callable[[str, dict[str, list[str]]], tuple[int, Any]]


class OpsServer:
    """Serve ops endpoints on ``host:port`` (port 0 picks a free one; see ``.port``).

    - ``/metrics``: Prometheus text format of the default registry.
    - ``/healthz``: 200 while the process is alive and every liveness check passes.
    - ``/readyz``: 200 once every readiness check passes (e.g. partitions assigned, state restored).
    - ``add_json_route(prefix, fn)``: ``fn(rest_of_path, query) -> (status, json_body)``.
    """

    def __init__(self, *, host: str = "0.0.0.0", port: int = 0) -> None:
        self._liveness: dict[str, Check] = {}
        self._readiness: dict[str, Check] = {}
        self._routes: dict[str, JsonRoute] = {}
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def add_liveness(self, name: str, check: Check) -> None:
        self._liveness[name] = check

    def add_readiness(self, name: str, check: Check) -> None:
        self._readiness[name] = check

    def add_json_route(self, prefix: str, route: JsonRoute) -> None:
        self._routes[prefix.rstrip("/")] = route

    def start(self) -> OpsServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="agentstream-ops", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @staticmethod
    def _run_checks(checks: dict[str, Check]) -> tuple[int, dict[str, Any]]:
        results: dict[str, Any] = {}
        ok = True
        for name, check in checks.items():
            try:
                passed, detail = check()
            except Exception as exc:
                passed, detail = False, f"check raised {type(exc).__name__}: {exc}"
            results[name] = {"ok": passed, "detail": detail}
            ok = ok and passed
        return (200 if ok else 503), {"ok": ok, "checks": results}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # probes every few seconds would flood the agent's log

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, obj: Any) -> None:
                self._send(status, json.dumps(obj, default=str).encode(), "application/json")

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                path = url.path.rstrip("/") or "/"
                if path == "/metrics":
                    self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._json(*server._run_checks(server._liveness))
                elif path == "/readyz":
                    self._json(*server._run_checks(server._readiness))
                else:
                    for prefix, route in server._routes.items():
                        if path == prefix or path.startswith(prefix + "/"):
                            status, body = route(
                                path[len(prefix) :].lstrip("/"), parse_qs(url.query)
                            )
                            self._json(status, body)
                            return
                    self._json(404, {"error": f"no such endpoint: {url.path}"})

        return Handler
