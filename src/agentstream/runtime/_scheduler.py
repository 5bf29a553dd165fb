"""Key-ordered concurrency with a safe commit watermark (the idea of Confluent's Parallel Consumer).

Pure bookkeeping, no Kafka and no asyncio, so it is unit- and property-tested on its own:

- Records with the same ordering key (``(topic, partition, key)``; a null key orders by partition)
  start one after another in offset order: the next starts once the previous one's handler has
  *returned* (its writes are queued on the producer, which keeps their order per partition);
  different keys run concurrently. ``max_in_flight`` bounds the handlers running; a record whose
  handler returned and that only waits for the broker's acknowledgements (``settling``) holds
  neither a slot nor its key. With ``key_waits_for_acks`` (exactly-once) it keeps its key until
  it finished: a transactional producer fails for good (librdkafka: "sequence
  desynchronization", fatal) when a broker crash leaves its in-flight writes unresolved, and
  keys running ahead of their acknowledgements keep many more writes in flight — the
  broker-restart tests failed every time that way.
- Records of a key *finish* (become committable, their dedupe marker queued) in offset order: one
  whose writes are acknowledged before its predecessor's waits for it (``finish`` returns what
  finished).
- A write that fails after its handler returned (``rollback``): the key's later records that
  started meanwhile are put back in front of its queue (as new items, so that late callbacks of
  the old ones are ignored), and the key waits for the failed record's retry. The key's outputs
  are then its inputs' in offset order, with the rolled-back ones written again after the retry —
  a replayed suffix, as after a crash under at-least-once (their first writes are duplicates).
- At most ``max_pending`` records are accepted and unfinished at a time (queued + running); the
  consumer pauses fetching when ``room() == 0`` instead of buffering without limit.
- Per partition the commit watermark is the lowest unfinished offset (or last seen + 1): a
  finished record above an unfinished one is never covered by a commit.

All methods take one lock, because the consumer thread adds and revokes while the event loop
starts and finishes work.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agentstream.runtime import pressure as _pressure

__all__ = ["KeyOrderedScheduler", "SchedulerStats", "WorkItem", "default_max_pending"]

TopicPartition = tuple[str, int]
_OrderKey = tuple[str, int, bytes | None]


class WorkItem:
    """One consumed record on its way through the scheduler (compared by identity).

    ``tp`` and ``order_key`` are computed once: the scheduler looks them up several times per
    record. ``dkey`` is the dedupe key the ledger writes a marker for once it finishes.
    """

    __slots__ = ("dkey", "key", "offset", "order_key", "partition", "payload", "topic", "tp")

    def __init__(
        self, topic: str, partition: int, offset: int, key: bytes | None, payload: Any = None
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.payload = payload
        self.tp: TopicPartition = (topic, partition)
        self.order_key: _OrderKey = (topic, partition, key)
        self.dkey: str | None = None

    def again(self) -> WorkItem:
        """The same record as a new item, to run again (``KeyOrderedScheduler.rollback``)."""
        return WorkItem(self.topic, self.partition, self.offset, self.key, self.payload)

    def __repr__(self) -> str:
        return f"WorkItem({self.topic!r}, {self.partition}, {self.offset}, {self.key!r})"


@dataclass
class SchedulerStats:
    """Counters the runtime exports and the back-pressure tests assert on."""

    accepted: int = 0
    finished: int = 0
    dropped: int = 0
    duplicates_ignored: int = 0
    rolled_back: int = 0
    max_running_seen: int = 0
    max_pending_seen: int = 0


@dataclass
class _PartitionOffsets:
    """Offsets of one partition in arrival (= offset) order, for the lowest-unfinished watermark."""

    unfinished_order: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    last_seen: int = -1

    def add(self, offset: int) -> bool:
        if offset <= self.last_seen:
            return False
        self.unfinished_order.append(offset)
        self.last_seen = offset
        return True

    def finish(self, offset: int) -> None:
        self.done.add(offset)
        # Amortised O(1): pop the finished prefix so the head is the lowest unfinished offset.
        while self.unfinished_order and self.unfinished_order[0] in self.done:
            self.done.discard(self.unfinished_order.popleft())

    def watermark(self) -> int | None:
        """Next offset to commit, or None if nothing was seen yet."""
        if self.unfinished_order:
            return self.unfinished_order[0]
        return self.last_seen + 1 if self.last_seen >= 0 else None


def default_max_pending(max_in_flight: int) -> int:
    """Records accepted ahead of the handlers: ``max(2000, 16 * max_in_flight)``.

    Pausing and resuming a librdkafka consumer costs a fetch round trip (hundreds of ms), so a
    buffer only a few times ``max_in_flight`` deep pauses after every batch and starves fast
    handlers; a few thousand small records cost a few MB.
    """
    return max(2000, 16 * max_in_flight)


class KeyOrderedScheduler:
    """Per-key FIFO queues, a bound on running and pending work, and per-partition watermarks.

    ``max_in_flight`` (running handlers) and ``max_pending`` (accepted but unfinished records,
    default ``default_max_pending(max_in_flight)``) are hard bounds for ``take_ready`` and
    ``room``.
    """

    def __init__(
        self,
        *,
        max_in_flight: int,
        max_pending: int | None = None,
        key_waits_for_acks: bool = False,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.max_in_flight = max_in_flight
        self.key_waits_for_acks = key_waits_for_acks
        self.max_pending = max(max_pending or default_max_pending(max_in_flight), max_in_flight)
        self.stats = SchedulerStats()
        self._lock = threading.RLock()
        self._queues: dict[_OrderKey, deque[WorkItem]] = {}
        # Who holds each key: the item whose handler runs, or a rolled-back item until it ran
        # again; the key's next record starts once it lets go (settles or finishes).
        self._holders: dict[_OrderKey, WorkItem] = {}
        self._ready: deque[_OrderKey] = deque()  # keys with a queued head and no holder
        self._offsets: dict[TopicPartition, _PartitionOffsets] = {}
        self._running: set[WorkItem] = set()  # started and unfinished (handling or settling)
        self._settling: set[WorkItem] = set()  # handler returned (or finished early): no slot
        self._chains: dict[_OrderKey, deque[WorkItem]] = {}  # started, unfinished, in order
        self._early: set[WorkItem] = set()  # acknowledged, waiting for a predecessor to finish
        self._active = 0  # len(_running) - len(_settling): handlers holding a slot
        self._pending = 0

    # -- intake -------------------------------------------------------------------------------
    def add(self, item: WorkItem) -> bool:
        """Queue a record; False (and ignored) if its offset was already seen for the partition."""
        return self.add_many((item,)) == 1

    def add_many(self, items: Iterable[WorkItem]) -> int:
        """Queue fetched records under one lock; returns how many were accepted (a record whose
        offset was already seen for its partition is ignored)."""
        accepted = 0
        with self._lock:
            offsets, queues, holders, ready = (self._offsets, self._queues, self._holders,
                                               self._ready)
            for item in items:
                offs = offsets.get(item.tp)
                if offs is None:
                    offs = offsets[item.tp] = _PartitionOffsets()
                if not offs.add(item.offset):
                    self.stats.duplicates_ignored += 1
                    continue
                key = item.order_key
                queue = queues.get(key)
                if queue is None:
                    queue = queues[key] = deque()
                queue.append(item)
                if len(queue) == 1 and key not in holders:
                    ready.append(key)
                accepted += 1
            self._pending += accepted
            self.stats.accepted += accepted
            self.stats.max_pending_seen = max(self.stats.max_pending_seen, self._pending)
        return accepted

    def room(self) -> int:
        """How many more records may be accepted before the consumer must pause."""
        with self._lock:
            if _pressure._SOURCES and _pressure.fetch_paused():
                return 0  # an outside limit (LLM rate limiter) asks the consumer to pause
            return max(0, self.max_pending - self._pending)

    # -- execution ----------------------------------------------------------------------------
    def take_ready(self, limit: int | None = None) -> list[WorkItem]:
        """Items that may start now (each the head of its key's queue), marked running; at most
        ``limit`` of them when given."""
        out: list[WorkItem] = []
        with self._lock:
            bound = self._bound()
            if limit is not None:
                bound = min(bound, self._active + limit)
            while self._ready and self._active < bound:
                out.append(self._start_next())
            self.stats.max_running_seen = max(self.stats.max_running_seen, self._active)
        return out

    def take_next(self) -> WorkItem | None:
        """``take_ready(1)`` for a worker that just gave its slot back: the next item, or None."""
        with self._lock:
            if not self._ready or self._active >= self._bound():
                return None
            item = self._start_next()
            self.stats.max_running_seen = max(self.stats.max_running_seen, self._active)
            return item

    def _bound(self) -> int:
        """How many may run now: ``max_in_flight``, or less while an outside limit asks."""
        if _pressure._SOURCES:
            return min(self.max_in_flight, _pressure.concurrency_cap() or self.max_in_flight)
        return self.max_in_flight

    def _start_next(self) -> WorkItem:
        key = self._ready.popleft()
        item = self._queues[key].popleft()
        self._holders[key] = item
        self._running.add(item)
        self._active += 1
        chain = self._chains.get(key)
        if chain is None:
            self._chains[key] = deque((item,))
        else:
            chain.append(item)
        return item

    def settling(self, item: WorkItem) -> None:
        """The item's handler returned; it only waits for acknowledgements: free its slot, and
        its key for the key's next record."""
        with self._lock:
            if item in self._running and item not in self._settling:
                self._settling.add(item)
                self._active -= 1
                if not self.key_waits_for_acks and self._holders.get(item.order_key) is item:
                    self._next_of_key(item.order_key)

    def _next_of_key(self, key: _OrderKey) -> None:
        del self._holders[key]
        queue = self._queues.get(key)
        if queue:
            self._ready.append(key)
        elif queue is not None:
            del self._queues[key]

    def rollback(self, item: WorkItem) -> bool:
        """``item``'s writes failed after its handler returned: it runs again before the rest of
        its key. The key's records that started after it go back to the front of the key's
        queue as new items (callbacks of the old ones are then ignored) and the key is held by
        ``item`` until it ran again (``reacquire``, then ``settling``) or finished (dead-lettered).
        False, and nothing changes, if ``item`` is not running (revoked, or rolled back itself).
        """
        with self._lock:
            if item not in self._running:
                return False
            key = item.order_key
            chain = self._chains[key]
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
            while chain[-1] is not item:  # newest first, so the oldest ends up in front
                later = chain.pop()
                self._running.discard(later)
                self._early.discard(later)
                self._release_slot(later)
                queue.appendleft(later.again())
                self.stats.rolled_back += 1
            if self._holders.get(key) is None:
                with contextlib.suppress(ValueError):
                    self._ready.remove(key)  # its head was ready: it waits for ``item`` now
            self._holders[key] = item
            return True

    def started(self, item: WorkItem) -> bool:
        """Whether ``item`` is started and unfinished (not rolled back, not revoked)."""
        return item in self._running

    def reacquire(self, item: WorkItem) -> bool:
        """A settling item must run its handler again (a retry after ``rollback``): take a slot
        if one is free."""
        with self._lock:
            if item not in self._settling:
                return True
            if self._active >= self.max_in_flight:
                return False
            self._settling.discard(item)
            self._active += 1
            self.stats.max_running_seen = max(self.stats.max_running_seen, self._active)
            return True

    def finish(self, item: WorkItem) -> list[WorkItem]:
        """Mark an item finished (its writes acknowledged, or nothing to write); see
        ``finish_many``."""
        return self.finish_many((item,))

    def finish_many(
        self,
        items: Iterable[WorkItem],
        on_finished: Callable[[list[WorkItem]], None] | None = None,
    ) -> list[WorkItem]:
        """Mark items finished, under one lock; returns those that finished, in key order.

        An item whose key predecessor has not finished yet waits for it (and finishes with it).
        ``on_finished`` gets the finished items before their offsets count as finished (the
        ledger queues their dedupe markers there). Items of a revoked partition are ignored.
        """
        done: list[WorkItem] = []
        with self._lock:
            for item in items:
                self._finish(item, done)
            if on_finished is not None and done:
                on_finished(done)
            offsets = self._offsets
            for item in done:
                self._running.discard(item)
                self._settling.discard(item)
                offs = offsets.get(item.tp)
                if offs is not None:
                    offs.finish(item.offset)
            self._pending -= len(done)
            self.stats.finished += len(done)
        return done

    def _finish(self, item: WorkItem, done: list[WorkItem]) -> None:
        if item not in self._running or item in self._early:
            return  # revoked and forgotten, rolled back, or told twice
        key = item.order_key
        if item not in self._settling:  # finished straight from running: nothing to wait for
            self._settling.add(item)
            self._active -= 1
        if self._holders.get(key) is item:
            self._next_of_key(key)
        chain = self._chains[key]
        if chain[0] is not item:
            self._early.add(item)
            return
        chain.popleft()
        done.append(item)
        while chain and chain[0] in self._early:
            later = chain.popleft()
            self._early.discard(later)
            done.append(later)
        if not chain:
            del self._chains[key]

    # -- commit watermarks ----------------------------------------------------------------------
    def watermarks(self, tps: Iterable[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """Per partition, the offset to commit: every offset below it is finished."""
        with self._lock:
            wanted = self._offsets.keys() if tps is None else [t for t in tps if t in self._offsets]
            out: dict[TopicPartition, int] = {}
            for tp in wanted:
                mark = self._offsets[tp].watermark()
                if mark is not None:
                    out[tp] = mark
            return out

    # -- revocation, introspection ---------------------------------------------------------------
    def _release_slot(self, item: WorkItem) -> None:
        if item in self._settling:
            self._settling.discard(item)
        else:
            self._active -= 1

    def drop_queued(self, tps: Iterable[TopicPartition] | None = None) -> list[WorkItem]:
        """Remove queued (not started) items; their offsets stay unfinished for the watermark."""
        wanted = None if tps is None else set(tps)
        dropped: list[WorkItem] = []
        with self._lock:
            for key in list(self._queues):
                if wanted is not None and (key[0], key[1]) not in wanted:
                    continue
                queue = self._queues[key]
                dropped.extend(queue)
                queue.clear()
                if key not in self._holders:
                    del self._queues[key]
            self._ready = deque(k for k in self._ready if self._queues.get(k))
            self._pending -= len(dropped)
            self.stats.dropped += len(dropped)
        return dropped

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop every trace of partitions that left the assignment (after their final commit)."""
        gone = set(tps)
        self.drop_queued(gone)
        with self._lock:
            for item in [i for i in self._running if i.tp in gone]:
                self._running.discard(item)
                self._early.discard(item)
                self._release_slot(item)
                self._pending -= 1
            for table in (self._queues, self._holders, self._chains):
                for key in [k for k in table if (k[0], k[1]) in gone]:
                    del table[key]
            self._ready = deque(k for k in self._ready if (k[0], k[1]) not in gone)
            for tp in gone:
                self._offsets.pop(tp, None)

    def running(self, tps: Iterable[TopicPartition] | None = None) -> list[WorkItem]:
        with self._lock:
            if tps is None:
                return list(self._running)
            wanted = set(tps)
            return [i for i in self._running if i.tp in wanted]

    def queued_behind(self, items: Iterable[WorkItem]) -> int:
        """How many records are queued behind the keys of ``items``."""
        with self._lock:
            return sum(len(self._queues.get(k, ())) for k in {i.order_key for i in items})

    @property
    def running_count(self) -> int:
        """Handlers holding a slot (at most ``max_in_flight``)."""
        with self._lock:
            return self._active

    @property
    def settling_count(self) -> int:
        """Records whose handler returned and that wait for their acknowledgements."""
        with self._lock:
            return len(self._settling)

    @property
    def pending_count(self) -> int:
        with self._lock:
            return self._pending
