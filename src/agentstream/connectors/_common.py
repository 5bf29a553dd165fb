"""What every normalizer shares: the result type, deterministic metas, field access that names
what is missing, and timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentstream.connectors._errors import MalformedPayloadError
from agentstream.connectors._identity import IdentityKind, IdentityMap
from agentstream.connectors._raw import event_id
from agentstream.events import EventMeta
from agentstream.schemas import Record

__all__ = ["Emitted", "Normalized", "Out", "field_at", "millis", "parse_iso"]


@dataclass(frozen=True)
class Emitted:
    """One semantic event and its topic (``events.code`` / ``chat`` / ``calendar``)."""

    topic: str
    event: Record

    @property
    def key(self) -> str:
        """The Kafka key: the entity the event is about (``meta.subject``)."""
        return str(self.event.meta.subject)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Normalized:
    """What one raw record means: its events, or the reason it carries nothing of interest."""

    events: tuple[Emitted, ...] = ()
    skipped: str | None = None

    def __post_init__(self) -> None:
        if not self.events and not self.skipped:
            object.__setattr__(self, "skipped", "nothing of interest")


def millis(dt: datetime) -> datetime:
    """``dt`` in UTC truncated to milliseconds (what Avro timestamp-millis keeps)."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


def parse_iso(value: Any, default: datetime) -> datetime:
    """A GitHub-style timestamp (ISO 8601 with ``Z``, or epoch seconds) in UTC; ``default``
    when absent or unreadable."""
    if isinstance(value, bool) or value is None or value == "":
        return default
    if isinstance(value, int | float):
        return millis(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        try:
            return millis(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return default
    return default


def field_at(data: Any, *path: str | int, what: str = "payload") -> Any:
    """``data[path[0]][path[1]]...``; raise ``MalformedPayloadError`` naming the missing path."""
    cur = data
    for i, step in enumerate(path):
        ok = (isinstance(cur, Mapping) and step in cur) or (
            isinstance(cur, list) and isinstance(step, int) and -len(cur) <= step < len(cur)
        )
        if not ok or (cur[step] is None and i == len(path) - 1):  # type: ignore[index]
            dotted = ".".join(str(p) for p in path[: i + 1])
            raise MalformedPayloadError(f"{what}: required field {dotted!r} is missing")
        cur = cur[step]  # type: ignore[index]
    return cur


@dataclass
class Out:
    """Collects the events of one raw record, with ids derived from the raw record's id."""

    raw_id: str
    source: str
    received_at: datetime
    identity: IdentityMap
    topic_prefix: str = ""
    events: list[Emitted] = field(default_factory=list)

    def person(self, kind: IdentityKind, handle: str | None) -> str | None:
        return self.identity.resolve(kind, handle)

    def meta(self, cls: type[Record], subject: str, when: datetime, *parts: object) -> EventMeta:
        """A meta whose id is ``event_id(raw_id, type, subject, *parts)``: the same record
        always gives the same ids."""
        eid = event_id(self.raw_id, cls.FULLNAME, subject, *parts)
        return EventMeta(
            id=eid,
            type=cls.FULLNAME,
            source=f"connector.{self.source}",
            subject=subject,
            time=millis(when),
            correlation_id=eid,
            causation_id=None,
            traceparent=None,
        )

    def add(self, domain: str, event: Record) -> None:
        self.events.append(Emitted(f"{self.topic_prefix}events.{domain}", event))

    def result(self, skipped: str | None = None) -> Normalized:
        return Normalized(tuple(self.events), None if self.events else skipped)
