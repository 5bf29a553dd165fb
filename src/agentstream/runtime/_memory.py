"""The runtime's side of an agent's memory stores: changelog writes, partitions, readiness.

``AgentMemory`` wraps one ``StoreManager`` for a running agent:

- **Writes** go through the agent's own producer (``ProducerChangelogWriter``): each changelog
  record's acknowledgement is added to the acknowledgements of the input being handled (a context
  variable names them), so an input counts as finished only once its changelog writes are durable
  (at-least-once: before its offset is committed), and in exactly-once mode they join the same
  transaction as its outputs and offset.
- **Partitions**: the consumer thread calls ``assign`` from the rebalance callback and blocks
  until the stores of the new partitions are restored, so no event of a partition is fetched
  (let alone handled) before its state is back; ``revoke`` runs after the partition's in-flight
  work finished and its offsets were committed. Stores are keyed by input *partition number*:
  several input topics must be co-partitioned (same partition count).
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
import logging
from collections.abc import Iterable, Iterator
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
        restore_timeout: timedelta = timedelta(minutes=10),
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        # Evictions run where handlers and reducers run: the loop the agent is created on.
        self._loop = loop or asyncio.get_running_loop()
        self._producer = producer
        self._closed = False
        self.manager = StoreManager(
            agent.name,
            agent.stores,
            writer=ProducerChangelogWriter(producer),
            settings=kafka,
            restore_timeout=restore_timeout,
        )
        self.restore_timeout = restore_timeout
        self._tps: set[TP] = set()
        self._store_of = {self.manager.any_store(n).topic: n for n in self.manager.names}
        self.follower = ForgetFollower(
            kafka.client_config(),
            group=f"{kafka.topic_prefix}memory.{agent.name}.forget",
            topics=list(self._store_of),
            on_forget=self._on_forget,
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
        """Restore the partitions new to this process; blocks (consumer thread) until done."""
        tps = list(tps)
        held = {p for _, p in self._tps}
        self._tps.update(tps)
        new = sorted({p for _, p in tps} - held)
        if not new:
            return
        log.info("restoring memory of partition(s) %s", new)
        ready = self.manager.assign_blocking(new, timeout=self.restore_timeout)
        for p in ready:
            self.follower.follow(p, self.manager.restored_ends(p))
        log.info("memory of partition(s) %s restored", sorted(ready))

    def revoke(self, tps: Iterable[TP]) -> None:
        """Drop the state of partitions no input topic-partition of this process needs."""
        self._tps.difference_update(tps)
        held = {p for _, p in self._tps}
        gone = [
            p
            for p, s in self.manager.statuses().items()
            if p not in held and s not in (PartitionStatus.REVOKED, PartitionStatus.IDLE)
        ]
        if gone:
            # Unfollow first: an eviction still queued for a dropped partition is then ignored.
            self.follower.unfollow(gone)
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
