"""Helpers for the reference-product service tests: service processes, events, HTTP polls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.schemas import Record
from agentstream.serde import Serde, make_serde
from agentstream.testing import WaitTimeoutError, produce

ROOT = Path(__file__).resolve().parents[2]


def serde_for(bootstrap: str) -> Serde:
    return make_serde(KafkaSettings(bootstrap_servers=bootstrap))


def publish(bootstrap: str, topic: str, events: list[Record], serde: Serde | None = None) -> None:
    s = serde or serde_for(bootstrap)
    produce(bootstrap, topic, [(e.meta.subject.encode(), s.encode(topic, e)) for e in events])


def spawn(module: str, bootstrap: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m module`` with only the given AGENTSTREAM_* variables (others are dropped)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap,
        "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    full.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=full, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def wait_for(predicate: Callable[[], Any], *, timeout: timedelta, what: str,
             poll: float = 0.2) -> Any:  # fmt: skip
    """Poll ``predicate()`` until it returns a truthy value (errors count as not yet)."""
    deadline = time.monotonic() + timeout.total_seconds()
    last: Any = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"waited {timeout} for {what} (last error: {last})")
        time.sleep(poll)
