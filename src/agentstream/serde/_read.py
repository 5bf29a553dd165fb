"""``read_events``: a topic's records from its beginning to the end seen when the read starts,
decoded — for downstream services that look back over what agents published (insights)."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from confluent_kafka import TopicPartition

from agentstream.bus import ReadTimeoutError, make_consumer, watermarks
from agentstream.config import KafkaSettings
from agentstream.serde._api import make_serde

__all__ = ["read_events"]

log = logging.getLogger("agentstream.serde")


def read_events(
    kafka: KafkaSettings, topic: str, *, timeout: timedelta = timedelta(seconds=30)
) -> list[Any]:
    """Every record of ``topic`` (read_committed, all partitions) up to the end it had when the
    read began, decoded with the configured wire format; tombstones and records that cannot be
    decoded are skipped with a warning naming them. A missing topic reads as empty; the end not
    reached within ``timeout`` raises ``ReadTimeoutError``."""
    serde = make_serde(kafka)
    c = make_consumer(kafka.client_config(**{
        "group.id": f"agentstream-read-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }))
    out: list[Any] = []
    try:
        md = c.list_topics(topic, timeout=timeout.total_seconds())
        parts = sorted(md.topics[topic].partitions) if topic in md.topics else []
        ends: dict[int, int] = {}
        for p in parts:
            low, high = watermarks(c, TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        if not ends:
            return out
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        seen: dict[int, int] = {}
        deadline = time.monotonic() + timeout.total_seconds()
        while any(seen.get(p, -1) < ends[p] - 1 for p in ends):
            if time.monotonic() > deadline:
                raise ReadTimeoutError(f"reading {topic} to its end took over {timeout}")
            msg = c.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            seen[partition] = offset
            if msg.value() is None:
                continue
            try:
                out.append(serde.decode(topic, msg.value(), partition=partition, offset=offset))
            except Exception as exc:  # one bad record must not hide the others
                log.warning("skipping undecodable record %s[%d]@%d: %s", topic, partition,
                            offset, exc)
    finally:
        c.close()
    return out
