"""``MemoryProducer``: the part of confluent-kafka's ``Producer`` the platform uses, in memory.

A record is appended to its partition at ``produce``; its delivery report is served by the next
``poll``/``flush`` on the calling thread, as librdkafka does. Partitioning of keyed records is
librdkafka's default (``consistent_random``: CRC-32 of the key), so keys land where they would on
a broker; keyless records go round-robin.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from agentstream._membus._broker import Broker, Rec, Txn, broker_for
from agentstream._membus._consumer import MemoryMessage
from agentstream._membus._meta import GroupMeta, cluster_metadata

__all__ = ["MemoryProducer"]

Report = tuple[Callable[..., None] | None, KafkaError | None, MemoryMessage]
_HeadersIn = Sequence[tuple[str, bytes | str | None]] | dict[str, bytes | str | None] | None


def _headers(raw: _HeadersIn) -> list[tuple[str, bytes | None]] | None:
    if not raw:
        return None
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v.encode() if isinstance(v, str) else v) for k, v in items]


class MemoryProducer:
    """See the module docstring."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._broker: Broker = broker_for(config)
        self._on_delivery: Callable[..., None] | None = config.get("on_delivery")
        self._stats_cb: Callable[[str], None] | None = config.get("stats_cb")
        self._stats_every = float(config.get("statistics.interval.ms", 0) or 0) / 1000
        self._next_stats = 0.0
        self._transactional_id: str | None = config.get("transactional.id")
        self._epoch = -1
        self._txn: Txn | None = None
        self._fatal: KafkaError | None = None
        self._reports: list[Report] = []
        self._lock = threading.Condition()
        self._rr = itertools.count()

    # -- producing --------------------------------------------------------------------------
    def produce(  # noqa: PLR0917 - confluent-kafka's signature
        self,
        topic: str,
        value: bytes | str | None = None,
        key: bytes | str | None = None,
        partition: int = -1,
        on_delivery: Callable[..., None] | None = None,
        timestamp: int = 0,
        headers: _HeadersIn = None,
        callback: Callable[..., None] | None = None,
    ) -> None:
        self._check_fatal()
        if self._transactional_id is not None and self._txn is None:
            raise KafkaException(KafkaError(
                KafkaError._STATE, "produce outside a transaction (begin_transaction first)"))
        if isinstance(value, str):
            value = value.encode()
        if isinstance(key, str):
            key = key.encode()
        cb = on_delivery or callback or self._on_delivery
        broker = self._broker
        with broker.cond:
            t = broker.topics.get(topic)
            if t is None and broker.auto_create_partitions > 0:
                broker.create_topic(topic, broker.auto_create_partitions, None)
                t = broker.topics.get(topic)
            if t is None:
                err = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART,
                                 f"topic {topic} does not exist (the bus creates no topics)")
                rec = Rec(topic, partition, -1, key, value, None, 0, 0)
                self._report(cb, err, MemoryMessage(rec))
                return
            if broker.failing.get(topic, 0) > 0:
                broker.failing[topic] -= 1
                err = KafkaError(KafkaError._MSG_TIMED_OUT,
                                 f"write to {topic} failed (a fault injected by the test)")
                if self._txn is not None:
                    self._txn.failed = err.str()
                self._report(cb, err, MemoryMessage(Rec(topic, 0, -1, key, value, None, 0, 0)))
                return
            n = len(t.partitions)
            if partition is None or partition < 0:
                partition = (zlib.crc32(key) % n) if key is not None else next(self._rr) % n
            elif partition >= n:
                raise KafkaException(KafkaError(KafkaError._UNKNOWN_PARTITION,
                                                f"{topic} has no partition {partition}"))
            rec = broker.append(topic, partition, key, value, _headers(headers),
                                timestamp or None, self._txn)
        self._report(cb, None, MemoryMessage(rec))

    def _report(self, cb: Callable[..., None] | None, err: KafkaError | None,
                msg: MemoryMessage) -> None:
        with self._lock:
            self._reports.append((cb, err, msg))
            self._lock.notify_all()

    def poll(self, timeout: float | None = None) -> int:
        """Serve the delivery reports (and statistics) due; wait up to ``timeout`` for one."""
        flowing = self._broker.acks_flowing
        if not flowing.is_set() and not flowing.wait(timeout if timeout and timeout > 0 else 0):
            return 0  # a test holds the reports back (``MemoryBus.acks_held``)
        with self._lock:
            if not self._reports and timeout:
                self._lock.wait(timeout if timeout > 0 else None)
            if not flowing.is_set():
                return 0
            reports, self._reports = self._reports, []
        for cb, err, msg in reports:
            if cb is not None:
                cb(err, msg)
        self._maybe_stats()
        return len(reports)

    def _maybe_stats(self) -> None:
        if self._stats_cb is None or self._stats_every <= 0:
            return
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + self._stats_every
            self._stats_cb(json.dumps({"brokers": {f"{self._broker.name}:0/0": {"state": "UP"}}}))

    def flush(self, timeout: float | None = None) -> int:
        self.poll(0)
        return 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._reports)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return cluster_metadata(self._broker, topic)

    # -- transactions -----------------------------------------------------------------------
    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise KafkaException(self._fatal)

    def _need_transactional(self) -> str:
        if self._transactional_id is None:
            raise KafkaException(KafkaError(KafkaError._NOT_CONFIGURED,
                                            "transactional.id is not set"))
        return self._transactional_id

    def init_transactions(self, timeout: float | None = None) -> None:
        tid = self._need_transactional()
        broker = self._broker
        with broker.cond:
            old = broker.transactional.get(tid)
            epoch = old[0] + 1 if old is not None else 0
            if old is not None and old[1] is not self:
                old[1]._fence(epoch)
            broker.transactional[tid] = (epoch, self)
            self._epoch = epoch

    def _fence(self, epoch: int) -> None:
        """Another producer took over this transactional id (caller holds the bus lock)."""
        if self._txn is not None:
            self._broker.end_txn(self._txn, commit=False)
            self._txn = None
        self._fatal = KafkaError(
            KafkaError._FENCED,
            f"producer fenced: transactional id {self._transactional_id} taken over "
            f"with epoch {epoch}", fatal=True)

    def begin_transaction(self) -> None:
        self._need_transactional()
        self._check_fatal()
        if self._epoch < 0:
            raise KafkaException(KafkaError(KafkaError._STATE, "init_transactions first"))
        if self._txn is not None:
            raise KafkaException(KafkaError(KafkaError._STATE, "a transaction is open already"))
        self._txn = Txn()

    def _open_txn(self) -> Txn:
        self._check_fatal()
        if self._txn is None:
            raise KafkaException(KafkaError(KafkaError._STATE, "no open transaction"))
        return self._txn

    def send_offsets_to_transaction(
        self, positions: Sequence[TopicPartition], group_metadata: GroupMeta,
        timeout: float | None = None,
    ) -> None:
        txn = self._open_txn()
        offsets = txn.offsets.setdefault(group_metadata.group_id, (group_metadata, {}))[1]
        offsets.update({(tp.topic, tp.partition): int(tp.offset) for tp in positions})

    def commit_transaction(self, timeout: float | None = None) -> None:
        txn = self._open_txn()
        broker = self._broker
        with broker.cond:
            self._check_fatal()
            if txn.failed is not None:
                raise KafkaException(KafkaError(
                    KafkaError._INCONSISTENT, f"a write of the transaction failed "
                    f"({txn.failed}): abort it", txn_requires_abort=True))
            for group_id, (meta, offsets) in txn.offsets.items():
                group = broker.group(group_id)
                stale = [tp for tp in offsets if not group.owns(meta.member, tp, meta.generation)]
                if stale:
                    raise KafkaException(KafkaError(
                        KafkaError.ILLEGAL_GENERATION,
                        f"offsets of {stale} sent by a member of an old generation of group "
                        f"{group_id}: abort the transaction", txn_requires_abort=True))
            broker.end_txn(txn, commit=True)
            self._txn = None
        self.poll(0)

    def abort_transaction(self, timeout: float | None = None) -> None:
        txn = self._open_txn()
        with self._broker.cond:
            self._broker.end_txn(txn, commit=False)
            self._txn = None
        self.poll(0)
