"""Read a topic from its beginning to the end seen at the start (the insights the answer uses)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from agentstream.bus import watermarks
from agentstream.config import KafkaSettings
from agentstream.serde import make_serde

__all__ = ["read_topic"]

log = logging.getLogger("services.assistant")


def read_topic(kafka: KafkaSettings, topic: str, *, timeout: float = 30.0) -> list[Any]:
    """Every decodable record of ``topic`` from the beginning to the end seen at the start."""
    serde = make_serde(kafka)
    c = Consumer(
        kafka.client_config(
            **{
                "group.id": "assistant-reader",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
    )
    out: list[Any] = []
    try:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions) if topic in md.topics else []
        ends: dict[int, int] = {}
        for p in parts:
            low, high = watermarks(c, TopicPartition(topic, p), timeout=timedelta(seconds=30))
            if high > low:
                ends[p] = high
        if not ends:
            return out
        c.assign([TopicPartition(topic, p, 0) for p in ends])
        seen: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while any(seen.get(p, -1) < ends[p] - 1 for p in ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} to its end took over {timeout}s")
            msg = c.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            seen[msg.partition()] = msg.offset()
            if msg.value() is None:
                continue
            try:
                out.append(
                    serde.decode(topic, msg.value(), partition=msg.partition(), offset=msg.offset())
                )
            except Exception as exc:
                log.warning("skipping undecodable record %s@%d: %s", topic, msg.offset(), exc)
    finally:
        c.close()
    return out
