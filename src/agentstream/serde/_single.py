"""Avro single-object encoding (``C3 01`` + 8-byte little-endian CRC-64-AVRO + body).

Writer schemas live in a ``SchemaStore`` (by default the compacted ``_agentstream.schemas``
topic). The hot path never touches Kafka: the header bytes and parsed schema of each class are
computed once, and each fingerprint seen while decoding is resolved once (writer schema fetched,
checked against the reader's class of the same full name) and cached. A fingerprint equal to the
reader class's own decodes without schema resolution.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from fastavro.validation import ValidationError, validate

from agentstream.errors import DecodeError, EncodeError
from agentstream.schemas import (
    Record,
    all_records,
    decoding_schema,
    fingerprint,
    reader_writer_problems,
    strip_uuid,
)
from agentstream.serde._codec import Body, decode_record
from agentstream.serde._store import SchemaStore

__all__ = ["MAGIC", "SingleObjectSerde"]

MAGIC = b"\xc3\x01"
_HEADER_LEN = 10


def encode_error(record: Record, parsed: Any, exc: Exception) -> EncodeError:
    """An ``EncodeError`` naming the offending field (fastavro validation finds it)."""
    detail = str(exc)
    try:
        validate(record.to_avro(), parsed, raise_errors=True)
    except ValidationError as verr:
        detail = "; ".join(str(e) for e in verr.errors) or detail
    except Exception as other:  # the record may be broken beyond what validation can describe
        detail = f"{detail} ({other})"
    return EncodeError(
        f"cannot encode {type(record).__name__} as {record.FULLNAME}: {detail}; "
        "fix the field values to match the schema"
    )


class SingleObjectSerde:
    """The registry-free wire format (the default when no Schema Registry URL is set).

    ``reader_records`` maps Avro full names to the classes decoded into (default: every generated
    class). Encoding a class the first time registers its schema in ``store`` and waits for the
    acknowledgement, so no event is produced with a schema others cannot find.
    """

    def __init__(
        self, store: SchemaStore, *, reader_records: Mapping[str, type[Record]] | None = None
    ) -> None:
        self.store = store
        self._readers = dict(reader_records) if reader_records is not None else all_records()
        # class -> (header bytes, writer body)
        self._enc: dict[type[Record], tuple[bytes, Body]] = {}
        # fingerprint bytes -> (class, body: writer schema + reader schema, or None if the same)
        self._dec: dict[bytes, tuple[type[Record], Body]] = {}
        self._lock = threading.Lock()
        for cls in self._readers.values():
            fp = fingerprint(cls).to_bytes(8, "little")
            self._dec[fp] = (cls, Body(decoding_schema(cls)))

    def _prepare(self, cls: type[Record]) -> tuple[bytes, Body]:
        with self._lock:
            entry = self._enc.get(cls)
            if entry is None:
                fp = self.store.register(cls.SCHEMA)
                header = MAGIC + fp.to_bytes(8, "little")
                entry = self._enc[cls] = (header, Body(decoding_schema(cls)))
            return entry

    def encode(self, topic: str, record: Record) -> bytes:
        """Header + Avro body of ``record``; raises ``EncodeError`` naming a bad field."""
        header, body = self._enc.get(type(record)) or self._prepare(type(record))
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
        """Do the I/O of first use now (call it off the event loop, at start): register the
        schemas of the classes in ``encodes`` (topic, class), read the whole schema store, and
        resolve every stored writer version of the classes in ``decodes``, so that encoding and
        decoding them touch no broker. A version this reader cannot read is left for ``decode``
        to report (as ``DecodeError``) when a record of it arrives."""
        for _, cls in encodes:
            if cls not in self._enc:
                self._prepare(cls)
        refresh = getattr(self.store, "refresh", None)
        if refresh is not None:
            refresh()
        versions = getattr(self.store, "versions", None)
        if versions is None:
            return
        for topic, cls in decodes:
            for schema in versions(cls.FULLNAME):
                key = fingerprint(schema).to_bytes(8, "little")
                if key not in self._dec:
                    try:
                        self._resolve(key, topic, -1, -1)
                    except DecodeError:
                        continue

    def needs_lookup(self, data: bytes | None) -> bool:
        """True when decoding ``data`` would first fetch its writer schema from the store."""
        return (
            data is not None
            and len(data) >= _HEADER_LEN
            and data[:2] == MAGIC
            and bytes(data[2:_HEADER_LEN]) not in self._dec
        )

    def decode(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> Record:
        """The record in ``data``; raises ``DecodeError`` saying where and why it failed.

        An unknown writer fingerprint is looked up in the store, blocking for up to its
        ``lookup_timeout`` (``SchemaStoreError`` then); see ``needs_lookup``/``decode_off_loop``.
        """
        if data is None:
            raise DecodeError(topic, partition, offset, "tombstone", "null value")
        if data[:2] != MAGIC:
            reason = "truncated" if len(data) < 2 and MAGIC.startswith(data) else "bad-magic"
            raise DecodeError(
                topic, partition, offset, reason, f"first bytes {bytes(data[:2]).hex() or 'none'}"
            )
        if len(data) < _HEADER_LEN:
            raise DecodeError(topic, partition, offset, "truncated", f"{len(data)} bytes")
        key = data[2:_HEADER_LEN]
        if type(key) is not bytes:
            key = bytes(key)
        cls, body = self._dec.get(key) or self._resolve(key, topic, partition, offset)
        return decode_record(cls, body, data, _HEADER_LEN, (topic, partition, offset))

    def _resolve(
        self, key: bytes, topic: str, partition: int, offset: int
    ) -> tuple[type[Record], Body]:
        fp = int.from_bytes(key, "little")
        schema = self.store.lookup(fp)
        if schema is None:
            raise DecodeError(
                topic, partition, offset, "unknown-fingerprint", f"fingerprint {fp:016x}"
            )
        name = str(schema.get("name")) if isinstance(schema, dict) else str(schema)
        cls = self._readers.get(name)
        if cls is None:
            raise DecodeError(topic, partition, offset, "unknown-type", name)
        problems = reader_writer_problems(cls.SCHEMA, schema)
        if problems:
            raise DecodeError(
                topic, partition, offset, "incompatible-schema",
                f"writer {name} {fp:016x} vs this reader: {'; '.join(problems)}",
            )
        entry = (cls, Body(strip_uuid(schema), decoding_schema(cls)))
        with self._lock:
            self._dec[key] = entry
        return entry
