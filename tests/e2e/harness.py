"""Processes for console tests: ``agentstream console`` on a free port, and waiting for HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agentstream.localkafka import free_port

ROOT = Path(__file__).resolve().parents[2]


def child_env(bootstrap: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return {**env, "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap, "PYTHONPATH": str(ROOT), **extra}


def wait_http(url: str, *, timeout: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last: {last})")


class Console:
    """``agentstream console`` as a child process on a free port."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_console(
    bootstrap: str, tmp: Path, *, host: str = "127.0.0.1", token: str | None = None,
    wait: bool = True, **settings: Any,
) -> Console:
    port = free_port()
    env = child_env(bootstrap, AGENTSTREAM_CONSOLE_HOST=host, AGENTSTREAM_CONSOLE_PORT=str(port))
    if token is not None:
        env["AGENTSTREAM_CONSOLE_TOKEN"] = token
    for key, value in settings.items():
        env[f"AGENTSTREAM_CONSOLE_{key.upper()}"] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    log = tmp / f"console-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentstream.cli", "console"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    console = Console(proc, port, log)
    if wait:
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else None
            wait_http(f"{console.url}/healthz", timeout=60, headers=headers)
        except TimeoutError:
            console.stop()
            raise AssertionError(f"console did not start: {log.read_text()[-2000:]}") from None
    return console
