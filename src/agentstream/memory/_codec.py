"""Value codecs: how a store's state becomes the bytes of its changelog record and back.

A codec is any object with ``encode(value) -> bytes`` and ``decode(data) -> value``. JSON is the
default because snapshots stay readable with ``agentstream memory get`` and any Kafka tool; an
Avro record codec from ``agentstream.serde`` fits the same protocol.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

__all__ = ["BytesCodec", "Codec", "JsonCodec"]


@runtime_checkable
class Codec(Protocol):
    """Turns a state value into bytes and back; ``decode(encode(v)) == v`` must hold."""

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JsonCodec:
    """Compact, key-sorted JSON (UTF-8). Sorting makes equal states encode to equal bytes, which
    lets a store skip rewriting a snapshot that did not change."""

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def __repr__(self) -> str:
        return "JsonCodec()"


class BytesCodec:
    """Values are already bytes (e.g. Avro single-object encoded by the caller)."""

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"BytesCodec stores bytes, got {type(value).__name__}")
        return bytes(value)

    def decode(self, data: bytes) -> Any:
        return data

    def __repr__(self) -> str:
        return "BytesCodec()"
