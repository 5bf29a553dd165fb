"""Avro wire formats behind one API: ``Serde.encode(topic, record)`` / ``decode(topic, bytes)``.

``make_serde(settings)`` picks the format: Confluent framing through a Schema Registry when
``settings.schema_registry_url`` is set (``RegistrySerde``), else Avro single-object encoding with
writer schemas kept in the compacted ``_agentstream.schemas`` topic (``SingleObjectSerde``).
"""

from __future__ import annotations

from agentstream.errors import DecodeError, EncodeError
from agentstream.serde._api import Serde, decode_off_loop, make_serde, warm
from agentstream.serde._read import read_events
from agentstream.serde._registry import RegistrySerde
from agentstream.serde._single import MAGIC, SingleObjectSerde
from agentstream.serde._store import (
    SCHEMA_TOPIC,
    InMemorySchemaStore,
    KafkaSchemaStore,
    SchemaStore,
)

__all__ = [
    "MAGIC",
    "SCHEMA_TOPIC",
    "DecodeError",
    "EncodeError",
    "InMemorySchemaStore",
    "KafkaSchemaStore",
    "RegistrySerde",
    "SchemaStore",
    "Serde",
    "SingleObjectSerde",
    "decode_off_loop",
    "make_serde",
    "read_events",
    "warm",
]
