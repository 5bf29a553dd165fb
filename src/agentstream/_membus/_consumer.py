"""``MemoryConsumer``: the part of confluent-kafka's ``Consumer`` the platform uses, in memory.

Rebalance callbacks run on the thread that polls, inside ``consume``/``poll``/``close``, as with
librdkafka; ``on_revoke`` of every member finishes before any member is assigned (eager).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from agentstream._membus._broker import ABORTED, TP, Group, Partition, Rec, broker_for
from agentstream._membus._meta import GroupMeta, cluster_metadata

__all__ = ["MemoryConsumer", "MemoryMessage", "as_bool"]

Callback = Callable[[Any, list[TopicPartition]], None]
_NO_OFFSET = -1001


def as_bool(value: Any, default: bool) -> bool:
    """A librdkafka boolean setting (bool or "true"/"false")."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


class MemoryMessage:
    """A consumed record, or a partition-EOF event (``error()``), like confluent's ``Message``."""

    __slots__ = ("_error", "_rec", "_tp")

    def __init__(self, rec: Rec | None, *, tp: TP | None = None,
                 error: KafkaError | None = None) -> None:
        self._rec = rec
        self._tp = tp
        self._error = error

    def error(self) -> KafkaError | None:
        return self._error

    def topic(self) -> str | None:
        return self._rec.topic if self._rec is not None else (self._tp[0] if self._tp else None)

    def partition(self) -> int | None:
        return self._rec.partition if self._rec is not None else (
            self._tp[1] if self._tp else None)

    def offset(self) -> int | None:
        return self._rec.offset if self._rec is not None else None

    def key(self) -> bytes | None:
        return self._rec.key if self._rec is not None else None

    def value(self) -> bytes | None:
        return self._rec.value if self._rec is not None else None

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        if self._rec is None or not self._rec.headers:
            return None
        return list(self._rec.headers)

    def timestamp(self) -> tuple[int, int]:
        return (TIMESTAMP_CREATE_TIME, self._rec.timestamp) if self._rec is not None else (0, -1)

    def __len__(self) -> int:
        value = self.value()
        return len(value) if value is not None else 0

    def __repr__(self) -> str:
        return f"MemoryMessage({self.topic()}[{self.partition()}]@{self.offset()})"


class MemoryConsumer:
    """See the module docstring; unsupported calls raise ``NotImplementedError``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._broker = broker_for(config)
        self._group_id: str | None = config.get("group.id")
        self._read_committed = config.get("isolation.level", "read_committed") != \
            "read_uncommitted"
        reset = str(config.get("auto.offset.reset", "latest"))
        self._reset_earliest = reset in {"earliest", "smallest", "beginning"}
        self._eof = as_bool(config.get("enable.partition.eof"), False)
        self._auto_commit = as_bool(config.get("enable.auto.commit"), True)
        self._auto_store = as_bool(config.get("enable.auto.offset.store"), True)
        self.client_id = str(config.get("client.id", "rdkafka"))
        self.member_id = f"{self.client_id}-{uuid.uuid4()}"
        self.subscription: list[str] = []
        self.owned: list[TP] = []  # assigned by the group
        self._manual: list[TP] = []  # assigned by ``assign``
        self._generation = 0
        self._positions: dict[TP, int] = {}
        self._stored: dict[TP, int] = {}
        self._paused: set[TP] = set()
        self._eof_sent: set[TP] = set()
        self._on_assign: Callback | None = None
        self._on_revoke: Callback | None = None
        self._closed = False
        self._rr = 0

    # -- group membership -------------------------------------------------------------------
    def _group(self) -> Group:
        if not self._group_id:
            raise KafkaException(KafkaError(KafkaError._INVALID_ARG,
                                            "group.id must be set to subscribe or commit"))
        return self._broker.group(self._group_id)

    def subscribe(
        self,
        topics: Sequence[str],
        on_assign: Callback | None = None,
        on_revoke: Callback | None = None,
        on_lost: Callback | None = None,
    ) -> None:
        self._check_open()
        self._on_assign, self._on_revoke = on_assign, on_revoke
        with self._broker.cond:
            group = self._group()
            self.subscription = list(topics)
            if self in group.members:
                group.trigger()
            else:
                group.join(self)

    def unsubscribe(self) -> None:
        self._leave()

    def _leave(self) -> None:
        if not self.subscription:
            return
        self._revoke_owned()
        with self._broker.cond:
            self._group().leave(self)
            self.subscription = []

    def _revoke_owned(self) -> None:
        if self.owned:
            if self._on_revoke is not None:
                self._on_revoke(self, [TopicPartition(t, p) for t, p in self.owned])
            with self._broker.cond:
                self._drop(self.owned)
                self.owned = []

    def _drop(self, tps: Sequence[TP]) -> None:
        for tp in tps:
            self._positions.pop(tp, None)
            self._paused.discard(tp)
            self._eof_sent.discard(tp)

    def _rebalance(self) -> None:
        """Take part in a rebalance in progress: revoke, or take the new assignment."""
        if not self.subscription:
            return
        revoke = assign = None
        with self._broker.cond:
            group = self._group()
            if group.generation == self._generation:
                return
            if self in group.revoking:
                revoke = list(self.owned)
            elif not group.rebalancing:
                assign = list(group.assignment.get(self, []))
                self._generation = group.stable_generation
        if revoke is not None:
            if revoke and self._on_revoke is not None:
                self._on_revoke(self, [TopicPartition(t, p) for t, p in revoke])
            with self._broker.cond:
                self._drop(revoke)
                self.owned = []
                group.revoked(self)
            return
        if assign is not None:
            with self._broker.cond:
                self.owned = assign
                for tp in assign:
                    self._positions[tp] = self._start_offset(tp, group.committed.get(tp))
            if self._on_assign is not None:
                self._on_assign(self, [TopicPartition(t, p) for t, p in assign])

    def _start_offset(self, tp: TP, committed: int | None) -> int:
        if committed is not None and committed >= 0:
            return committed
        part = self._part(tp)
        if part is None or self._reset_earliest:
            return 0
        return part.stable if self._read_committed else part.high

    # -- fetching ---------------------------------------------------------------------------
    def _part(self, tp: TP) -> Partition | None:
        topic = self._broker.topics.get(tp[0])
        if topic is None or tp[1] >= len(topic.partitions):
            return None
        return topic.partitions[tp[1]]

    def _fetch(self, limit: int) -> list[MemoryMessage]:
        active = [tp for tp in (self.owned if self.subscription else self._manual)
                  if tp not in self._paused and tp in self._positions]
        if not active:
            return []
        self._rr = (self._rr + 1) % len(active)
        out: list[MemoryMessage] = []
        for tp in active[self._rr:] + active[: self._rr]:
            part = self._part(tp)
            if part is None:
                continue
            pos = self._positions[tp]
            end = part.stable if self._read_committed else part.high
            if pos < end:
                self._eof_sent.discard(tp)
            records = part.records
            while pos < end and len(out) < limit:
                rec = records[pos]
                pos += 1
                if self._read_committed and rec.state == ABORTED:
                    continue
                out.append(MemoryMessage(rec))
            self._positions[tp] = pos
            if pos >= end and self._eof and tp not in self._eof_sent and len(out) < limit:
                self._eof_sent.add(tp)
                out.append(MemoryMessage(None, tp=tp, error=KafkaError(
                    KafkaError._PARTITION_EOF, f"{tp[0]} [{tp[1]}] reached end at offset {pos}")))
            if len(out) >= limit:
                break
        return out

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[MemoryMessage]:
        self._check_open()
        deadline = time.monotonic() + (timeout if timeout is not None and timeout >= 0 else 3600)
        while True:
            self._rebalance()
            with self._broker.cond:
                msgs = self._fetch(max(1, num_messages))
                if msgs:
                    if self._auto_store:
                        for m in msgs:
                            if m.error() is None:
                                self._stored[(m._rec.topic, m._rec.partition)] = (  # type: ignore[union-attr]
                                    m._rec.offset + 1)  # type: ignore[union-attr]
                    self._maybe_auto_commit()
                    return msgs
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._broker.cond.wait(min(left, 0.2))

    def poll(self, timeout: float | None = None) -> MemoryMessage | None:
        msgs = self.consume(1, -1 if timeout is None else timeout)
        return msgs[0] if msgs else None

    def _maybe_auto_commit(self) -> None:
        if self._auto_commit and self._group_id and self._stored:
            group = self._broker.group(self._group_id)
            for tp, off in self._stored.items():
                if not self.subscription or group.owns(self, tp, self._generation):
                    group.committed[tp] = off

    # -- assignment and positions -----------------------------------------------------------
    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in (self.owned if self.subscription
                                                    else self._manual)]

    def _resolve(self, tp: TopicPartition) -> int:
        key = (tp.topic, tp.partition)
        part = self._part(key)
        if tp.offset == OFFSET_BEGINNING:
            return 0
        if tp.offset == OFFSET_END:
            return 0 if part is None else (part.stable if self._read_committed else part.high)
        if tp.offset < 0:
            committed = self._broker.group(self._group_id).committed.get(key) \
                if self._group_id else None
            return self._start_offset(key, committed)
        return int(tp.offset)

    def assign(self, partitions: Sequence[TopicPartition]) -> None:
        self._check_open()
        with self._broker.cond:
            keys = [(tp.topic, tp.partition) for tp in partitions]
            if not self.subscription:
                self._drop([k for k in self._manual if k not in keys])
                self._manual = keys
            for tp, key in zip(partitions, keys, strict=True):
                self._positions[key] = self._resolve(tp)

    def incremental_assign(self, partitions: Sequence[TopicPartition]) -> None:
        self._check_open()
        with self._broker.cond:
            for tp in partitions:
                key = (tp.topic, tp.partition)
                if key not in self._manual:
                    self._manual.append(key)
                self._positions[key] = self._resolve(tp)

    def incremental_unassign(self, partitions: Sequence[TopicPartition]) -> None:
        with self._broker.cond:
            keys = [(tp.topic, tp.partition) for tp in partitions]
            self._manual = [k for k in self._manual if k not in keys]
            self._drop(keys)

    def unassign(self) -> None:
        with self._broker.cond:
            self._drop(self._manual)
            self._manual = []

    def seek(self, partition: TopicPartition) -> None:
        with self._broker.cond:
            key = (partition.topic, partition.partition)
            self._positions[key] = self._resolve(partition)
            self._eof_sent.discard(key)

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        self._paused.update((tp.topic, tp.partition) for tp in partitions)

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        self._paused.difference_update((tp.topic, tp.partition) for tp in partitions)
        with self._broker.cond:
            self._broker.cond.notify_all()

    def position(self, partitions: Sequence[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition,
                               self._positions.get((tp.topic, tp.partition), _NO_OFFSET))
                for tp in partitions]

    # -- offsets ----------------------------------------------------------------------------
    def commit(
        self,
        message: MemoryMessage | None = None,
        offsets: Sequence[TopicPartition] | None = None,
        asynchronous: bool = True,
    ) -> list[TopicPartition] | None:
        self._check_open()
        if offsets is not None:
            wanted = {(tp.topic, tp.partition): int(tp.offset) for tp in offsets}
        elif message is not None:
            wanted = {(str(message.topic()), int(message.partition() or 0)):
                      int(message.offset() or 0) + 1}
        else:
            wanted = dict(self._stored if not self._auto_store else self._positions)
        with self._broker.cond:
            group = self._group()
            if self.subscription:
                refused = [tp for tp in wanted if not group.owns(self, tp, self._generation)]
                if refused:
                    raise KafkaException(KafkaError(
                        KafkaError.ILLEGAL_GENERATION,
                        f"commit refused: {refused} not owned by this member in generation "
                        f"{group.stable_generation}"))
            group.committed.update(wanted)
        return None if asynchronous else [TopicPartition(t, p, o) for (t, p), o in wanted.items()]

    def store_offsets(
        self, message: MemoryMessage | None = None,
        offsets: Sequence[TopicPartition] | None = None,
    ) -> None:
        if offsets is not None:
            for tp in offsets:
                self._stored[(tp.topic, tp.partition)] = int(tp.offset)
        elif message is not None:
            self._stored[(str(message.topic()), int(message.partition() or 0))] = \
                int(message.offset() or 0) + 1

    def committed(
        self, partitions: Sequence[TopicPartition], timeout: float | None = None
    ) -> list[TopicPartition]:
        committed = self._group().committed
        return [TopicPartition(tp.topic, tp.partition,
                               committed.get((tp.topic, tp.partition), _NO_OFFSET))
                for tp in partitions]

    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: float | None = None, cached: bool = False
    ) -> tuple[int, int]:
        part = self._part((partition.topic, partition.partition))
        if part is None:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART,
                                            f"unknown partition {partition.topic}"
                                            f"[{partition.partition}]"))
        return 0, part.high

    def offsets_for_times(
        self, partitions: Sequence[TopicPartition], timeout: float | None = None
    ) -> list[TopicPartition]:
        out = []
        for tp in partitions:
            part = self._part((tp.topic, tp.partition))
            found = -1
            if part is not None:
                for rec in part.records:
                    if rec.timestamp >= tp.offset:
                        found = rec.offset
                        break
            out.append(TopicPartition(tp.topic, tp.partition, found))
        return out

    def consumer_group_metadata(self) -> GroupMeta:
        return GroupMeta(self._group_id or "", self, self._generation)

    def memberid(self) -> str:
        return self.member_id

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return cluster_metadata(self._broker, topic)

    # -- closing ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        with self._broker.cond:
            self._maybe_auto_commit()
        self._leave()
        with self._broker.cond:
            self._closed = True
            self._broker.cond.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Consumer closed")
