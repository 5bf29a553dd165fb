"""Schema I/O of an agent's declared types, done at start instead of on the first record.

A serde fetches or registers a writer schema the first time it meets a type (a Kafka read of
``_agentstream.schemas`` or a Schema Registry request). On the event loop that would stall every
key while it waits, so the agent does it once, off the loop, before it consumes: the types it
emits (``emits``/``emits_to``) and its dead letters are registered, and the writer versions of the
types its handlers take are resolved. What remains a miss later (a writer version registered
after start, a type nobody declared) is bounded by the store's ``lookup_timeout`` or the
registry client's timeout. A failure here (broker or registry down, a schema refused) is
logged and start-up goes on: the first record of the type meets it again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agentstream.errors import AgentStreamError
from agentstream.events import DeadLetter
from agentstream.runtime._agent import Agent
from agentstream.schemas import Record
from agentstream.serde import warm

__all__ = ["warm_codec"]

log = logging.getLogger("agentstream.runtime")


def _records(classes: Any) -> list[type[Record]]:
    return [c for c in classes if isinstance(c, type) and issubclass(c, Record)]


def warm_codec(codec: object, agent: Agent, *, dlq_topic: str) -> None:
    """Warm ``codec`` (blocking: call from a worker thread) for what ``agent`` declares."""
    encodes: list[tuple[str | None, type[Record]]] = [(dlq_topic, DeadLetter)]
    for topic, classes in agent.emits_to.items():
        encodes += [(topic, c) for c in _records(classes)]
    placed = {c for _, c in encodes}
    encodes += [(None, c) for c in _records(agent.emits) if c not in placed]
    decodes = [(s.topic, s.event_type) for s in agent.handlers if _records([s.event_type])]
    started = time.monotonic()
    try:
        warm(codec, encodes=encodes, decodes=decodes)
    except AgentStreamError as exc:  # the first record of a type then tries again, bounded
        log.warning("could not prepare the schemas of agent %s at start: %s", agent.name, exc)
        return
    log.info("schemas of %d emitted and %d handled type(s) ready in %.2fs",
             len(encodes), len(decodes), time.monotonic() - started)
