"""The runtime's side of an agent's memory stores: changelog writes, partitions, readiness.

``AgentMemory`` wraps one ``StoreManager`` for a running agent:

- **Writes** go through the agent's own producer (``ProducerChangelogWriter``): each changelog
  record's acknowledgement is added to the acknowledgements of the input being handled (a context
  variable names them), so an input counts as finished only once its changelog writes are durable
  (at-least-once: before its offset is committed), and in exactly-once mode they join the same
  transaction as its outputs and offset.
- **Partitions**: ``assign`` restores the stores of new partitions and blocks until done, so
  no event of a partition is fetched (let alone handled) before its state is back. A caller
  that must not block (a rebalance callback should return at once, or the group stalls) uses
  ``begin_assign`` instead: it returns at once, restores on worker threads, and reports each
  partition ready through ``on_ready``, ``ready(tp)`` or ``take_ready()``; the caller keeps
  the partition paused until then. ``revoke`` runs after the partition's in-flight work
  finished and its offsets were committed. Stores are keyed by input *partition number*:
  several input topics must be co-partitioned (same partition count).
- **Durable state** (``MemorySettings.state_dir``): RocksDB stores keep each partition on disk
  with a local checkpoint; an assignment reads only the changelog past it, and the forget
  follower moves the checkpoint forward as it reads the agent's committed writes back.
- **Readiness**: ``readiness()`` for ``/readyz`` reports partitions still restoring.
- **Forgets from outside** (``agentstream memory forget``): a ``ForgetFollower`` tails the
  changelog partitions this process owns, from where their restore stopped, and each forget
  tombstone it reads evicts the key from local state. The eviction runs on the event loop, where
  reducers run (synchronously), so it never interleaves with a fold: the next event for the key
  folds from an empty state. An event folded between the tombstone's append and the eviction
  wrote the old entity back after the tombstone; so when the key was still held, the eviction
  also writes a tombstone of its own through the agent's producer (header value ``echo``, which
  followers ignore). Being written on the loop at eviction time, it lands after every write
  folded from the old state and before every write folded after the eviction (one producer,
  one partition, in order; in exactly-once mode it joins the open transaction). Limitation: a
  *handler* that reads a key, awaits, then writes it may write back what it read before an
  eviction that ran during its await; reducers cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.errors import (
    ChangelogPartitionError,
    ChangelogWriteError,
    StoreNotReadyError,
    TopicProvisionError,
)
from agentstream.memory import (
    FORGET_ECHO,
    FORGET_HEADER,
    ForgetFollower,
    ForgetNotice,
    MemorySettings,
    PartitionStatus,
    Store,
    StoreManager,
    ensure_changelog_topics,
)
from agentstream.runtime._agent import Agent
from agentstream.runtime._producer import Acks, OutputProducer

__all__ = ["AgentMemory", "BoundStore", "ProducerChangelogWriter", "collecting"]

log = logging.getLogger("agentstream.runtime")

TP = tuple[str, int]

# An echo tombstone refused at once (exactly-once: produced while the transaction commits) is
# retried this often, this many times (about 5 s), before the eviction is left to the next restore.
_ECHO_RETRY = timedelta(milliseconds=50)
_ECHO_ATTEMPTS = 100

# The acknowledgements of the input being handled; changelog writes add theirs to it (counted
# into the engine's ``Acks``, or as futures into a plain list).
_SINK: ContextVar[Acks | list[asyncio.Future[None]] | None] = ContextVar(
    "agentstream_changelog_acks", default=None
)


@contextlib.contextmanager
def collecting(acks: Acks | list[asyncio.Future[None]]) -> Iterator[None]:
    """Within the block (and tasks it starts), changelog writes report to ``acks``."""
    token = _SINK.set(acks)
    try:
        yield
    finally:
        _SINK.reset(token)


class ProducerChangelogWriter:
    """A ``ChangelogWriter`` over the runtime's ``OutputProducer`` (see the module docstring)."""

    def __init__(self, producer: OutputProducer) -> None:
        self._producer = producer

    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        sink = _SINK.get()
        if sink is None:
            raise ChangelogWriteError(
                f"memory write to {topic} outside of an event's handling; change stores from a "
                "handler (ctx.store(name)) or a reducer, so the write commits with its input"
            )
        if isinstance(sink, Acks):
            self._producer.send_counted(topic, value, key=key, partition=partition, acks=sink)
        else:
            sink.append(self._producer.send(topic, value, key=key, partition=partition))


class BoundStore:
    """A key-value store as a handler sees it: keys live on the input's partition."""

    def __init__(self, store: Store, partition: int) -> None:
        self._store = store
        self.partition = partition

    def get(self, key: str) -> Any | None:
        """The state of ``key`` (``None`` if absent)."""
        return self._store.get(key, partition=self.partition)

    def put(self, key: str, value: Any) -> None:
        """Set ``key``'s state; the changelog write commits with the input."""
        self._store.put(key, value, self.partition)

    def delete(self, key: str) -> None:
        """Forget ``key`` (a tombstone in the changelog)."""
        self._store.delete(key, self.partition)

    def items(self) -> Iterator[tuple[str, Any]]:
        """The entities of this partition."""
        return self._store.items(partition=self.partition)


class AgentMemory:
    """One agent process's stores (see the module docstring)."""

    def __init__(
        self,
        agent: Agent,
        *,
        kafka: KafkaSettings,
        producer: OutputProducer,
        restore_timeout: timedelta | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        settings: MemorySettings | None = None,
    ) -> None:
        # Evictions run where handlers and reducers run: the loop the agent is created on.
        self._loop = loop or asyncio.get_running_loop()
        self._producer = producer
        self._closed = False
        self.settings = settings or MemorySettings()
        self.restore_timeout = restore_timeout or self.settings.restore_timeout
        self.manager = StoreManager(
            agent.name,
            agent.stores,
            writer=ProducerChangelogWriter(producer),
            settings=kafka,
            restore_timeout=self.restore_timeout,
            restore_concurrency=self.settings.restore_concurrency,
            durable_dir=self.settings.state_dir,
            checkpoint_max_age=self.settings.checkpoint_max_age,
            prune_after=self.settings.prune_after,
        )
        self._lock = threading.Lock()
        self._tps: set[TP] = set()
        self._followed: set[int] = set()
        # Ready since the last take_ready (a dict: insertion order, each tp once, bounded by the
        # partitions held even when nobody takes them, as with the blocking ``assign``).
        self._ready_new: dict[TP, None] = {}
        self._store_of = {self.manager.any_store(n).topic: n for n in self.manager.names}
        durable = self.settings.state_dir is not None and any(
            self.manager.any_store(n).backend == "rocksdb" for n in self.manager.names
        )
        self.follower = ForgetFollower(
            kafka.client_config(),
            group=f"{kafka.topic_prefix}memory.{agent.name}.forget",
            topics=list(self._store_of),
            on_forget=self._on_forget,
            on_records=self._on_records if durable else None,
        )

    def ensure_topics(self, admin: AdminClient, input_partitions: dict[str, int]) -> None:
        """Create the changelogs with the inputs' partition count (which must be one count)."""
        counts = set(input_partitions.values())
        if len(counts) != 1:
            raise ChangelogPartitionError(
                "memory stores need co-partitioned inputs (one partition count), got "
                f"{input_partitions or 'no existing input topics'}; create the input topics "
                "first, with equal partition counts"
            )
        partitions = counts.pop()
        try:
            ensure_changelog_topics(admin, self.manager.topics, partitions=partitions)
        except TopicProvisionError:
            # Another process of this agent created them at the same moment: check them again.
            ensure_changelog_topics(admin, self.manager.topics, partitions=partitions)

    def assign(self, tps: Iterable[TP]) -> None:
        """Restore the partitions new to this process; blocks (consumer thread) until done
        (``TimeoutError`` after ``restore_timeout``, or the restore's error)."""
        tps = list(tps)
        futures = self.begin_assign(tps)
        if not futures:
            return
        parts = sorted({p for _, p in tps})
        log.info("restoring memory of partition(s) %s", parts)
        deadline = time.monotonic() + self.restore_timeout.total_seconds()
        ready: set[int] = set()
        for (_, p), fut in futures.items():
            if p not in ready and fut.result(timeout=max(0.0, deadline - time.monotonic())):
                self._settle_ready(p)  # the done-callback may still be on its way
                ready.add(p)
        log.info("memory of partition(s) %s restored", sorted(ready))

    def begin_assign(
        self, tps: Iterable[TP], *, on_ready: Callable[[TP], None] | None = None
    ) -> dict[TP, Future[bool]]:
        """Start restoring the partitions of ``tps`` and return at once (safe in a rebalance
        callback). One future per topic-partition: True once its partition is restored (then
        ``ready(tp)`` is True and it is listed once by ``take_ready``), False if it was revoked
        first, or the restore's error (``RestoreError``, ``ChangelogPartitionError``).
        ``on_ready(tp)`` is called for each tp that becomes ready, on a restore thread (keep it
        short: e.g. wake the consumer loop, which resumes the partition). Partitions already
        held (another input topic of the same partition number) resolve with that restore."""
        tps = list(tps)
        with self._lock:
            self._tps.update(tps)
        if not tps:
            return {}
        futures = self.manager.begin_assign({p for _, p in tps})
        out: dict[TP, Future[bool]] = {}
        for tp in tps:
            fut = out[tp] = futures[tp[1]]
            fut.add_done_callback(functools.partial(self._restored, tp, on_ready=on_ready))
        return out

    def _restored(
        self, tp: TP, fut: Future[bool], *, on_ready: Callable[[TP], None] | None
    ) -> None:
        """A partition's restore settled (a restore thread, or the caller if already done)."""
        if fut.cancelled() or fut.exception() is not None or not fut.result():
            return
        if self._settle_ready(tp[1], tp) and on_ready is not None:
            try:
                on_ready(tp)
            except Exception:
                log.exception("on_ready callback failed for %s[%d]", *tp)

    def _settle_ready(self, partition: int, tp: TP | None = None) -> bool:
        """Follow a restored partition's changelogs (once per restore); True if ``tp`` is held
        and ready."""
        with self._lock:
            if not self.manager.is_ready(partition) or all(p != partition for _, p in self._tps):
                return False
            if partition not in self._followed:
                self._followed.add(partition)
                self.follower.follow(partition, self.manager.restored_ends(partition))
            if tp is not None and tp in self._tps:
                self._ready_new[tp] = None
                return True
            return False

    def ready(self, tp: TP) -> bool:
        """True when ``tp`` is held and its partition's stores are restored."""
        with self._lock:
            held = tp in self._tps
        return held and self.manager.is_ready(tp[1])

    def take_ready(self) -> list[TP]:
        """Topic-partitions that became ready since the last call (each listed once per
        restore), for a consumer loop that resumes them; revoked ones are left out."""
        with self._lock:
            out, self._ready_new = self._ready_new, {}
            return [tp for tp in out if tp in self._tps and self.manager.is_ready(tp[1])]

    def pending(self) -> list[TP]:
        """Held topic-partitions whose stores are not restored yet (restoring or failed)."""
        with self._lock:
            tps = sorted(self._tps)
        return [tp for tp in tps if not self.manager.is_ready(tp[1])]

    def revoke(self, tps: Iterable[TP]) -> None:
        """Drop the state of partitions no input topic-partition of this process needs (durable
        state is closed and kept: a later assignment reads only the changelog tail)."""
        with self._lock:
            self._tps.difference_update(tps)
            held = {p for _, p in self._tps}
            gone = [
                p
                for p, s in self.manager.statuses().items()
                if p not in held and s not in (PartitionStatus.REVOKED, PartitionStatus.IDLE)
            ]
            for tp in [tp for tp in self._ready_new if tp not in self._tps]:
                del self._ready_new[tp]
            if gone:
                # Unfollow first: an eviction still queued for a dropped partition is then ignored.
                self.follower.unfollow(gone)
                self._followed.difference_update(gone)
        if gone:
            self.manager.revoke(gone)

    def reload(self, tps: Iterable[TP]) -> None:
        """Drop and restore again (an aborted transaction left local state ahead of the log)."""
        tps = list(tps)
        self.revoke(tps)
        self.assign(tps)

    def apply(self, event: Any, partition: int) -> int:
        return self.manager.apply(event, partition)

    def bound(self, name: str, partition: int) -> BoundStore:
        return BoundStore(self.manager.store(name), partition)

    def readiness(self) -> tuple[bool, str]:
        restoring = {
            p: s.value
            for p, s in self.manager.statuses().items()
            if s in (PartitionStatus.RESTORING, PartitionStatus.FAILED)
        }
        return (not restoring, "restored" if not restoring else f"restoring: {restoring}")

    # -- forgets from outside --------------------------------------------------------------------
    def _on_records(
        self, topic: str, partition: int, epoch: int, records: list[Any], end: int | None
    ) -> None:
        """Follower thread: committed changelog records read back move the local checkpoint."""
        if self._closed or self.follower.epoch(partition) != epoch:
            return
        try:
            self.manager.follow_committed(self._store_of[topic], partition, records, end=end)
        except Exception:  # the checkpoint just stays where it was: a restart reads more
            log.exception("could not move the local checkpoint of %s[%d]", topic, partition)

    def _on_forget(self, notice: ForgetNotice) -> None:
        """Follower thread: hand the notice to the loop (see the module docstring)."""
        # A closed loop (RuntimeError) means the process is stopping: its state goes anyway.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._evict, notice, False, 0)

    def _evict(self, notice: ForgetNotice, echo_owed: bool, attempt: int) -> None:
        """On the loop: drop the key locally and, if it was held, write the echo tombstone."""
        if self._closed or self.follower.epoch(notice.partition) != notice.epoch:
            return  # the partition was dropped (and maybe restored again) since it was read
        store = self._store_of[notice.topic]
        try:
            held = self.manager.evict(store, notice.key, notice.partition)
        except StoreNotReadyError:
            return
        if held:
            log.info(
                "forgot %r in store %s (partition %d): tombstone at offset %d",
                notice.key.decode("utf-8", "replace"), store, notice.partition, notice.offset,
            )
        if not (held or echo_owed):
            return
        fut = self._producer.send(
            notice.topic, None, key=notice.key, partition=notice.partition,
            headers=[(FORGET_HEADER, FORGET_ECHO)],
        )
        if fut.done() and fut.exception() is not None:
            # Refused at once. Retry the whole eviction: what was folded meanwhile came from an
            # empty state, but its write precedes the retried echo, so drop it too (consistent
            # with the changelog) rather than leave local state ahead of it.
            if attempt + 1 < _ECHO_ATTEMPTS:
                self._loop.call_later(
                    _ECHO_RETRY.total_seconds(), self._evict, notice, True, attempt + 1
                )
            else:
                log.error(
                    "could not write the tombstone after forgetting %r in %s[%d]: %s; run "
                    "`agentstream memory forget` again", notice.key, notice.topic,
                    notice.partition, fut.exception(),
                )
            return
        fut.add_done_callback(_report_echo)

    def close(self) -> None:
        self._closed = True
        self.follower.close()
        self.manager.close()


def _report_echo(fut: asyncio.Future[None]) -> None:
    exc = fut.exception()
    if exc is not None:
        log.warning(
            "tombstone after a forget not acknowledged (%s); if an event of the key was folded "
            "just before the eviction, run `agentstream memory forget` again", exc
        )
