"""``Context``: what a handler may do besides computing: emit events, write raw records, log.

Emitted records are not awaited by the handler (sends are queued); the runtime awaits every
acknowledgement before the input counts as finished, so its offset is never committed before
its outputs are durable (and, in exactly-once mode, they share its transaction).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from agentstream import shadow
from agentstream.errors import UnknownStoreError
from agentstream.schemas import new_meta

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from agentstream.events import EventMeta
    from agentstream.memory import StoreManager
    from agentstream.runtime._durable import Durable
    from agentstream.runtime._memory import AgentMemory, BoundStore
    from agentstream.shadow import ShadowRun

__all__ = ["Context", "Sender"]

# Namespace of output ids: uuid5(namespace, agent + input + n) makes re-emissions after a crash or
# a retry carry the same id as the first emission, so downstream dedupe recognises them.
_ID_NAMESPACE = uuid.UUID("5f3c7f5e-8a0b-4d51-9a55-6a2c1b7e0d11")


class Sender(Protocol):
    """What the context needs from the runtime (the agent's producer and serde).

    A send returns the record's acknowledgement as a future (kept in ``Context.acks``), or
    ``None`` when the sender tracks it itself (the engine counts it into the attempt's ``Acks``).
    """

    def send_record(
        self, topic: str, record: Any, *, key: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> asyncio.Future[None] | None: ...

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        headers: Sequence[tuple[str, bytes]],
    ) -> asyncio.Future[None] | None: ...


class Context:
    """Handed to each handler call with the input's coordinates.

    Attributes: ``agent`` (name), ``event`` (the decoded input), ``topic``, ``partition``,
    ``offset``, ``key``, ``attempt`` (1-based), ``log`` (a logger naming the agent and input).
    ``store(name)`` is a memory store of the agent, bound to the input's partition;
    ``schedule``/``cancel_timer`` use the agent's durable timers (``Agent(..., timers=True)``).
    ``shadow`` is the shadow run the handler runs in (None in production): ``emit`` and
    ``schedule`` then write to its shadow topics, and the handler must skip effects outside
    Kafka (docs/shadow.md).
    """

    def __init__(
        self,
        *,
        agent: str,
        event: Any,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        attempt: int,
        dedupe_key: str,
        sender: Sender,
        memory: AgentMemory | None = None,
        durable: Durable | None = None,
    ) -> None:
        self.agent = agent
        self.event = event
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.attempt = attempt
        self._dedupe_key = dedupe_key
        self._sender = sender
        self._memory = memory
        self._durable = durable
        self._emitted = 0
        self._made: set[str] = set()
        # Acknowledgements the sender returned as futures (the engine's sender counts its own).
        self.acks: list[asyncio.Future[None]] = []
        self.emitted: list[tuple[str, str]] = []  # (topic, type) for metrics

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger naming the agent, with the input's topic, partition and offset as extras."""
        return logging.LoggerAdapter(
            logging.getLogger(f"agentstream.agent.{self.agent}"),
            {"topic": self.topic, "partition": self.partition, "offset": self.offset},
        )

    @property
    def shadow(self) -> ShadowRun | None:
        """The shadow run this handler runs in (``agentstream shadow``), None in production."""
        return shadow.current()

    def store(self, name: str) -> BoundStore:
        """The agent's key-value store ``name`` on this input's partition: ``get``, ``put``,
        ``delete``. Writes go to its changelog and commit with this input (acknowledged before
        its offset commits; the same transaction in exactly-once mode). Raises
        ``UnknownStoreError`` for an undeclared store."""
        return self._require_memory(name).bound(name, self.partition)

    @property
    def stores(self) -> StoreManager:
        """The agent's ``StoreManager`` (fact stores: ``ctx.stores.facts(name)``, with
        ``ctx.partition``)."""
        return self._require_memory("?").manager

    async def schedule(
        self,
        event: Any,
        *,
        topic: str,
        at: datetime | None = None,
        after: timedelta | None = None,
        key: bytes | str | None = None,
    ) -> str:
        """Publish ``event`` to ``topic`` later: at ``at`` (aware) or ``after`` from now.

        Meta is filled as by ``emit`` (deterministic id); the timer id (returned) is that event
        id, so a redelivered input finds the timer it scheduled — pending, fired or cancelled —
        and leaves it as it is: its due time and its firing are decided once. The timer is
        stored durably before this returns and survives restarts; a firing repeated after a
        crash (at-least-once) carries the same event id and ``fire_id``; under exactly-once a
        read_committed reader sees each firing once.
        """
        if self._durable is None:
            raise RuntimeError("ctx.schedule needs the agent runner (Agent(..., timers=True))")
        record = self._filled(event)
        k = key if key is not None else record.meta.subject
        ks = k.decode() if isinstance(k, bytes) else k
        return await self._durable.schedule(
            record, topic=shadow.output_topic(topic), key=ks, at=at, after=after,
            partition=self.partition,
        )

    async def cancel_timer(self, timer_id: str) -> bool:
        """Cancel a timer made by ``schedule``; False if it is unknown (fired or cancelled)."""
        if self._durable is None:
            raise RuntimeError("ctx.cancel_timer needs the agent runner (Agent(..., timers=True))")
        return await self._durable.cancel(timer_id, partition=self.partition)

    def _require_memory(self, name: str) -> AgentMemory:
        if self._memory is None:
            raise UnknownStoreError(
                f"agent {self.agent} declares no memory stores (asked for {name!r}); declare "
                "them with Agent(..., stores=[StoreSpec(...)]) or agent.store(StoreSpec(...))"
            )
        return self._memory

    @property
    def _input_meta(self) -> Any:
        return getattr(self.event, "meta", None)

    def _next_id(self) -> str:
        self._emitted += 1
        return _uuid5(self.agent, f"{self._dedupe_key}\0{self._emitted}")

    def meta(self, event_type: type[Any] | str, *, subject: str | None = None) -> EventMeta:
        """An ``EventMeta`` for an event caused by the input: deterministic id, causation = input
        id, correlation and traceparent carried, source = ``agent.<name>``, subject defaulting to
        the input's subject."""
        cause = self._input_meta
        meta = new_meta(
            event_type,
            source=f"agent.{self.agent}",
            subject=subject if subject is not None else str(getattr(cause, "subject", "")),
            correlation_id=getattr(cause, "correlation_id", None),
            causation_id=getattr(cause, "id", None),
            traceparent=getattr(cause, "traceparent", None),
        )
        event_id = self._next_id()
        self._made.add(event_id)
        return _evolve(meta, id=event_id)

    def _filled(self, event: Any) -> Any:
        meta = getattr(event, "meta", None)
        if meta is None:
            return dataclasses.replace(event, meta=self.meta(type(event)))
        cause = getattr(self.event, "meta", None)
        fields = meta.__dict__.copy()
        fields["type"] = type(event).FULLNAME
        if cause is not None:
            fields["causation_id"] = cause.id
            fields["correlation_id"] = cause.correlation_id
            if meta.traceparent is None:
                fields["traceparent"] = cause.traceparent
            if meta.id not in self._made:
                # Ids not made by ctx.meta() are replaced by deterministic ones, so that a
                # retried or redelivered handler emits the same ids again.
                fields["id"] = self._next_id()
        return _evolve(event, meta=_adopt(type(meta), fields))

    async def emit(
        self,
        event: Any,
        *,
        topic: str,
        key: bytes | str | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Publish ``event`` to ``topic``, keyed by ``key`` (default: ``meta.subject``).

        Meta is filled from the input: causation_id = input id, correlation_id and traceparent
        carried, a deterministic id. Returns once queued; acknowledgement is awaited by the
        runtime before the input's offset may be committed. Inside a shadow run the record goes
        to ``agentstream.shadow.output_topic(topic)`` instead.
        """
        topic = shadow.output_topic(topic)
        record = self._filled(event)
        k = key if key is not None else record.meta.subject
        kb = k.encode() if isinstance(k, str) else k
        ack = self._sender.send_record(topic, record, key=kb, headers=headers)
        if ack is not None:
            self.acks.append(ack)
        self.emitted.append((topic, type(record).FULLNAME))

    async def produce_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Write raw bytes through the agent's producer (same transaction, same "acked before
        commit" rule as ``emit``); the hook for memory changelogs."""
        ack = self._sender.send_raw(topic, key, value, headers=headers)
        if ack is not None:
            self.acks.append(ack)


_NAMESPACE_BYTES = _ID_NAMESPACE.bytes
_R = TypeVar("_R")


def _uuid5(agent: str, rest: str) -> str:
    """``str(uuid.uuid5(_ID_NAMESPACE, f"{agent}\\0{rest}"))`` without building UUID objects, the
    namespace and agent prefix hashed once per agent (this runs for every emit)."""
    prefix = _PREFIXES.get(agent)
    if prefix is None:
        prefix = _PREFIXES[agent] = hashlib.sha1(
            _NAMESPACE_BYTES + f"{agent}\0".encode(), usedforsecurity=False
        )
    sha = prefix.copy()
    sha.update(rest.encode())
    h = sha.hexdigest()
    # Version 5 in the 13th hex digit, the RFC 4122 variant in the 17th (its two top bits 10).
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_PREFIXES: dict[str, Any] = {}
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def _adopt(cls: type[_R], fields: dict[str, Any]) -> _R:
    """A generated record of ``cls`` holding ``fields`` (already validated) as its ``__dict__``."""
    new = object.__new__(cls)
    object.__setattr__(new, "__dict__", fields)
    return new


def _evolve(obj: _R, **changes: Any) -> _R:
    """``dataclasses.replace`` for generated records without re-running ``__init__``.

    Generated records are frozen dataclasses whose fields were validated when they were built;
    a copy with a few fields swapped needs no second validation (this runs for every emit).
    """
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new
