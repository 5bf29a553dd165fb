"""Reading the run's topics back: insights, the events they cite, and the citation check."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from agentstream.bus import make_consumer, watermarks
from agentstream.config import KafkaSettings
from agentstream.serde import make_serde

__all__ = ["EVENT_TOPICS", "INSIGHT_TOPICS", "Read", "end_offsets", "read_all", "unresolved"]

EVENT_TOPICS = ("events.code", "events.chat", "events.calendar")
INSIGHT_TOPICS = ("insights.risks", "insights.activity", "insights.briefings", "insights.answers")


@dataclass(frozen=True)
class Read:
    topic: str
    partition: int
    offset: int
    record: Any


def _consumer(kafka: KafkaSettings) -> Consumer:
    return make_consumer(kafka.client_config(**{"group.id": "agentstream-demo-reader",
                                           "enable.auto.commit": False,
                                           "isolation.level": "read_committed"}))  # fmt: skip


def end_offsets(kafka: KafkaSettings, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    c = _consumer(kafka)
    out: dict[tuple[str, int], int] = {}
    try:
        for t in topics:
            md = c.list_topics(t, timeout=10).topics.get(t)
            for p in sorted(md.partitions) if md and not md.error else []:
                out[(t, p)] = watermarks(c, TopicPartition(t, p), timeout=timedelta(seconds=30))[1]
    finally:
        c.close()
    return out


def read_all(kafka: KafkaSettings, topics: Iterable[str], *, timeout: float = 60) -> list[Read]:
    """Every decodable record of ``topics``, from the beginning to the ends seen now."""
    topics = list(topics)
    ends = {k: v for k, v in end_offsets(kafka, topics).items() if v > 0}
    serde = make_serde(kafka)
    out: list[Read] = []
    if not ends:
        return out
    c = _consumer(kafka)
    try:
        c.assign([TopicPartition(t, p, 0) for (t, p) in ends])
        pos: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + timeout
        while any(pos.get(k, -1) < e - 1 for k, e in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topics} took over {timeout}s")
            msg = c.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            key = (msg.topic(), msg.partition())
            pos[key] = msg.offset()
            if msg.value() is None or msg.offset() >= ends.get(key, 0):
                continue
            try:
                rec = serde.decode(msg.topic(), msg.value(), partition=msg.partition(),
                                   offset=msg.offset())  # fmt: skip
            except Exception:
                continue
            out.append(Read(msg.topic(), msg.partition(), msg.offset(), rec))
    finally:
        c.close()
    return out


def unresolved(insight: Any, known: set[str]) -> list[str]:
    """The ids an insight cites that exist on none of the run's topics."""
    return [i for i in getattr(insight, "based_on", ()) if str(i) not in known]
