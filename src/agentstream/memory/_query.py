"""Reading and forgetting memory from outside the agent: straight from the changelog topic.

The changelog is the source of truth, so ``agentstream memory get`` works whether or not the agent
runs. A key's latest record may sit in any partition (the agent writes to the input partition
the key arrived on, whatever hash chose it), so these scan every partition from its beginning to
the end captured at the start, within a deadline. Compaction keeps that scan short.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from agentstream.bus import make_consumer, watermarks
from agentstream.config import KafkaSettings
from agentstream.errors import ChangelogPartitionError, RestoreError
from agentstream.memory._changelog import KafkaChangelogWriter, restore_consumer_config
from agentstream.memory._spec import changelog_topic

__all__ = [
    "FORGET_ECHO",
    "FORGET_HEADER",
    "ChangelogEntry",
    "decode_value",
    "forget",
    "list_keys",
    "read_key",
]

#: Header on tombstones written by ``forget`` (so tools can tell a forget from a reducer delete,
#: and a running owner's ``ForgetFollower`` evicts the key from its local state).
FORGET_HEADER = "agentstream-forget"
#: Its value on the tombstone a running owner writes after evicting (see ``ForgetFollower``);
#: followers ignore it, so an eviction never triggers another one.
FORGET_ECHO = b"echo"


@dataclass(frozen=True)
class ChangelogEntry:
    """The latest changelog record of a key: where it is and its value (``None``: tombstone)."""

    key: str
    partition: int
    offset: int
    value: bytes | None


def decode_value(value: bytes | None) -> Any:
    """A snapshot as JSON if it is JSON (the default codec), else its text, else hex."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()


def _where(m: Message) -> tuple[int, int]:
    # Records (not error events) always carry both; the stubs allow None for error events.
    return m.partition() or 0, m.offset() or 0


def _scan(
    settings: KafkaSettings, topic: str, visit: Callable[[Message], None], timeout: timedelta
) -> None:
    deadline = time.monotonic() + timeout.total_seconds()

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RestoreError(
                f"reading changelog {topic} did not finish within {timeout}; pass a longer "
                "--timeout or check the broker"
            )
        return remaining

    c = make_consumer(restore_consumer_config(settings.client_config(), group=f"{topic}.query"))
    try:
        t = c.list_topics(topic, timeout=left()).topics.get(topic)
        if t is None or t.error is not None:
            raise ChangelogPartitionError(
                f"changelog topic {topic!r} does not exist; check the agent and store names "
                "(topics are memory.<agent>.<store>, with AGENTSTREAM_TOPIC_PREFIX before)"
            )
        ends: dict[int, int] = {}
        for p in t.partitions:
            low, high = watermarks(c, TopicPartition(topic, p), timeout=timedelta(seconds=left()))
            if high > low:
                ends[p] = high
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        while ends:
            for m in c.consume(10_000, timeout=min(left(), 0.2)):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        ends.pop(_where(m)[0], None)
                    elif err.fatal():
                        raise RestoreError(f"reading changelog {topic} failed: {err.str()}")
                    continue
                visit(m)
                partition, offset = _where(m)
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
    finally:
        c.close()


def read_key(
    settings: KafkaSettings,
    agent: str,
    store: str,
    key: str,
    *,
    timeout: timedelta = timedelta(seconds=60),
) -> ChangelogEntry | None:
    """The latest changelog record of ``key`` (a tombstone has ``value=None``); ``None`` if the
    key was never written or compaction already removed its tombstone."""
    topic = changelog_topic(agent, store, prefix=settings.topic_prefix)
    want = key.encode()
    latest: dict[int, ChangelogEntry] = {}

    def visit(m: Message) -> None:
        if m.key() == want:
            p, o = _where(m)
            latest[p] = ChangelogEntry(key, p, o, m.value())

    _scan(settings, topic, visit, timeout)
    live = [e for e in latest.values() if e.value is not None]
    # One partition holds a key; should it have moved (the input grew), the live one wins.
    found = live or list(latest.values())
    return found[0] if found else None


def list_keys(
    settings: KafkaSettings,
    agent: str,
    store: str,
    *,
    limit: int | None = None,
    timeout: timedelta = timedelta(seconds=60),
) -> list[ChangelogEntry]:
    """Live entries of a store (tombstoned ones left out), sorted by key, at most ``limit``."""
    topic = changelog_topic(agent, store, prefix=settings.topic_prefix)
    latest: dict[tuple[int, bytes], ChangelogEntry] = {}

    def visit(m: Message) -> None:
        k = m.key()
        if k is not None:
            p, o = _where(m)
            latest[(p, k)] = ChangelogEntry(k.decode("utf-8", "replace"), p, o, m.value())

    _scan(settings, topic, visit, timeout)
    live = sorted((e for e in latest.values() if e.value is not None), key=lambda e: e.key)
    return live if limit is None else live[:limit]


def forget(
    settings: KafkaSettings,
    agent: str,
    store: str,
    key: str,
    *,
    timeout: timedelta = timedelta(seconds=60),
) -> list[int]:
    """Write a tombstone for ``key`` to every partition whose latest record of it is live; returns
    those partitions. After compaction the entity is gone from the topic, and any restore from
    now on leaves it out. An agent process that owns the partition sees the tombstone through
    its ``ForgetFollower`` and evicts the key from its local state within a poll interval."""
    topic = changelog_topic(agent, store, prefix=settings.topic_prefix)
    want = key.encode()
    live: dict[int, bool] = {}

    def visit(m: Message) -> None:
        if m.key() == want:
            live[_where(m)[0]] = m.value() is not None

    _scan(settings, topic, visit, timeout)
    partitions = sorted(p for p, alive in live.items() if alive)
    if partitions:
        writer = KafkaChangelogWriter.from_config(settings.client_config())
        for p in partitions:
            writer.producer.produce(
                topic, key=want, value=None, partition=p, headers=[(FORGET_HEADER, b"1")]
            )
        writer.flush(timeout)
    return partitions
