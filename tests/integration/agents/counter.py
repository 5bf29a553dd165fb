"""A test agent with memory: folds per-entity totals of PullRequestOpened events into a store.

Configured through plain (non-AGENTSTREAM_) environment variables: COUNTER_AGENT (name),
COUNTER_IN (topic), COUNTER_LOG (file: one line per handled event, fsynced), COUNTER_DELAY_MS
(max random delay per event), COUNTER_IDEMPOTENT=1 (the reducer skips events it folded already:
per entity, ``number`` only grows, so a replay after a crash is recognised), COUNTER_BACKEND
(the stores' backend, default ``memory``).

Store ``totals``: ``{"count", "sum", "last"}`` per subject; store ``titles``: written by hand.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

from agentstream.events import PullRequestOpened
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context

agent = Agent(os.environ.get("COUNTER_AGENT", "counter"), version="1.0.0")
_LOG = os.environ.get("COUNTER_LOG")
_DELAY = float(os.environ.get("COUNTER_DELAY_MS", "0")) / 1000
_IDEMPOTENT = os.environ.get("COUNTER_IDEMPOTENT") == "1"
_BACKEND: Any = os.environ.get("COUNTER_BACKEND", "memory")
_fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if _LOG else None


def fold(state: dict[str, int] | None, event: Any) -> dict[str, int] | None:
    if not isinstance(event, PullRequestOpened):
        return state
    s = state or {"count": 0, "sum": 0, "last": -1}
    if _IDEMPOTENT and event.number <= s["last"]:
        return s
    return {"count": s["count"] + 1, "sum": s["sum"] + event.number, "last": event.number}


agent.store(StoreSpec("totals", reducer=fold, backend=_BACKEND))
agent.store(StoreSpec("titles", backend=_BACKEND))


@agent.handler(PullRequestOpened, topic=os.environ.get("COUNTER_IN", "in"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    if _DELAY:
        await asyncio.sleep(random.uniform(0, _DELAY))
    ctx.store("titles").put(event.meta.subject, event.title)
    if _fd is not None:
        os.write(_fd, f"{event.meta.id} {event.meta.subject} {event.number}\n".encode())
        os.fsync(_fd)
