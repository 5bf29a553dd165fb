"""Confluent Schema Registry wire format (magic 0 + 4-byte schema id + Avro body).

Encoding and decoding go through confluent-kafka's own ``AvroSerializer``/``AvroDeserializer``, so
bytes interoperate with every Confluent client. Subjects follow TopicRecordNameStrategy
(``<topic>-<record full name>``) so several event types share one topic. Before the first write of
a type to a topic, the new schema is checked against the subject's latest version with our
checker too (the registry checks again with its own configuration).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    SchemaRegistryError,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from agentstream.errors import DecodeError
from agentstream.schemas._compat import (
    CompatibilityMode,
    check_compatibility,
    reader_writer_problems,
)
from agentstream.schemas._loader import strip_uuid
from agentstream.schemas._record import Record, all_records, parsed_schema
from agentstream.serde._single import encode_error

__all__ = ["RegistrySerde"]


def _uuids_as_str(value: Any) -> Any:
    # fastavro applies the *writer's* uuid annotation, so ids arrive as uuid.UUID; the contract
    # types them as str.
    if isinstance(value, dict):
        return {k: _uuids_as_str(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_uuids_as_str(v) for v in value]
    return str(value) if isinstance(value, uuid.UUID) else value


class RegistrySerde:
    """Confluent-framed Avro through a Schema Registry (``mock://name`` URLs use confluent's mock).

    ``registry`` is a URL or a ready ``SchemaRegistryClient``. ``auto_register`` (default True)
    registers new schemas; ``compatibility`` (default BACKWARD) is checked before registering.
    """

    def __init__(
        self,
        registry: str | SchemaRegistryClient,
        *,
        reader_records: Mapping[str, type[Record]] | None = None,
        compatibility: CompatibilityMode = "BACKWARD",
        auto_register: bool = True,
    ) -> None:
        self.client = (
            SchemaRegistryClient.new_client({"url": registry})
            if isinstance(registry, str)
            else registry
        )
        self.compatibility: CompatibilityMode = compatibility
        self.auto_register = auto_register
        self._readers = dict(reader_records) if reader_records is not None else all_records()
        self._ser: dict[tuple[str, type[Record]], AvroSerializer] = {}
        self._de: dict[int, tuple[type[Record], AvroDeserializer]] = {}
        self._lock = threading.Lock()

    def _serializer(self, topic: str, cls: type[Record]) -> AvroSerializer:
        with self._lock:
            ser = self._ser.get((topic, cls))
            if ser is None:
                self._check(topic, cls)
                ser = AvroSerializer(
                    self.client,
                    json.dumps(cls.SCHEMA),
                    to_dict=lambda rec, _ctx: rec.to_avro(),
                    conf={
                        "auto.register.schemas": self.auto_register,
                        "subject.name.strategy": topic_record_subject_name_strategy,
                    },
                )
                self._ser[(topic, cls)] = ser
            return ser

    def _check(self, topic: str, cls: type[Record]) -> None:
        subject = f"{topic}-{cls.FULLNAME}"
        try:
            latest = self.client.get_latest_version(subject)
        except SchemaRegistryError:
            return  # no version yet: nothing to be compatible with
        previous = json.loads(str(latest.schema.schema_str))
        check_compatibility(subject, cls.SCHEMA, [previous], mode=self.compatibility)

    def encode(self, topic: str, record: Record) -> bytes:
        """Confluent-framed bytes for ``record``; raises ``EncodeError`` naming a bad field."""
        cls = type(record)
        ser = self._ser.get((topic, cls)) or self._serializer(topic, cls)
        try:
            data = ser(record, SerializationContext(topic, MessageField.VALUE))
        except Exception as exc:
            raise encode_error(record, parsed_schema(cls), exc) from exc
        assert data is not None
        return data

    def decode(self, topic: str, data: bytes, *, partition: int = -1, offset: int = -1) -> Record:
        """The record in ``data``; raises ``DecodeError`` saying where and why it failed."""
        if len(data) < 5:
            reason = "truncated" if data[:1] in (b"", b"\x00") else "bad-magic"
            raise DecodeError(topic, partition, offset, reason, f"{len(data)} bytes")
        if data[0] != 0:
            raise DecodeError(topic, partition, offset, "bad-magic", f"first byte {data[0]:#04x}")
        schema_id = int.from_bytes(data[1:5], "big")
        entry = self._de.get(schema_id) or self._resolve(schema_id, topic, partition, offset)
        cls, de = entry
        try:
            value: Any = de(data, SerializationContext(topic, MessageField.VALUE))
        except (EOFError, IndexError) as exc:  # fastavro's C reader: IndexError = out of bytes
            raise DecodeError(topic, partition, offset, "truncated", repr(exc)) from exc
        except Exception as exc:
            raise DecodeError(topic, partition, offset, "corrupt", repr(exc)) from exc
        return cls.from_avro(value)

    def _resolve(
        self, schema_id: int, topic: str, partition: int, offset: int
    ) -> tuple[type[Record], AvroDeserializer]:
        try:
            writer = json.loads(str(self.client.get_schema(schema_id).schema_str))
        except SchemaRegistryError as exc:
            raise DecodeError(
                topic, partition, offset, "unknown-schema-id", f"id {schema_id}: {exc}"
            ) from exc
        name = str(writer.get("name")) if isinstance(writer, dict) else str(writer)
        cls = self._readers.get(name)
        if cls is None:
            raise DecodeError(topic, partition, offset, "unknown-type", name)
        problems = reader_writer_problems(cls.SCHEMA, writer)
        if problems:
            raise DecodeError(
                topic, partition, offset, "incompatible-schema",
                f"writer {name} (id {schema_id}) vs this reader: {'; '.join(problems)}",
            )
        de = AvroDeserializer(
            self.client,
            json.dumps(strip_uuid(cls.SCHEMA)),
            from_dict=lambda value, _ctx: _uuids_as_str(value),
        )
        with self._lock:
            self._de[schema_id] = (cls, de)
        return cls, de
