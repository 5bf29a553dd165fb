"""The state of one in-memory bus: topics (partitioned logs), consumer groups and transactions.

Kafka's semantics the platform relies on, kept here and checked by ``tests/contract`` against a
real broker:

- A partition is an append-only log; offsets count from 0. A record written in a transaction is
  *pending* until the transaction commits (then visible to read_committed readers) or aborts
  (then skipped by them, still read by read_uncommitted ones). A read_committed reader stops at
  the first pending record (the last stable offset), as a Kafka consumer does.
- A consumer group assigns the subscribed topics' partitions over its members (range per topic,
  members in join order). A membership or topic change starts a rebalance: every member first
  revokes what it holds (its ``on_revoke`` runs on its own thread, inside its next poll), then
  every member is assigned its new share (``on_assign``). Commits of a member that no longer owns
  the partition, or of an older generation, are refused.
- ``init_transactions`` with a transactional id fences the previous producer of that id (its
  open transaction is aborted, its next call fails fatally). Offsets sent to a transaction are
  committed with it, and only if the sending member's generation is still current.
- Producing to a topic that does not exist fails (the platform's brokers run with
  ``auto.create.topics.enable=false``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentstream._membus._consumer import MemoryConsumer
    from agentstream._membus._producer import MemoryProducer

__all__ = ["Broker", "Group", "Partition", "Rec", "Topic", "Txn", "broker_for", "drop_broker"]

TP = tuple[str, int]

COMMITTED, PENDING, ABORTED = 0, 1, 2


class Rec:
    """One record in a partition's log."""

    __slots__ = ("headers", "key", "offset", "partition", "state", "timestamp", "topic", "value")

    def __init__(  # noqa: PLR0917 - one record's fields, built on the hot path
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes | None]] | None,
        timestamp: int,
        state: int,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.state = state


class Partition:
    __slots__ = ("pending", "records")

    def __init__(self) -> None:
        self.records: list[Rec] = []
        # Offsets written in transactions, ascending; ended ones leave at the front (``stable``).
        self.pending: deque[int] = deque()

    @property
    def high(self) -> int:
        return len(self.records)

    @property
    def stable(self) -> int:
        """The last stable offset: read_committed readers see records below it only."""
        pending, records = self.pending, self.records
        while pending and records[pending[0]].state != PENDING:
            pending.popleft()
        return pending[0] if pending else len(records)


@dataclass
class Topic:
    name: str
    partitions: list[Partition]
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class Txn:
    """The open transaction of a transactional producer."""

    records: list[Rec] = field(default_factory=list)
    offsets: dict[str, tuple[Any, dict[TP, int]]] = field(default_factory=dict)  # group → (meta)
    failed: str | None = None  # a write that failed: the transaction can only abort


class Group:
    """A consumer group: members, generations, assignment and committed offsets."""

    def __init__(self, broker: Broker, group_id: str) -> None:
        self.broker = broker
        self.id = group_id
        self.members: list[MemoryConsumer] = []
        self.generation = 0  # bumped by every membership or topic change
        self.stable_generation = 0  # the generation the current assignment belongs to
        self.assignment: dict[MemoryConsumer, list[TP]] = {}
        self.revoking: set[MemoryConsumer] = set()  # members still to revoke for ``generation``
        self.committed: dict[TP, int] = {}

    @property
    def rebalancing(self) -> bool:
        return self.generation != self.stable_generation

    def join(self, member: MemoryConsumer) -> None:
        self.members.append(member)
        self.trigger()

    def leave(self, member: MemoryConsumer) -> None:
        if member in self.members:
            self.members.remove(member)
        self.assignment.pop(member, None)
        self.revoking.discard(member)
        self.trigger()

    def trigger(self) -> None:
        """Start a rebalance: members holding partitions revoke them first (caller holds lock)."""
        self.generation += 1
        self.revoking = {m for m in self.members if m.owned}
        if not self.revoking:
            self._complete()
        self.broker.cond.notify_all()

    def revoked(self, member: MemoryConsumer) -> None:
        self.revoking.discard(member)
        if not self.revoking and self.rebalancing:
            self._complete()
        self.broker.cond.notify_all()

    def _complete(self) -> None:
        wanted: dict[str, list[MemoryConsumer]] = {}
        for m in self.members:
            for t in m.subscription:
                wanted.setdefault(t, []).append(m)
        self.assignment = {m: [] for m in self.members}
        for topic in sorted(wanted):
            found = self.broker.topics.get(topic)
            if found is None:
                continue
            members = wanted[topic]
            n = len(found.partitions)
            per, extra = divmod(n, len(members))
            start = 0
            for i, m in enumerate(members):
                count = per + (1 if i < extra else 0)
                self.assignment[m].extend((topic, p) for p in range(start, start + count))
                start += count
        self.stable_generation = self.generation

    def owns(self, member: MemoryConsumer, tp: TP, generation: int) -> bool:
        """Whether a commit of ``tp`` by ``member`` of ``generation`` is still allowed."""
        return generation == self.stable_generation and tp in member.owned


class Broker:
    """One named in-memory bus; every method that changes state holds ``cond``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cond = threading.Condition()
        self.topics: dict[str, Topic] = {}
        self.groups: dict[str, Group] = {}
        self.transactional: dict[str, tuple[int, MemoryProducer]] = {}
        self.cluster_id = f"memory-{name}"
        # Like ``auto.create.topics.enable``: off, as on the platform's brokers; a test bed may
        # turn it on so that a test need not declare every topic its agent writes.
        self.auto_create_partitions = 0
        self.failing: dict[str, int] = {}  # topic → how many next writes fail (tests' faults)
        # Cleared while a test holds the delivery reports back (slow acknowledgements).
        self.acks_flowing = threading.Event()
        self.acks_flowing.set()

    def group(self, group_id: str) -> Group:
        g = self.groups.get(group_id)
        if g is None:
            g = self.groups[group_id] = Group(self, group_id)
        return g

    def create_topic(self, name: str, partitions: int, config: dict[str, str] | None) -> bool:
        """False if it exists already."""
        with self.cond:
            if name in self.topics:
                return False
            self.topics[name] = Topic(name, [Partition() for _ in range(partitions)],
                                      dict(config or {}))
            self._topics_changed(name)
            return True

    def add_partitions(self, name: str, total: int) -> None:
        with self.cond:
            t = self.topics[name]
            if total <= len(t.partitions):
                raise ValueError(
                    f"topic {name} has {len(t.partitions)} partitions; cannot shrink to {total}"
                )
            t.partitions.extend(Partition() for _ in range(total - len(t.partitions)))
            self._topics_changed(name)

    def delete_topic(self, name: str) -> bool:
        with self.cond:
            if self.topics.pop(name, None) is None:
                return False
            for g in self.groups.values():
                g.committed = {tp: o for tp, o in g.committed.items() if tp[0] != name}
            self._topics_changed(name)
            return True

    def _topics_changed(self, name: str) -> None:
        for g in self.groups.values():
            if any(name in m.subscription for m in g.members):
                g.trigger()
        self.cond.notify_all()

    def append(  # noqa: PLR0917 - the fields of the record appended
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes | None]] | None,
        timestamp: int | None,
        txn: Txn | None,
    ) -> Rec:
        """Append one record (caller holds ``cond``); pending if written in a transaction."""
        part = self.topics[topic].partitions[partition]
        rec = Rec(topic, partition, part.high, key, value, headers,
                  timestamp or int(time.time() * 1000), PENDING if txn is not None else COMMITTED)
        part.records.append(rec)
        if txn is not None:
            part.pending.append(rec.offset)
            txn.records.append(rec)
        self.cond.notify_all()
        return rec

    def end_txn(self, txn: Txn, *, commit: bool) -> None:
        """Commit or abort a transaction's records and offsets (caller holds ``cond``)."""
        for rec in txn.records:
            rec.state = COMMITTED if commit else ABORTED
        if commit:
            for group_id, (_, offsets) in txn.offsets.items():
                self.group(group_id).committed.update(offsets)
        txn.records.clear()
        txn.offsets.clear()
        txn.failed = None
        self.cond.notify_all()


_BROKERS: dict[str, Broker] = {}
_REGISTRY_LOCK = threading.Lock()


def broker_for(config: dict[str, Any]) -> Broker:
    """The bus named by ``bootstrap.servers`` = ``memory://<name>`` (created on first use)."""
    name = str(config.get("bootstrap.servers", "")).removeprefix("memory://") or "default"
    with _REGISTRY_LOCK:
        broker = _BROKERS.get(name)
        if broker is None:
            broker = _BROKERS[name] = Broker(name)
        return broker


def drop_broker(name: str) -> None:
    """Forget a bus and everything in it."""
    with _REGISTRY_LOCK:
        _BROKERS.pop(name, None)
