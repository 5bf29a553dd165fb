"""Small building blocks over confluent-kafka shared by the platform's parts.

``read_compacted`` is how the platform reads a compacted topic as a table (agent descriptors,
workflow checkpoints, timers, schemas): every partition from its start to the end it had when
the read began, latest value per key, tombstones applied, with a deadline.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from agentstream.errors import AgentStreamError

__all__ = ["CompactedValue", "ReadTimeoutError", "read_compacted"]


class ReadTimeoutError(AgentStreamError):
    """A topic could not be read to its end in time; check the broker and the timeout."""


@dataclass(frozen=True)
class CompactedValue:
    """The newest value of one key, and where it was read (for error messages)."""

    partition: int
    offset: int
    value: bytes


def _end_offsets(consumer: Consumer, topic: str, timeout: float) -> dict[int, tuple[int, int]]:
    md = consumer.list_topics(topic=topic, timeout=timeout).topics.get(topic)
    if md is None or md.error is not None:
        return {}
    ends = {}
    for p in md.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        if high > low:
            ends[p] = (low, high)
    return ends


def read_compacted(
    config: dict[str, Any],
    topic: str,
    *,
    timeout: timedelta = timedelta(seconds=30),
    read_committed: bool = True,
) -> dict[bytes, CompactedValue]:
    """The latest value per key of ``topic`` as of now; tombstoned keys are left out.

    ``config`` is a librdkafka client configuration (``KafkaSettings.client_config()``). With
    ``read_committed`` (default) aborted transactional writes are skipped. A missing topic reads
    as empty. Raises ``ReadTimeoutError`` when the end is not reached within ``timeout``.
    """
    consumer = Consumer(
        {
            **config,
            "group.id": f"agentstream-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed" if read_committed else "read_uncommitted",
        }
    )
    latest: dict[bytes, CompactedValue] = {}
    try:
        deadline = time.monotonic() + timeout.total_seconds()
        ends = _end_offsets(consumer, topic, timeout.total_seconds())
        if not ends:
            return latest
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        pending = {p: high for p, (_, high) in ends.items()}
        while pending:
            if time.monotonic() > deadline:
                raise ReadTimeoutError(f"reading {topic} did not reach its end within {timeout}")
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                err = msg.error()
                partition = msg.partition() or 0
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        raise AgentStreamError(f"reading {topic}[{partition}]: {err}")
                    pending.pop(partition, None)
                    continue
                offset = msg.offset() or 0
                key, value = msg.key() or b"", msg.value()
                if value is None:
                    latest.pop(key, None)
                else:
                    latest[key] = CompactedValue(partition, offset, value)
                if offset + 1 >= pending.get(partition, 0):
                    pending.pop(partition, None)
    finally:
        consumer.close()
    return latest
