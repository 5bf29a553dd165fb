"""The ``Serde`` protocol and ``make_serde``, which picks the wire format from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Protocol

from agentstream.config import KafkaSettings
from agentstream.errors import SchemaStoreError
from agentstream.schemas import CompatibilityMode, Record
from agentstream.serde._registry import RegistrySerde
from agentstream.serde._single import SingleObjectSerde
from agentstream.serde._store import KafkaSchemaStore

__all__ = ["Serde", "decode_off_loop", "make_serde", "warm"]


class Serde(Protocol):
    """Turns records into message values and back. Implementations are thread-safe."""

    def encode(self, topic: str, record: Record) -> bytes:
        """The message value for ``record`` on ``topic``; raises ``EncodeError``."""
        ...

    def decode(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> Record:
        """The record in a message value; raises ``DecodeError`` (with topic/partition/offset)."""
        ...


def make_serde(
    settings: KafkaSettings,
    *,
    reader_records: Mapping[str, type[Record]] | None = None,
    compatibility: CompatibilityMode = "BACKWARD",
) -> Serde:
    """The serde for ``settings``: ``RegistrySerde`` if ``schema_registry_url`` is set, else
    ``SingleObjectSerde`` over the ``_agentstream.schemas`` topic.

    ``reader_records`` (default: every generated class) is what decoding produces, by Avro full
    name. ``compatibility`` (default BACKWARD) is checked when a new schema version registers.
    Creating the serde does not connect; the first encode of a type or first unknown schema does.
    """
    if settings.schema_registry_url:
        return RegistrySerde(
            settings.schema_registry_url,
            reader_records=reader_records,
            compatibility=compatibility,
        )
    return SingleObjectSerde(
        KafkaSchemaStore(settings, compatibility=compatibility), reader_records=reader_records
    )


def warm(
    serde: object,
    *,
    encodes: Iterable[tuple[str | None, type[Record]]] = (),
    decodes: Iterable[tuple[str, type[Record]]] = (),
) -> None:
    """``serde.warm(...)`` when the serde has it (both AgentStream serdes do; a custom codec may
    not): the schema I/O of the classes a process will encode and decode, done now. Blocking:
    call it from a worker thread at start, before records flow."""
    method = getattr(serde, "warm", None)
    if method is not None:
        method(encodes=list(encodes), decodes=list(decodes))


async def decode_off_loop(
    serde: Serde,
    topic: str,
    data: bytes | None,
    *,
    partition: int = -1,
    offset: int = -1,
    timeout: timedelta = timedelta(seconds=10),
) -> Record:
    """``serde.decode`` for a coroutine: a record whose writer schema is cached decodes inline;
    one that needs a lookup (``serde.needs_lookup``) decodes on a worker thread, so the event
    loop keeps running other keys meanwhile, and fails with ``SchemaStoreError`` after
    ``timeout`` (default 10 s; the lookup still completes and is cached)."""
    needs = getattr(serde, "needs_lookup", None)
    if needs is None or not needs(data):
        return serde.decode(topic, data, partition=partition, offset=offset)
    work = asyncio.to_thread(serde.decode, topic, data, partition=partition, offset=offset)
    try:
        return await asyncio.wait_for(work, timeout.total_seconds())
    except TimeoutError:
        raise SchemaStoreError(
            f"looking up the writer schema of {topic!r} partition {partition} offset {offset} "
            f"took longer than {timeout}; check the schema store (topic _agentstream.schemas) "
            "or the Schema Registry"
        ) from None
