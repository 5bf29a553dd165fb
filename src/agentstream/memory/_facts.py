"""Bi-temporal facts: what was true (valid time) as we knew it (record time).

Every fact has a valid interval ``[valid_from, valid_to)`` (``valid_to=None``: still true) and a
record interval ``[recorded_at, superseded_at)`` (``superseded_at=None``: current knowledge).
Nothing is ever deleted: asserting a new fact at record time ``T`` supersedes (at ``T``) every
current fact whose valid interval it overlaps and records, also at ``T``, the parts of those old
facts it does not cover, i.e. the old fact *closed* at the new ``valid_from``. So a question asked
"as known at" a time before ``T`` still gets the old answer, and one asked later gets the new one.

These are pure functions over a key's list of facts; ``FactStore`` persists the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from agentstream.errors import FactOrderError

__all__ = ["Fact", "as_of", "assert_fact", "decode_facts", "encode_facts", "retract_fact"]


@dataclass(frozen=True)
class Fact:
    """One version of a value: valid in ``[valid_from, valid_to)``, believed in
    ``[recorded_at, superseded_at)``. ``None`` ends mean "open" (until further notice)."""

    value: Any
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    superseded_at: datetime | None = None

    def valid_at(self, t: datetime) -> bool:
        return self.valid_from <= t and (self.valid_to is None or t < self.valid_to)

    def known_at(self, t: datetime) -> bool:
        return self.recorded_at <= t and (self.superseded_at is None or t < self.superseded_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": None if self.valid_to is None else self.valid_to.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "superseded_at": None if self.superseded_at is None else self.superseded_at.isoformat(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Fact:
        def t(s: str | None) -> datetime | None:
            return None if s is None else datetime.fromisoformat(s)

        return cls(
            value=d["value"],
            valid_from=datetime.fromisoformat(d["valid_from"]),
            valid_to=t(d["valid_to"]),
            recorded_at=datetime.fromisoformat(d["recorded_at"]),
            superseded_at=t(d["superseded_at"]),
        )


def aware(t: datetime, what: str) -> datetime:
    """``t`` in UTC; naive datetimes are refused because their meaning depends on the machine."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. datetime.now(UTC)), got {t!r}")
    return t.astimezone(UTC)


def _overlaps(f: Fact, start: datetime, end: datetime | None) -> bool:
    return (end is None or f.valid_from < end) and (f.valid_to is None or start < f.valid_to)


def _check_order(facts: list[Fact], recorded_at: datetime) -> None:
    latest = max(
        (t for f in facts for t in (f.recorded_at, f.superseded_at) if t is not None),
        default=None,
    )
    if latest is not None and recorded_at < latest:
        raise FactOrderError(
            f"recorded_at {recorded_at.isoformat()} is before {latest.isoformat()}, the latest "
            "record time of this key; record time only moves forward (omit recorded_at to use now)"
        )


def _supersede(
    facts: list[Fact], start: datetime, end: datetime | None, recorded_at: datetime
) -> list[Fact]:
    """Close current knowledge over ``[start, end)`` at ``recorded_at``, keeping the rest."""
    out: list[Fact] = []
    remainders: list[Fact] = []
    for f in facts:
        if f.superseded_at is not None or not _overlaps(f, start, end):
            out.append(f)
            continue
        out.append(replace(f, superseded_at=recorded_at))
        if f.valid_from < start:
            remainders.append(replace(f, valid_to=start, recorded_at=recorded_at))
        if end is not None and (f.valid_to is None or end < f.valid_to):
            remainders.append(replace(f, valid_from=end, recorded_at=recorded_at))
    return out + remainders


def assert_fact(
    facts: list[Fact],
    value: Any,
    valid_from: datetime,
    *,
    valid_to: datetime | None = None,
    recorded_at: datetime,
) -> list[Fact]:
    """The key's facts after learning, at ``recorded_at``, that ``value`` holds in
    ``[valid_from, valid_to)`` (``valid_to=None``: until further notice)."""
    valid_from = aware(valid_from, "valid_from")
    recorded_at = aware(recorded_at, "recorded_at")
    if valid_to is not None:
        valid_to = aware(valid_to, "valid_to")
        if valid_to <= valid_from:
            raise ValueError(f"valid_to {valid_to} must be after valid_from {valid_from}")
    _check_order(facts, recorded_at)
    out = _supersede(facts, valid_from, valid_to, recorded_at)
    out.append(Fact(value, valid_from, valid_to, recorded_at))
    return sorted(out, key=lambda f: (f.recorded_at, f.valid_from))


def retract_fact(
    facts: list[Fact],
    valid_from: datetime,
    *,
    valid_to: datetime | None = None,
    recorded_at: datetime,
) -> list[Fact]:
    """The key's facts after learning, at ``recorded_at``, that nothing holds in
    ``[valid_from, valid_to)``: old facts are closed there, not deleted."""
    valid_from = aware(valid_from, "valid_from")
    recorded_at = aware(recorded_at, "recorded_at")
    if valid_to is not None:
        valid_to = aware(valid_to, "valid_to")
    _check_order(facts, recorded_at)
    out = _supersede(facts, valid_from, valid_to, recorded_at)
    return sorted(out, key=lambda f: (f.recorded_at, f.valid_from))


def as_of(
    facts: list[Fact], valid_time: datetime, *, known_at: datetime | None = None
) -> Fact | None:
    """The fact true at ``valid_time`` as known at ``known_at`` (default: what is known now)."""
    valid_time = aware(valid_time, "valid_time")
    known = None if known_at is None else aware(known_at, "known_at")
    for f in facts:
        believed = f.superseded_at is None if known is None else f.known_at(known)
        if believed and f.valid_at(valid_time):
            return f
    return None


def encode_facts(facts: list[Fact]) -> bytes:
    return json.dumps([f.to_json() for f in facts], separators=(",", ":"), sort_keys=True).encode()


def decode_facts(data: bytes | None) -> list[Fact]:
    return [] if data is None else [Fact.from_json(d) for d in json.loads(data)]
