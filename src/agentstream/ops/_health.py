"""Readiness checks shared by every process: is the broker reachable right now?"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from agentstream.bus import make_admin

__all__ = ["broker_check"]


def broker_check(
    client_config: dict[str, Any], *, timeout: float = 3.0, cache_seconds: float = 5.0
) -> Callable[[], tuple[bool, str]]:
    """An ``OpsServer.add_readiness`` check: the cluster answers a metadata request.

    The answer is cached for ``cache_seconds`` so that frequent probes do not each cost a
    round trip; the admin client is created on first use and reused.
    """
    lock = threading.Lock()
    state: dict[str, Any] = {"at": 0.0, "result": (False, "not checked yet"), "admin": None}

    def check() -> tuple[bool, str]:
        with lock:
            if time.monotonic() - state["at"] < cache_seconds:
                return state["result"]  # type: ignore[no-any-return]
            if state["admin"] is None:
                state["admin"] = make_admin(dict(client_config))
            try:
                md = state["admin"].list_topics(timeout=timeout)
                result = (True, f"{len(md.brokers)} broker(s) reachable")
            except Exception as exc:
                result = (False, f"broker unreachable: {exc}")
            state["at"], state["result"] = time.monotonic(), result
            return result

    return check
