"""Where a shadow run starts and stops, and reading bounded ranges of topics.

``parse_start`` / ``parse_stop`` turn the command line's ``--from`` / ``--to`` / ``--count`` into
``Start`` / ``Stop``; ``resolve_window`` turns them into per-partition ``[start, end)`` offsets of
the agent's input topics, fixed when the run begins (``end`` defaults to the end offsets at that
moment, so traffic arriving during the run is not part of it). ``read_range`` reads such ranges.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, Message, TopicPartition

from agentstream.bus import make_consumer, watermarks
from agentstream.shadow._state import ShadowError

__all__ = [
    "TP",
    "Start",
    "Stop",
    "Window",
    "parse_start",
    "parse_stop",
    "read_range",
    "reader",
    "resolve_window",
]

TP = tuple[str, int]
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_POS = re.compile(r"^(?:(?P<topic>[^:=,]+):)?(?P<partition>\d+)=(?P<offset>\d+)$")


@dataclass(frozen=True)
class Start:
    """``earliest``, a point in time (``at``), one offset for every partition (``offset``) or
    offsets per partition (``offsets``: {(topic or "", partition): offset})."""

    earliest: bool = False
    at: datetime | None = None
    offset: int | None = None
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Stop:
    """Stop before the first input at or after ``at``, after ``count`` inputs (the earliest by
    timestamp across partitions), before ``offsets``, or (none set) at the end offsets the input
    topics had when the run began."""

    at: datetime | None = None
    count: int | None = None
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def _parse_time(text: str) -> datetime | None:
    """A time ago (``24h``) or an ISO 8601 time (UTC when it names no zone); None otherwise."""
    m = _AGO.match(text)
    if m:
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _parse_offsets(text: str, what: str) -> dict[tuple[str, int], int]:
    out = {}
    for part in text.split(","):
        m = _POS.match(part.strip())
        if m is None:
            raise ShadowError(
                f"{what} {text!r}: expected earliest, an ISO 8601 time (2026-11-30T00:00Z), a "
                "time ago (24h, 90m, 2d), an offset, or [topic:]partition=offset,..."
            )
        out[(m.group("topic") or "", int(m.group("partition")))] = int(m.group("offset"))
    return out


def parse_start(text: str) -> Start:
    """``--from``: earliest | ISO 8601 time | 24h/90m/2d ago | N | [topic:]p=o,..."""
    text = text.strip()
    if text == "earliest":
        return Start(earliest=True)
    if text.isdigit():
        return Start(offset=int(text))
    at = _parse_time(text)
    return Start(at=at) if at is not None else Start(offsets=_parse_offsets(text, "--from"))


def parse_stop(to: str | None, count: int | None) -> Stop:
    """``--to`` (ISO time, time ago, [topic:]p=o,...) and ``--count`` (one of them at most)."""
    if to is not None and count is not None:
        raise ShadowError("give --to or --count, not both")
    if count is not None:
        if count < 1:
            raise ShadowError(f"--count must be at least 1, got {count}")
        return Stop(count=count)
    if to is None or to.strip() == "end":
        return Stop()
    at = _parse_time(to.strip())
    return Stop(at=at) if at is not None else Stop(offsets=_parse_offsets(to, "--to"))


@dataclass(frozen=True)
class Window:
    """Per input partition, the offsets ``[start, end)`` the shadow run covers."""

    starts: dict[TP, int]
    ends: dict[TP, int]

    @property
    def total(self) -> int:
        return sum(max(0, self.ends[tp] - s) for tp, s in self.starts.items())

    def to_json(self) -> dict[str, Any]:
        return {f"{t}[{p}]": [s, self.ends[(t, p)]] for (t, p), s in sorted(self.starts.items())}


def reader(config: dict[str, Any]) -> Consumer:
    """A consumer that never commits (a fresh group per reader), reading committed data."""
    return make_consumer({
        **config,
        "group.id": f"agentstream-shadow-read-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed",
    })


def _partitions(c: Consumer, topics: Sequence[str], timeout: float) -> list[TP]:
    out: list[TP] = []
    for topic in topics:
        md = c.list_topics(topic=topic, timeout=timeout).topics.get(topic)
        if md is None or md.error is not None or not md.partitions:
            raise ShadowError(f"input topic {topic!r} does not exist; nothing to shadow")
        out.extend((topic, p) for p in sorted(md.partitions))
    return out


def _at_time(c: Consumer, tps: list[TP], at: datetime, timeout: float,
             highs: dict[TP, int]) -> dict[TP, int]:  # fmt: skip
    ms = int(at.timestamp() * 1000)
    found = c.offsets_for_times([TopicPartition(t, p, ms) for t, p in tps], timeout=timeout)
    out = {}
    for tp in found:
        key = (tp.topic, tp.partition)
        out[key] = highs[key] if tp.offset < 0 or tp.offset == OFFSET_END else tp.offset
    return out


def _pick(offsets: dict[tuple[str, int], int], tp: TP) -> int | None:
    return offsets.get(tp, offsets.get(("", tp[1])))


def resolve_window(
    config: dict[str, Any], topics: Sequence[str], start: Start, stop: Stop,
    *, timeout: timedelta = timedelta(seconds=30),
) -> Window:  # fmt: skip
    """The ``[start, end)`` offsets per partition of ``topics`` for ``start`` / ``stop``."""
    t = timeout.total_seconds()
    c = reader(config)
    try:
        tps = _partitions(c, topics, t)
        marks = {tp: watermarks(c, TopicPartition(*tp), timeout=timeout) for tp in tps}
        lows, highs = {tp: m[0] for tp, m in marks.items()}, {tp: m[1] for tp, m in marks.items()}
        if start.at is not None:
            starts = _at_time(c, tps, start.at, t, highs)
        elif start.offset is not None:
            starts = {tp: start.offset for tp in tps}
        elif start.offsets:
            starts = {tp: v for tp in tps if (v := _pick(start.offsets, tp)) is not None}
            starts |= {tp: highs[tp] for tp in tps if tp not in starts}
        else:
            starts = dict(lows)
        starts = {tp: min(max(s, lows[tp]), highs[tp]) for tp, s in starts.items()}
        if stop.at is not None:
            ends = _at_time(c, tps, stop.at, t, highs)
        elif stop.offsets:
            ends = {tp: highs[tp] if (e := _pick(stop.offsets, tp)) is None else e for tp in tps}
        else:
            ends = dict(highs)
        ends = {tp: max(starts[tp], min(e, highs[tp])) for tp, e in ends.items()}
    finally:
        c.close()
    window = Window(starts, ends)
    if stop.count is not None:
        window = _first_n(config, window, stop.count, timeout)
    return window


def _first_n(config: dict[str, Any], window: Window, n: int, timeout: timedelta) -> Window:
    """The window of the ``n`` earliest inputs (by timestamp, then partition) from its starts."""
    capped = Window(window.starts, {tp: min(e, window.starts[tp] + n)
                                    for tp, e in window.ends.items()})
    stamps = [(m.timestamp()[1], m.topic() or "", m.partition() or 0, m.offset() or 0)
              for m in read_range(config, capped, timeout=timeout)]
    ends = dict(window.starts)
    for _, topic, p, off in sorted(stamps)[:n]:
        ends[(topic, p)] = max(ends[(topic, p)], off + 1)
    return Window(window.starts, ends)


def read_range(config: dict[str, Any], window: Window, *, timeout: timedelta) -> Iterator[Message]:
    """Every record in ``[start, end)`` of each partition of ``window`` (within ``timeout``)."""
    todo = {tp: e for tp, e in window.ends.items() if e > window.starts.get(tp, e)}
    if not todo:
        return
    c = reader(config)
    try:
        c.assign([TopicPartition(t, p, window.starts[(t, p)]) for t, p in todo])
        deadline = time.monotonic() + timeout.total_seconds()
        while todo:
            if time.monotonic() > deadline:
                raise ShadowError(
                    f"reading {', '.join(sorted({t for t, _ in todo}))} did not reach the "
                    f"window's end within {timeout}; is the broker healthy?"
                )
            for msg in c.consume(num_messages=1000, timeout=0.5):
                tp = (msg.topic() or "", msg.partition() or 0)
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        todo.pop(tp, None)  # transactional markers may end it early
                        continue
                    raise ShadowError(f"reading {tp[0]}[{tp[1]}]: {err}")
                end = todo.get(tp)
                if end is None:
                    continue
                off = msg.offset() or 0
                if off < end:
                    yield msg
                if off + 1 >= end:
                    todo.pop(tp, None)
    finally:
        c.close()
