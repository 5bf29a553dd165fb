"""Confluent Schema Registry wire format (magic 0 + 4-byte big-endian schema id + Avro body).

The bytes are exactly what confluent-kafka's ``AvroSerializer`` writes and its ``AvroDeserializer``
reads (the interop tests check both directions), and subjects follow TopicRecordNameStrategy
(``<topic>-<record full name>``) so several event types share one topic. The registry is only
asked once per (topic, record type) when encoding (register, or look up when auto-register is
off) and once per schema id when decoding (fetch the writer schema); the per-message work is
fastavro plus the 5-byte header, without the serializer's per-call subject and rule machinery.
Before the first write of a type to a topic, the new schema is checked against the subject's
latest version with our checker too (the registry checks again with its own configuration).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from agentstream.errors import DecodeError, SchemaStoreError
from agentstream.schemas import (
    CompatibilityMode,
    Record,
    all_records,
    check_compatibility,
    decoding_schema,
    fingerprint,
    reader_writer_problems,
    strip_uuid,
)
from agentstream.serde._codec import Body, decode_record
from agentstream.serde._single import encode_error

__all__ = ["RegistrySerde"]

_MAGIC = 0
_HEADER_LEN = 5


def _transport_errors() -> tuple[type[Exception], ...]:
    """What confluent's client raises when the registry does not answer: the ``TransportError``
    of httpx2 (which it prefers when installed) or of httpx."""
    found: list[type[Exception]] = []
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError, AttributeError):
            found.append(importlib.import_module(module).TransportError)
    return tuple(found)


_UNANSWERED = _transport_errors()


def _unreachable(what: str, exc: Exception) -> SchemaStoreError:
    return SchemaStoreError(
        f"the Schema Registry did not answer {what} ({type(exc).__name__}: {exc}); check "
        "AGENTSTREAM_SCHEMA_REGISTRY_URL and that the registry is up"
    )


def subject_name(topic: str, cls: type[Record]) -> str:
    """The TopicRecordNameStrategy subject of ``cls`` on ``topic`` (as confluent names it)."""
    return f"{topic}-{cls.FULLNAME}"


class RegistrySerde:
    """Confluent-framed Avro through a Schema Registry (``mock://name`` URLs use confluent's mock).

    ``registry`` is a URL or a ready ``SchemaRegistryClient``. ``auto_register`` (default True)
    registers new schemas (else the schema must already be registered under the subject);
    ``compatibility`` (default BACKWARD) is checked before registering. ``timeout`` (default
    10 s) bounds each HTTP request of a client made from a URL (confluent's client has none by
    default, and retries a failed request up to 3 times); a registry that does not answer is a
    ``SchemaStoreError`` naming what was asked.
    """

    def __init__(
        self,
        registry: str | SchemaRegistryClient,
        *,
        reader_records: Mapping[str, type[Record]] | None = None,
        compatibility: CompatibilityMode = "BACKWARD",
        auto_register: bool = True,
        timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        self.client = (
            SchemaRegistryClient.new_client({"url": registry, "timeout": timeout.total_seconds()})
            if isinstance(registry, str)
            else registry
        )
        self.compatibility: CompatibilityMode = compatibility
        self.auto_register = auto_register
        self._readers = dict(reader_records) if reader_records is not None else all_records()
        # (topic, class) -> (header bytes, writer body)
        self._enc: dict[tuple[str, type[Record]], tuple[bytes, Body]] = {}
        # schema id -> (class, body: writer schema + reader schema, or None if the same)
        self._dec: dict[int, tuple[type[Record], Body]] = {}
        self._lock = threading.Lock()

    def _prepare(self, topic: str, cls: type[Record]) -> tuple[bytes, Body]:
        with self._lock:
            entry = self._enc.get((topic, cls))
            if entry is None:
                subject = subject_name(topic, cls)
                self._check(subject, cls)
                schema_id = self._schema_id(subject, cls)
                header = bytes([_MAGIC]) + schema_id.to_bytes(4, "big")
                entry = self._enc[(topic, cls)] = (header, Body(decoding_schema(cls)))
            return entry

    def _schema_id(self, subject: str, cls: type[Record]) -> int:
        # The same schema string confluent's AvroSerializer registers for the class, so the
        # registry hands both the same id.
        schema = Schema(json.dumps(cls.SCHEMA), "AVRO")
        action = "registering" if self.auto_register else "looking up"
        try:
            if self.auto_register:
                return int(self.client.register_schema(subject, schema))
            found = self.client.lookup_schema(subject, schema).schema_id
        except SchemaRegistryError as exc:
            found, problem = None, str(exc)
        except _UNANSWERED as exc:
            raise _unreachable(f"{action} {cls.FULLNAME} under {subject!r}", exc) from exc
        else:
            problem = "the registry returned no schema id"
        if found is not None:
            return int(found)
        raise SchemaStoreError(
            f"{action} {cls.FULLNAME} under subject {subject!r} in the Schema Registry failed: "
            f"{problem}; events of that type were not produced"
        )

    def _check(self, subject: str, cls: type[Record]) -> None:
        try:
            latest = self.client.get_latest_version(subject)
        except SchemaRegistryError:
            return  # no version yet: nothing to be compatible with
        except _UNANSWERED as exc:
            raise _unreachable(f"the latest version of {subject!r}", exc) from exc
        previous = json.loads(str(latest.schema.schema_str))
        check_compatibility(subject, cls.SCHEMA, [previous], mode=self.compatibility)

    def encode(self, topic: str, record: Record) -> bytes:
        """Confluent-framed bytes for ``record``; raises ``EncodeError`` naming a bad field."""
        cls = type(record)
        header, body = self._enc.get((topic, cls)) or self._prepare(topic, cls)
        buf = bytearray(header)
        try:
            body.write(buf, record.to_avro())
        except Exception as exc:  # fastavro raises ValueError/TypeError/AttributeError/...
            raise encode_error(record, body.writer, exc) from exc
        return bytes(buf)

    def warm(
        self,
        *,
        encodes: Iterable[tuple[str | None, type[Record]]] = (),
        decodes: Iterable[tuple[str, type[Record]]] = (),
    ) -> None:
        """Do the registry requests of first use now (call it off the event loop, at start):
        register (or look up) each class of ``encodes`` under its topic's subject (classes
        without a topic are skipped: the subject needs one), and fetch the latest version of
        each ``decodes`` subject so records of it decode without a request. Older writer
        versions are fetched when first met (``needs_lookup``)."""
        for topic, cls in encodes:
            if topic is not None and (topic, cls) not in self._enc:
                self._prepare(topic, cls)
        for topic, cls in decodes:
            try:
                latest = self.client.get_latest_version(subject_name(topic, cls))
            except SchemaRegistryError:
                continue  # nothing registered under it yet
            except _UNANSWERED as exc:
                raise _unreachable(f"the latest version of {subject_name(topic, cls)!r}",
                                   exc) from exc
            if latest.schema_id is not None and latest.schema_id not in self._dec:
                try:
                    self._resolve(int(latest.schema_id), topic, -1, -1)
                except DecodeError:
                    continue

    def needs_lookup(self, data: bytes | None) -> bool:
        """True when decoding ``data`` would first fetch its writer schema from the registry."""
        return (
            data is not None
            and len(data) >= _HEADER_LEN
            and data[0] == _MAGIC
            and int.from_bytes(data[1:_HEADER_LEN], "big") not in self._dec
        )

    def decode(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> Record:
        """The record in ``data``; raises ``DecodeError`` saying where and why it failed.

        An unknown schema id is fetched from the registry, blocking for up to the client's
        timeout; see ``needs_lookup``/``decode_off_loop``.
        """
        if data is None:
            raise DecodeError(topic, partition, offset, "tombstone", "null value")
        if len(data) < _HEADER_LEN:
            reason = "truncated" if data[:1] in (b"", b"\x00") else "bad-magic"
            raise DecodeError(topic, partition, offset, reason, f"{len(data)} bytes")
        if data[0] != _MAGIC:
            raise DecodeError(topic, partition, offset, "bad-magic", f"first byte {data[0]:#04x}")
        schema_id = int.from_bytes(data[1:_HEADER_LEN], "big")
        cls, body = self._dec.get(schema_id) or self._resolve(schema_id, topic, partition, offset)
        return decode_record(cls, body, data, _HEADER_LEN, (topic, partition, offset))

    def _resolve(
        self, schema_id: int, topic: str, partition: int, offset: int
    ) -> tuple[type[Record], Body]:
        try:
            registered = self.client.get_schema(schema_id)
        except _UNANSWERED as exc:
            raise _unreachable(f"for schema id {schema_id} (topic {topic!r} partition "
                               f"{partition} offset {offset})", exc) from exc
        except SchemaRegistryError as exc:
            raise DecodeError(
                topic, partition, offset, "unknown-schema-id", f"id {schema_id}: {exc}"
            ) from exc
        if registered.references:
            raise DecodeError(
                topic, partition, offset, "incompatible-schema",
                f"id {schema_id} uses schema references, which AgentStream does not resolve "
                "(its schemas are self-contained)",
            )
        writer: Any = json.loads(str(registered.schema_str))
        name = str(writer.get("name")) if isinstance(writer, dict) else str(writer)
        if isinstance(writer, dict) and writer.get("namespace") and "." not in name:
            name = f"{writer['namespace']}.{name}"
        cls = self._readers.get(name)
        if cls is None:
            raise DecodeError(topic, partition, offset, "unknown-type", name)
        if fingerprint(writer) == fingerprint(cls):
            body = Body(decoding_schema(cls))  # same schema: no resolution per message
        else:
            problems = reader_writer_problems(cls.SCHEMA, writer)
            if problems:
                raise DecodeError(
                    topic, partition, offset, "incompatible-schema",
                    f"writer {name} (id {schema_id}) vs this reader: {'; '.join(problems)}",
                )
            body = Body(strip_uuid(writer), decoding_schema(cls))
        entry = (cls, body)
        with self._lock:
            self._dec[schema_id] = entry
        return entry
