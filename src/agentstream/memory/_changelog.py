"""Changelog topics: writing snapshots to them, reading them back fast, creating them.

Records go to an EXPLICIT partition: the input partition the state belongs to. Both librdkafka
(CRC32 "consistent_random") and the Java client (murmur2) would otherwise pick partitions by their
own hash, and the changelog would stop being co-partitioned with the input whenever a producer of
another client or partitioner wrote it. The store key is the record key, so compaction keeps the
latest snapshot per entity, and a tombstone (``None`` value) forgets it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from agentstream.bus import is_memory, make_admin, make_consumer, make_producer, watermarks
from agentstream.errors import ChangelogPartitionError, ChangelogWriteError, RestoreError
from agentstream.memory._backend import ChangelogRecord
from agentstream.topics import Catalog, TopicSpec, apply

__all__ = [
    "ChangelogReader",
    "ChangelogSource",
    "ChangelogWriter",
    "KafkaChangelogSource",
    "KafkaChangelogWriter",
    "ensure_changelog_topics",
    "restore_consumer_config",
]

log = logging.getLogger("agentstream.memory")

# Restore reads whole partitions as fast as the broker serves them: big fetches, a deep local
# queue, short fetch waits so the last (small) fetch of a partition does not idle.
_RESTORE_TUNING: dict[str, Any] = {
    "fetch.max.bytes": 64 * 1024 * 1024,
    "max.partition.fetch.bytes": 16 * 1024 * 1024,
    "queued.max.messages.kbytes": 256 * 1024,
    "queued.min.messages": 500_000,
    "fetch.wait.max.ms": 50,
}
_BATCH = 10_000
_FATAL_CODES = {
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
}


class ChangelogWriter(Protocol):
    """Where a store's changes go. The runtime implements it with its own producer so that
    changelog writes are flushed before input offsets commit (at-least-once) or join the same
    transaction as outputs and offsets (exactly-once)."""

    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None: ...


class KafkaChangelogWriter:
    """A ``ChangelogWriter`` over a ``confluent_kafka.Producer``, for standalone use and tests.

    ``flush(timeout)`` waits for every write and raises ``ChangelogWriteError`` if one failed:
    call it before committing the offsets of the inputs that caused the writes.
    """

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._errors: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, client_config: dict[str, Any]) -> KafkaChangelogWriter:
        """An idempotent, acks=all producer (no duplicates or reordering on retries)."""
        return cls(
            make_producer(
                {"enable.idempotence": True, "acks": "all", "linger.ms": 5, **client_config}
            )
        )

    @property
    def producer(self) -> Producer:
        return self._producer

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(f"{msg.topic()}[{msg.partition()}]: {err.str()}")

    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, key=key, value=value, partition=partition, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                # The local queue is full: serve delivery reports to make room.
                self._producer.poll(0.05)
        self._producer.poll(0)

    def flush(self, timeout: timedelta = timedelta(seconds=30)) -> None:
        left = self._producer.flush(timeout.total_seconds())
        with self._lock:
            errors, self._errors = self._errors, []
        if left:
            raise ChangelogWriteError(
                f"{left} changelog records not acknowledged within {timeout}; is the broker up?"
            )
        if errors:
            raise ChangelogWriteError(
                f"{len(errors)} changelog records refused by the broker: {'; '.join(errors[:3])}"
            )


class ChangelogReader(Protocol):
    """Reads changelog partitions from their beginning (or ``start``) to the end captured when
    reading starts. ``start`` is only passed to readers that also have ``bounds(topic,
    partition, *, deadline) -> (low, high)`` (the Kafka one); others always restore in full."""

    def batches(
        self,
        topic: str,
        partition: int,
        *,
        deadline: float,
        cancelled: Callable[[], bool],
        start: int | None = None,
    ) -> Iterator[Sequence[ChangelogRecord]]: ...

    def close(self) -> None: ...


class ChangelogSource(Protocol):
    """Makes one reader per restore attempt (a reader is used by one thread only)."""

    def open(self) -> ChangelogReader: ...


def restore_consumer_config(client_config: dict[str, Any], *, group: str) -> dict[str, Any]:
    """Consumer settings for restore: never commits, reads committed data only, EOF events on.

    ``read_committed`` matters in exactly-once mode: changelog writes of an aborted transaction
    must not come back as state.
    """
    return {
        **_RESTORE_TUNING,
        **client_config,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    }


class KafkaChangelogSource:
    """Restore readers over ``confluent_kafka.Consumer`` with ``assign()`` (never a group
    subscription: restore must not take part in, or trigger, the agent's rebalances)."""

    def __init__(self, client_config: dict[str, Any], *, group: str) -> None:
        self._client = dict(client_config)
        self._config = restore_consumer_config(client_config, group=group)
        self._admin: AdminClient | None = None
        self._admin_lock = threading.Lock()

    def open(self) -> ChangelogReader:
        return _KafkaReader(make_consumer(self._config), admin=self._admin_client)

    def _admin_client(self) -> AdminClient | None:
        """One admin client for every reader (thread-safe), for topic ids; ``None`` on the
        in-memory transport."""
        if is_memory(self._client):
            return None
        with self._admin_lock:
            if self._admin is None:
                self._admin = make_admin(self._client)
            return self._admin


class _KafkaReader:
    def __init__(
        self, consumer: Consumer, *, admin: Callable[[], AdminClient | None] | None = None
    ) -> None:
        self._c = consumer
        self._admin = admin
        self._ends: dict[tuple[str, int], int] = {}
        self._topic_ids: dict[str, str | None] = {}

    def bounds(self, topic: str, partition: int, *, deadline: float) -> tuple[int, int]:
        """``(low, high)`` watermarks of ``topic[partition]`` (``ChangelogPartitionError`` if the
        changelog lacks the partition)."""
        self._check_partition(topic, partition, deadline)
        return watermarks(
            self._c,
            TopicPartition(topic, partition),
            timeout=timedelta(seconds=_left(deadline, topic, partition)),
        )

    def topic_id(self, topic: str, *, deadline: float) -> str | None:
        """The topic's id (a recreated topic gets a new one); ``None`` if the cluster or the
        transport does not tell."""
        if topic in self._topic_ids:
            return self._topic_ids[topic]
        found: str | None = None
        admin = None if self._admin is None else self._admin()
        if admin is not None:
            try:
                futures = admin.describe_topics(TopicCollection([topic]))
                desc = futures[topic].result(timeout=max(0.1, min(10.0, _left(deadline, topic, 0))))
                found = None if desc.topic_id is None else str(desc.topic_id)
            except (KafkaException, AttributeError, TypeError, ValueError) as exc:
                log.debug("no topic id for %s: %s", topic, exc)
        self._topic_ids[topic] = found
        return found

    def end_offset(self, topic: str, partition: int) -> int | None:
        """The offset right after the last record ``batches`` read of ``topic[partition]``: where
        whoever follows the changelog after this restore must start so that no record is either
        missed or applied twice (the forget follower, ``agentstream.memory.ForgetFollower``)."""
        return self._ends.get((topic, partition))

    def close(self) -> None:
        self._c.close()

    def _check_partition(self, topic: str, partition: int, deadline: float) -> None:
        md = self._c.list_topics(topic, timeout=_left(deadline, topic, partition))
        t = md.topics.get(topic)
        if t is None or t.error is not None or partition not in t.partitions:
            count = 0 if t is None or t.error is not None else len(t.partitions)
            raise ChangelogPartitionError(
                f"changelog topic {topic!r} has {count} partitions, so partition {partition} of "
                "the input has no changelog partition; create the changelog with the input's "
                "partition count (agentstream.memory.ensure_changelog_topics)"
            )

    def batches(
        self,
        topic: str,
        partition: int,
        *,
        deadline: float,
        cancelled: Callable[[], bool],
        start: int | None = None,
    ) -> Iterator[Sequence[ChangelogRecord]]:
        """Records from ``start`` (default: the beginning) to the high watermark captured now."""
        low, high = self.bounds(topic, partition, deadline=deadline)
        first = low if start is None else max(low, start)
        # Nothing read yet: a follower starting at ``first`` misses nothing (and what it finds was
        # not restored, so acting on it is no repetition).
        self._ends[(topic, partition)] = high if high <= first else first
        if high <= first:
            return
        # The end is the high watermark captured now: writes that land later belong to whoever
        # owns the partition next, and this process does not own it until the restore is done.
        self._c.assign(
            [TopicPartition(topic, partition, OFFSET_BEGINNING if start is None else first)]
        )
        try:
            while not cancelled():
                msgs = self._c.consume(_BATCH, timeout=min(_left(deadline, topic, partition), 0.2))
                if not msgs:
                    continue
                data, at_end = _split(msgs, topic, partition)
                if data:
                    self._ends[(topic, partition)] = (data[-1].offset() or 0) + 1
                    yield data
                    at_end = at_end or (data[-1].offset() or 0) + 1 >= high
                if at_end:
                    return
        finally:
            self._c.unassign()


def _split(msgs: list[Message], topic: str, partition: int) -> tuple[list[Message], bool]:
    """Records without error events; True when the partition's end was reached."""
    at_end = False
    bad = [m for m in msgs if m.error() is not None]
    if not bad:
        return msgs, False
    for m in bad:
        err = m.error()
        assert err is not None
        if err.code() == KafkaError._PARTITION_EOF:
            at_end = True
        elif err.fatal() or err.code() in _FATAL_CODES:
            raise RestoreError(f"restoring {topic}[{partition}] failed: {err.str()}")
        else:
            log.warning("restore of %s[%d]: %s (retrying)", topic, partition, err.str())
    return [m for m in msgs if m.error() is None], at_end


def _left(deadline: float, topic: str, partition: int) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RestoreError(
            f"restoring {topic}[{partition}] did not finish before its deadline; raise "
            "restore_timeout or check the broker"
        )
    return left


def ensure_changelog_topics(
    admin: AdminClient,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int | None = None,
    timeout: timedelta = timedelta(seconds=30),
) -> list[str]:
    """Create the compacted changelog topics that are missing, each with ``partitions`` (the input's
    partition count), and align ``cleanup.policy=compact`` on existing ones.

    Raises ``ChangelogPartitionError`` when one exists with another partition count: growing or
    shrinking it would move entities away from the partition that holds their state.
    """
    names = sorted(set(topics))
    try:
        md = admin.list_topics(timeout=timeout.total_seconds())
    except KafkaException as exc:
        raise ChangelogPartitionError(f"cannot list topics to check changelogs: {exc}") from exc
    for name in names:
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) != partitions:
            raise ChangelogPartitionError(
                f"changelog topic {name!r} has {len(t.partitions)} partitions but its input has "
                f"{partitions}; they must match (co-partitioning). Delete and recreate the "
                "changelog (state is rebuilt from inputs), or give the input its partition count"
            )
    catalog = Catalog(
        [
            TopicSpec.compacted(
                n,
                partitions=partitions,
                replication_factor=replication_factor,
                doc="memory store changelog",
            )
            for n in names
        ]
    )
    apply(admin, catalog, timeout=timeout)
    return names
