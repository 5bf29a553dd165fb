"""The ``Serde`` protocol and ``make_serde``, which picks the wire format from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from agentstream.config import KafkaSettings
from agentstream.schemas import CompatibilityMode, Record
from agentstream.serde._registry import RegistrySerde
from agentstream.serde._single import SingleObjectSerde
from agentstream.serde._store import KafkaSchemaStore

__all__ = ["Serde", "make_serde"]


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
