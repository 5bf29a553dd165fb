"""``RawRecord``s as the gateway and the importers write them, with deterministic ids.

A raw record's id is ``uuid5(RAW_NAMESPACE, "<source>\\0<delivery key>")``: the GitHub delivery
GUID, the Slack event id, a Slack export message's channel and ts, a calendar file's digest. A
redelivery (GitHub "Redeliver", a Slack retry, an importer run twice) therefore yields the same
raw id, and the normalizer derives every semantic event id from it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from agentstream.events import RawRecord

__all__ = [
    "EVENT_NAMESPACE",
    "RAW_NAMESPACE",
    "event_id",
    "ingest_topic",
    "make_raw",
    "raw_id",
]

RAW_NAMESPACE = uuid.UUID("0b6f4c52-54a8-4bd8-8d0e-5b8f2a6e7c31")
EVENT_NAMESPACE = uuid.UUID("c1f0a3d2-7e55-4a4e-9f1b-2d6c8e0b9a47")

# Sources and the ingest topic each writes to (calendar files are source "ics").
_TOPICS = {"github": "ingest.github", "slack": "ingest.slack", "ics": "ingest.calendar"}


def ingest_topic(source: str, *, prefix: str = "") -> str:
    """The ``ingest.<source>`` topic of a connector source (``ics`` → ``ingest.calendar``)."""
    return prefix + _TOPICS.get(source, f"ingest.{source}")


_RAW_NS = RAW_NAMESPACE.bytes


def raw_id(source: str, delivery_key: str) -> str:
    """The deterministic id of the raw record of one delivery of ``source``.

    ``str(uuid.uuid5(RAW_NAMESPACE, f"{source}\\0{delivery_key}"))``, computed without the
    ``UUID`` object (the gateway makes one per request).
    """
    name = _RAW_NS + f"{source}\0{delivery_key}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def event_id(raw: str, *parts: object) -> str:
    """The deterministic id of a semantic event made from raw record ``raw``.

    ``parts`` say which fact of the record it is (event type, entity, occurrence), so the same
    record always yields the same ids, whatever else it yields.
    """
    return str(uuid.uuid5(EVENT_NAMESPACE, "\0".join([raw, *map(str, parts)])))


def _millis_now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def make_raw(
    source: str,
    kind: str,
    body: bytes,
    *,
    delivery_id: str | None,
    headers: Mapping[str, str] | None = None,
    received_at: datetime | None = None,
    attempt: int = 1,
) -> RawRecord:
    """A ``RawRecord`` whose id derives from ``delivery_id`` (or, without one, the body digest)."""
    key = delivery_id if delivery_id else "sha256:" + hashlib.sha256(body).hexdigest()
    return RawRecord(
        source=source,
        kind=kind,
        received_at=received_at or _millis_now(),
        headers=dict(headers or {}),
        body=body,
        id=raw_id(source, key),
        delivery_id=delivery_id,
        attempt=attempt,
    )
