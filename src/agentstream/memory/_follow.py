"""``ForgetFollower``: a running owner learns of forgets written to its changelogs by others.

``agentstream memory forget`` (``forget``) writes a tombstone with the ``agentstream-forget``
header to the changelog from outside the agent. A process that already owns the partition would
keep the entity in its local state until its next restore, and fold the next event for the key
into the old state, writing the entity back. The follower closes that gap: it tails the changelog
partitions the process owns with a consumer of its own (``assign()``, never a group subscription,
so it takes no part in the agent's rebalances; ``read_committed``, so aborted writes are never
seen), starting exactly where each partition's restore stopped reading, and reports every
forget tombstone to a callback, which evicts the key (``AgentMemory`` does it on the event loop,
where reducers run, so an eviction never lands in the middle of a fold).

A partition is *followed* once its restore installed (``follow``, with the restore's end
offsets) and *unfollowed* before its state is dropped (``unfollow``). Each ``follow`` gets a new
epoch; a notice carries the epoch it was read under, so the callback can ignore notices about a
partition's previous ownership. The consumer is owned by one daemon thread, which applies
assignment changes between bounded polls and stops on ``close``.

Why a consumer of its own rather than the runtime's group consumer subscribing to the changelogs
too: the group assignor would hand out changelog partitions independently of the input
partitions (not co-located), and restore must never trigger or join rebalances.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, TopicPartition

from agentstream.bus import make_consumer
from agentstream.memory._query import FORGET_ECHO, FORGET_HEADER

__all__ = ["FollowCursor", "ForgetFollower", "ForgetNotice", "is_forget"]

log = logging.getLogger("agentstream.memory")

Headers = Sequence[tuple[str, bytes | None]] | None


@dataclass(frozen=True)
class ForgetNotice:
    """A forget tombstone read from ``topic[partition]`` at ``offset``, while ``epoch`` was the
    partition's current follow."""

    topic: str
    partition: int
    key: bytes
    offset: int
    epoch: int


def is_forget(headers: Headers, value: bytes | None) -> bool:
    """True for a tombstone written by ``forget`` (header ``agentstream-forget``), False for the
    agent's own writes, reducer deletes and the echo an eviction writes (``FORGET_ECHO``)."""
    if value is not None or not headers:
        return False
    return any(name == FORGET_HEADER and v != FORGET_ECHO for name, v in headers)


@dataclass
class _Follow:
    epoch: int
    # Changelog topic -> the next offset to act on (records before it were restored or handled).
    next: dict[str, int] = field(default_factory=dict)


class FollowCursor:
    """Which partitions are followed, under which epoch, and which offsets are still to act on.

    Pure bookkeeping (no Kafka), thread-safe: ``follow``/``unfollow`` come from the consumer
    thread, ``admit`` from the follower thread, ``epoch`` from the event loop. ``admit`` refuses
    a record read before a re-follow moved the start (a stale prefetch) and one already acted on
    (read twice across an assignment change), so a forget is acted on at most once per epoch.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._follows: dict[int, _Follow] = {}
        self._epochs = 0

    def follow(self, partition: int, starts: Mapping[str, int]) -> int:
        """Follow ``partition`` from ``starts`` (topic -> offset); returns the new epoch."""
        with self._lock:
            self._epochs += 1
            self._follows[partition] = _Follow(self._epochs, dict(starts))
            return self._epochs

    def unfollow(self, partition: int) -> bool:
        """Stop following ``partition``; False if it was not followed."""
        with self._lock:
            return self._follows.pop(partition, None) is not None

    def epoch(self, partition: int) -> int | None:
        """The current epoch of ``partition`` (``None``: not followed)."""
        with self._lock:
            f = self._follows.get(partition)
            return None if f is None else f.epoch

    def admit(self, topic: str, partition: int, offset: int) -> int | None:
        """The epoch to act on the record at ``offset`` under, or ``None`` to skip it."""
        with self._lock:
            f = self._follows.get(partition)
            if f is None or offset < f.next.get(topic, 0):
                return None
            f.next[topic] = offset + 1
            return f.epoch


class ForgetFollower:
    """Tails the followed changelog partitions and calls ``on_forget`` for each forget tombstone
    (see the module docstring). ``on_forget`` runs on the follower's thread: keep it short
    (``AgentMemory`` hands the notice to the event loop).

    - ``client_config``: librdkafka settings to reach the cluster.
    - ``group``: a ``group.id`` for the consumer (never joined or committed: ``assign()`` only).
    - ``topics``: the changelog topics to follow for each followed partition.
    - ``on_records(topic, partition, epoch, records, end)``: optional, every admitted record of
      a poll per followed partition, in order, and ``end``: the offset where the partition's end
      was reached after them (else ``None``); durable local state moves its checkpoint with it.
    - ``poll``: the longest a poll blocks, hence how late ``close`` and assignment changes act.
    """

    def __init__(
        self,
        client_config: dict[str, Any],
        *,
        group: str,
        topics: Sequence[str],
        on_forget: Callable[[ForgetNotice], None],
        on_records: Callable[[str, int, int, list[Any], int | None], None] | None = None,
        poll: timedelta = timedelta(milliseconds=200),
    ) -> None:
        self._config = {
            **client_config,
            "group.id": group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            # End-of-partition events let durable local state move its checkpoint past the
            # transaction markers at a partition's end.
            "enable.partition.eof": on_records is not None,
            # Forgets are rare and small: keep the fetch queue small, and fetch waits short so an
            # eviction follows its tombstone within a fraction of a second.
            "fetch.wait.max.ms": 100,
            "queued.max.messages.kbytes": 1024,
        }
        self._topics = list(topics)
        self._on_forget = on_forget
        self._on_records = on_records
        self._poll = poll.total_seconds()
        self.cursor = FollowCursor()
        self._lock = threading.Lock()
        # Partition -> its topic offsets to (re)assign, or None to unassign; applied by the thread.
        self._changes: dict[int, dict[str, int] | None] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, partition: int, starts: Mapping[str, int]) -> int:
        """Follow ``partition``'s changelogs from ``starts`` (topic -> offset; a missing topic is
        followed from its end). Returns the epoch notices about it will carry."""
        epoch = self.cursor.follow(partition, starts)
        with self._lock:
            self._changes[partition] = dict(starts)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="agentstream-memory-forget", daemon=True
                )
                self._thread.start()
        self._wake.set()
        return epoch

    def unfollow(self, partitions: Iterable[int]) -> None:
        """Stop following ``partitions`` (notices about them from now on are dropped)."""
        with self._lock:
            for p in partitions:
                if self.cursor.unfollow(p):
                    self._changes[p] = None
        self._wake.set()

    def epoch(self, partition: int) -> int | None:
        return self.cursor.epoch(partition)

    def close(self, *, timeout: timedelta = timedelta(seconds=10)) -> None:
        """Stop the thread (within about one poll) and close the consumer."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout.total_seconds())
            if thread.is_alive():
                log.warning("forget follower did not stop within %s", timeout)

    # -- the thread ------------------------------------------------------------------------------
    def _apply_changes(self, c: Consumer, assigned: set[int]) -> None:
        with self._lock:
            changes, self._changes = self._changes, {}
        drop = [p for p in changes if p in assigned]
        if drop:
            c.incremental_unassign([TopicPartition(t, p) for p in drop for t in self._topics])
            assigned.difference_update(drop)
        add = [
            TopicPartition(t, p, starts.get(t, OFFSET_END))
            for p, starts in changes.items()
            if starts is not None
            for t in self._topics
        ]
        if add:
            c.incremental_assign(add)
            assigned.update(tp.partition for tp in add)

    def _run(self) -> None:
        c = make_consumer(self._config)
        assigned: set[int] = set()
        try:
            while not self._stop.is_set():
                self._apply_changes(c, assigned)
                if not assigned:
                    self._wake.wait(self._poll)
                    self._wake.clear()
                    continue
                seen: dict[tuple[str, int, int], list[Any]] = {}
                ends: dict[tuple[str, int, int], int] = {}
                for m in c.consume(500, timeout=self._poll):
                    err = m.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("forget follower: %s", err.str())
                        else:
                            self._at_end(m, seen, ends)
                        continue
                    self._visit(m.topic() or "", m.partition() or 0, m.offset() or 0, m, seen)
                if self._on_records is not None:
                    for key in {**seen, **dict.fromkeys(ends)}:
                        self._on_records(*key, seen.get(key, []), ends.get(key))
        except Exception:
            # A follower that stopped leaves forgets to the next restore, as before it existed.
            log.exception("forget follower stopped; forgets reach this process on its next restore")
        finally:
            c.close()

    def _at_end(
        self,
        m: Any,
        seen: dict[tuple[str, int, int], list[Any]],
        ends: dict[tuple[str, int, int], int],
    ) -> None:
        """An end-of-partition event: every committed record before ``m.offset()`` was read."""
        topic, partition, offset = m.topic() or "", m.partition() or 0, m.offset()
        epoch = self.cursor.epoch(partition)
        if self._on_records is None or epoch is None or offset is None or offset < 0:
            return
        ends[(topic, partition, epoch)] = offset

    def _visit(
        self,
        topic: str,
        partition: int,
        offset: int,
        m: Any,
        seen: dict[tuple[str, int, int], list[Any]] | None = None,
    ) -> None:
        epoch = self.cursor.admit(topic, partition, offset)
        if epoch is not None and seen is not None:
            seen.setdefault((topic, partition, epoch), []).append(m)
        key = m.key()
        if epoch is None or key is None or not is_forget(m.headers(), m.value()):
            return
        self._on_forget(ForgetNotice(topic, partition, key, offset, epoch))
