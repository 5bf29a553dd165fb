"""Dedupe on event id, in both delivery modes: an input already handled is recognised after a
redelivery, an upstream duplicate (the same event written twice) or a repeated dead-letter replay.

A transaction protects one delivery; the event id protects the fact. Under exactly-once the
markers are written by the ledger into the open transaction, just before it commits, and keys
remembered since the last commit stay *provisional*: a commit makes them permanent, an abort
forgets them (their inputs are processed again), see ``commit_pending`` / ``abort_pending``.

Why and how (chosen to be correct and cheap):

- When an input is finished (handled or dead-lettered) and everything it emitted is
  acknowledged, the runtime queues its marker for ``_agentstream.dedupe.<agent>``, partition
  ``input partition % N``; every commit first waits until the markers queued before it are
  acknowledged, so a committed offset never passes an input without its marker. The producer
  batches the markers queued in one poll into one record per partition (value: a JSON list of
  dedupe keys) and writes a failed batch again. Single-key markers (``key = dedupe key,
  value = b""``, written by earlier versions) are read back too.
- The dedupe key is the event id (``meta.id``), so upstream duplicates (an upstream agent
  re-emitting after its own crash writes the same deterministic id) are caught too; undecodable
  inputs use ``@topic/partition/offset``. A replay from the dead-letter topic adds
  ``#replay-<dlq offset>``, so a replay the user asked for is never swallowed, yet replaying the
  same dead letter twice is handled once.
- On partition assignment the markers of the matching dedupe partitions younger than the
  window are read back (``offsets_for_times(now - window)`` to the end): restart and rebalance
  cost one bounded read, with no per-input lookups. The topic is ``cleanup.policy=delete`` with a
  retention of twice the window, so it never grows beyond it.

The guarantee: an input whose marker was acknowledged (exactly-once: committed) is not handled
again within the window. At-least-once, an input that was unfinished when the process died has
no marker and is handled again, bounded by ``max_pending`` at the moment of the crash;
exactly-once, its outputs were aborted with its marker, so it is handled once in effect.
Markers are read back ``read_committed``: an aborted marker never hides an input.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream.bus import ensure_topic, make_consumer, watermarks
from agentstream.runtime._producer import decode_markers

__all__ = ["DedupeStore", "dedupe_topic"]

log = logging.getLogger("agentstream.runtime")


def dedupe_topic(agent: str, *, prefix: str = "") -> str:
    return f"{prefix}_agentstream.dedupe.{agent}"


class DedupeStore:
    """Handled dedupe keys of the last ``window`` (memory bounded by ``max_ids``), thread-safe."""

    def __init__(
        self, topic: str, *, window: timedelta, partitions: int = 1, max_ids: int = 2_000_000
    ) -> None:
        self.topic = topic
        self.window = window
        self.partitions = max(1, partitions)
        self.max_ids = max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()
        # Exactly-once: keys remembered since the last transaction commit (None: at-least-once).
        self._provisional: set[str] | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.window > timedelta(0)

    def transactional(self) -> None:
        """Exactly-once: keys stay provisional until ``commit_pending`` (forgotten by
        ``abort_pending``)."""
        with self._lock:
            if self._provisional is None:
                self._provisional = set()

    def seen(self, key: str) -> bool:
        # Without the lock (this runs for every input): each membership test is one atomic
        # operation on the dict or set, whichever thread writes them meanwhile.
        if key in self._seen:
            return True
        provisional = self._provisional
        return provisional is not None and key in provisional

    def commit_pending(self) -> int:
        """The open transaction committed: its provisional keys become permanent."""
        with self._lock:
            keys, self._provisional = self._provisional or set(), set()
        if keys:
            self.remember_many(keys, _permanent=True)
        return len(keys)

    def abort_pending(self) -> int:
        """The open transaction aborted: forget its keys (their inputs run again)."""
        with self._lock:
            n = len(self._provisional or ())
            if self._provisional is not None:
                self._provisional = set()
        return n

    def remember(self, key: str, at: float | None = None) -> None:
        self.remember_many((key,), at)

    def remember_many(
        self, keys: Iterable[str], at: float | None = None, *, _permanent: bool = False
    ) -> None:
        """Remember handled keys (as of ``at``, default now) and drop those out of the window.

        Exactly-once, keys of the open transaction are provisional (``transactional``)."""
        now = time.time()
        stamp = now if at is None else at
        seen = self._seen
        with self._lock:
            if self._provisional is not None and not _permanent:
                self._provisional.update(keys)
                return
            for key in keys:
                if key in seen:  # seen again (a replay): now the newest
                    seen.move_to_end(key)
                seen[key] = stamp
            horizon = now - self.window.total_seconds()
            while seen and (len(seen) > self.max_ids or next(iter(seen.values())) < horizon):
                seen.popitem(last=False)

    def marker_partition(self, input_partition: int) -> int:
        return input_partition % self.partitions

    def ensure_topic(self, admin: AdminClient, *, partitions: int, timeout: float = 30) -> None:
        """Create the marker topic if missing (idempotent); its partition count is then read."""
        retention_ms = int(max(self.window * 2, timedelta(hours=1)).total_seconds() * 1000)
        # Waits for leaders: offset lookups on a topic created a moment ago fail otherwise.
        self.partitions = ensure_topic(
            admin,
            self.topic,
            partitions=max(1, partitions),
            config={"cleanup.policy": "delete", "retention.ms": str(retention_ms)},
            timeout=timedelta(seconds=timeout),
        )

    def restore(
        self, client_config: dict[str, Any], input_partitions: Iterable[int], *, timeout: float
    ) -> int:
        """Load the markers of the window for these input partitions; returns how many."""
        if not self.enabled:
            return 0
        wanted = sorted({self.marker_partition(p) for p in input_partitions})
        if not wanted:
            return 0
        start_ms = int((time.time() - self.window.total_seconds()) * 1000)
        c = make_consumer(
            {
                **client_config,
                "group.id": f"{self.topic}.restore",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                # Exactly-once markers of aborted transactions must not count.
                "isolation.level": "read_committed",
            }
        )
        loaded = 0
        try:
            starts = c.offsets_for_times(
                [TopicPartition(self.topic, p, start_ms) for p in wanted], timeout=timeout
            )
            todo: dict[int, int] = {}
            assign: list[TopicPartition] = []
            for tp in starts:
                _, high = watermarks(
                    c, TopicPartition(self.topic, tp.partition), timeout=timedelta(seconds=timeout)
                )
                if tp.offset >= 0 and tp.offset < high:
                    todo[tp.partition] = high
                    assign.append(TopicPartition(self.topic, tp.partition, tp.offset))
            if not assign:
                return 0
            c.assign(assign)
            loaded = self._read(c, todo, time.monotonic() + timeout)
        finally:
            c.close()
        return loaded

    def _read(self, c: Consumer, todo: dict[int, int], deadline: float) -> int:
        """Read assigned marker partitions until each reaches its end offset in ``todo``."""
        loaded = 0
        while todo:
            if time.monotonic() > deadline:
                log.warning("dedupe restore of %s stopped at its deadline", self.topic)
                break
            for msg in c.consume(num_messages=1000, timeout=0.5):
                err, part, key = msg.error(), int(msg.partition() or 0), msg.key()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        todo.pop(part, None)
                    continue
                at = msg.timestamp()[1] / 1000
                keys = decode_markers(key, msg.value())
                self.remember_many(keys, at, _permanent=True)
                loaded += len(keys)
                if int(msg.offset() or 0) + 1 >= todo.get(part, 0):
                    todo.pop(part, None)
        return loaded
