"""Where the platform's Kafka clients are built, and small building blocks over them.

Every consumer, producer and admin client of AgentStream is built here (``consumer``,
``producer``, ``admin``): the transport seam. A ``bootstrap.servers`` of ``memory://<name>``
selects the in-memory bus (``agentstream.testing.MemoryBus``: topics, consumer groups,
transactions and read_committed in this process, for users' tests without a broker); anything
else builds confluent-kafka's clients. The behavioural suite ``tests/contract`` runs against both
so the in-memory bus cannot drift from Kafka.

``read_compacted`` is how the platform reads a compacted topic as a table (agent descriptors,
workflow checkpoints, timers, schemas): every partition from its start to the end it had when
the read began, latest value per key, tombstones applied, with a deadline.

``ensure_topic`` is how a platform part creates the internal topic it needs on first use: it
returns only once every partition has a leader, because a topic that was just created answers
"unknown partition" / "not leader" to producers and offset lookups for a moment.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from agentstream import shadow
from agentstream.errors import AgentStreamError

__all__ = [
    "MEMORY_SCHEME",
    "CompactedValue",
    "ReadTimeoutError",
    "TopicNotReadyError",
    "ensure_topic",
    "is_memory",
    "make_admin",
    "make_consumer",
    "make_producer",
    "read_compacted",
    "wait_for_leaders",
    "watermarks",
]

MEMORY_SCHEME = "memory://"


def is_memory(config: dict[str, Any]) -> bool:
    """Whether a client configuration names the in-memory bus (``memory://<name>``)."""
    return str(config.get("bootstrap.servers", "")).startswith(MEMORY_SCHEME)


# Inside a shadow run (``agentstream.shadow.current()``) every client built here is guarded: it
# cannot write, commit or change anything outside the run's namespace (agentstream.shadow).


def make_consumer(config: dict[str, Any]) -> Consumer:
    """A consumer for ``config`` (a librdkafka configuration; ``memory://`` → in-memory bus)."""
    run = shadow.current()
    if run is not None:
        config = shadow.consumer_config(config, run)
    if is_memory(config):
        from agentstream._membus import MemoryConsumer  # noqa: PLC0415

        consumer = cast(Consumer, MemoryConsumer(config))
    else:
        consumer = Consumer(config)
    return consumer if run is None else shadow.guard_consumer(consumer, config, run)


def make_producer(config: dict[str, Any]) -> Producer:
    """A producer for ``config`` (``memory://`` → in-memory bus)."""
    if is_memory(config):
        from agentstream._membus import MemoryProducer  # noqa: PLC0415

        producer = cast(Producer, MemoryProducer(config))
    else:
        producer = Producer(config)
    run = shadow.current()
    return producer if run is None else shadow.guard_producer(producer, run)


def make_admin(config: dict[str, Any]) -> AdminClient:
    """An admin client for ``config`` (``memory://`` → in-memory bus)."""
    if is_memory(config):
        from agentstream._membus import MemoryAdmin  # noqa: PLC0415

        admin = cast(AdminClient, MemoryAdmin(config))
    else:
        admin = AdminClient(config)
    run = shadow.current()
    return admin if run is None else shadow.guard_admin(admin, run)


# Errors a watermark lookup gets for a moment after a topic was created or a leader moved.
_TRANSIENT = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError.REQUEST_TIMED_OUT,
    }
)


class ReadTimeoutError(AgentStreamError):
    """A topic could not be read to its end in time; check the broker and the timeout."""


class TopicNotReadyError(AgentStreamError):
    """A topic could not be created, or has partitions without a leader; check the broker."""


def wait_for_leaders(admin: AdminClient, topic: str, *, timeout: timedelta) -> int:
    """Block until every partition of ``topic`` has a leader; return the partition count."""
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        md = admin.list_topics(topic=topic, timeout=max(0.5, deadline - time.monotonic()))
        t = md.topics.get(topic)
        if (
            t is not None
            and t.error is None
            and t.partitions
            and all(p.leader >= 0 for p in t.partitions.values())
        ):
            return len(t.partitions)
        if time.monotonic() > deadline:
            raise TopicNotReadyError(
                f"topic {topic!r} has partitions without a leader after {timeout}; "
                "is the broker healthy?"
            )
        time.sleep(0.05)


def ensure_topic(
    admin: AdminClient,
    topic: str,
    *,
    partitions: int = 1,
    config: dict[str, str] | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> int:
    """Create ``topic`` if it is missing (an existing one is kept as it is), wait for leaders.

    Returns the topic's partition count. The catalog (``agentstream topics apply``) is the place
    to provision topics in production; this makes a first run on a fresh broker just work.
    """
    existing = admin.list_topics(timeout=timeout.total_seconds()).topics.get(topic)
    if existing is None or existing.error is not None:
        new = NewTopic(topic, num_partitions=partitions, replication_factor=-1, config=config or {})
        fut = admin.create_topics([new], operation_timeout=timeout.total_seconds())[topic]
        try:
            fut.result(timeout=timeout.total_seconds())
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise TopicNotReadyError(f"could not create topic {topic!r}: {exc}") from exc
        except Exception as exc:  # a future that did not resolve in time
            raise TopicNotReadyError(
                f"creating topic {topic!r} did not finish within {timeout}: {exc!r}"
            ) from exc
    return wait_for_leaders(admin, topic, timeout=timeout)


@dataclass(frozen=True)
class CompactedValue:
    """The newest value of one key, and where it was read (for error messages)."""

    partition: int
    offset: int
    value: bytes


def watermarks(consumer: Consumer, tp: TopicPartition, *, timeout: timedelta) -> tuple[int, int]:
    """``(low, high)`` watermarks of a partition, retrying transient errors until ``timeout``.

    Right after a topic is created (or a leader moves), metadata can already name a leader while
    the offset lookup still answers NOT_LEADER_FOR_PARTITION; that is retried, anything else is
    raised at once.
    """
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        left = deadline - time.monotonic()
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=max(0.1, min(left, 5.0)))
            return int(low), int(high)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            code = err.code() if isinstance(err, KafkaError) else None
            if code not in _TRANSIENT or left <= 0:
                raise
        time.sleep(0.05)


def _end_offsets(consumer: Consumer, topic: str, timeout: float) -> dict[int, tuple[int, int]]:
    md = consumer.list_topics(topic=topic, timeout=timeout).topics.get(topic)
    if md is None or md.error is not None:
        return {}
    ends = {}
    for p in md.partitions:
        low, high = watermarks(
            consumer, TopicPartition(topic, p), timeout=timedelta(seconds=timeout)
        )
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
    reader = make_consumer(
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
        ends = _end_offsets(reader, topic, timeout.total_seconds())
        if not ends:
            return latest
        reader.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        pending = {p: high for p, (_, high) in ends.items()}
        while pending:
            if time.monotonic() > deadline:
                raise ReadTimeoutError(f"reading {topic} did not reach its end within {timeout}")
            for msg in reader.consume(num_messages=1000, timeout=0.5):
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
        reader.close()
    return latest
