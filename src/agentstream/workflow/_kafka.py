"""Kafka plumbing shared by workflows and timers: acknowledged writes and compacted-topic reads.

Every write is awaited until the broker acknowledged it (acks=all, idempotent producer), with a
deadline; every read of a compacted topic stops at the end it saw when it started, with a
deadline. Blocking librdkafka calls run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from agentstream.errors import CheckpointError

__all__ = ["AckedProducer", "OutRecord", "ensure_topic", "read_compacted"]

Headers = Sequence[tuple[str, bytes]]


class OutRecord:
    """One record to write: topic, key, value (``None`` = tombstone) and headers."""

    __slots__ = ("headers", "key", "topic", "value")

    def __init__(
        self, topic: str, key: str, value: bytes | None, headers: Headers = ()
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers


class AckedProducer:
    """A producer whose writes are awaited until acknowledged.

    ``transactional_id`` set → every ``write`` is one Kafka transaction (its records become
    visible to read_committed readers together or not at all) and a newer process with the same
    id fences this one. Otherwise writes are idempotent and acknowledged by all in-sync replicas.
    A small thread serves delivery reports so no blocking call runs on the loop.
    """

    def __init__(
        self,
        config: dict[str, Any],
        *,
        transactional_id: str | None = None,
        ack_timeout: timedelta = timedelta(seconds=30),
    ) -> None:
        conf: dict[str, Any] = {
            "enable.idempotence": True,
            "acks": "all",
            # A checkpoint is on the critical path of the next step: send it at once.
            "linger.ms": 0,
            **config,
        }
        if transactional_id is not None:
            conf["transactional.id"] = transactional_id
        self.transactional = transactional_id is not None
        self.ack_timeout = ack_timeout
        self._producer = Producer(conf)
        self._tx_lock = asyncio.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Start serving delivery reports; in transactional mode fence older instances."""
        if self.transactional:
            # init_transactions also aborts a transaction a killed predecessor left open, so
            # read_committed readers are not held back by it.
            await asyncio.to_thread(
                self._producer.init_transactions, self.ack_timeout.total_seconds()
            )
        else:
            self._thread = threading.Thread(
                target=self._poll, name="agentstream-workflow-producer", daemon=True
            )
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def write(self, records: Sequence[OutRecord]) -> None:
        """Write ``records`` in order and return once all are acknowledged (or committed).

        Raises ``CheckpointError`` when the broker refuses them or the deadline passes.
        """
        if self.transactional:
            async with self._tx_lock:
                await asyncio.to_thread(self._write_transaction, records)
            return
        loop = asyncio.get_running_loop()
        futures = [self._send(loop, r) for r in records]
        try:
            async with asyncio.timeout(self.ack_timeout.total_seconds()):
                await asyncio.gather(*futures)
        except TimeoutError:
            raise CheckpointError(
                f"{len(records)} record(s) to {records[0].topic!r} not acknowledged within "
                f"{self.ack_timeout}; is the broker reachable?"
            ) from None

    def _send(self, loop: asyncio.AbstractEventLoop, r: OutRecord) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = loop.create_future()

        def settle(err: KafkaError | None, _msg: Message) -> None:
            if fut.done():
                return
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(
                    CheckpointError(f"write to {r.topic!r} (key {r.key!r}) failed: {err.str()}")
                )

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            loop.call_soon_threadsafe(settle, err, msg)

        while True:
            try:
                self._producer.produce(
                    r.topic, key=r.key, value=r.value, headers=list(r.headers),
                    on_delivery=on_delivery,
                )
                return fut
            except BufferError:
                self._producer.poll(0.05)

    def _write_transaction(self, records: Sequence[OutRecord]) -> None:
        timeout = self.ack_timeout.total_seconds()
        p = self._producer
        try:
            p.begin_transaction()
            for r in records:
                p.produce(r.topic, key=r.key, value=r.value, headers=list(r.headers))
            p.commit_transaction(timeout)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.txn_requires_abort():
                p.abort_transaction(timeout)
            raise CheckpointError(
                f"transaction writing {len(records)} record(s) to {records[0].topic!r} failed: "
                f"{exc}; if another instance of this workflow started, this one was fenced"
            ) from None

    async def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
        await asyncio.to_thread(self._producer.flush, self.ack_timeout.total_seconds())


def ensure_topic(
    config: dict[str, Any],
    topic: str,
    *,
    partitions: int,
    timeout: timedelta,
    compacted: bool = True,
) -> None:
    """Create ``topic`` (compacted unless ``compacted=False``) if missing; an existing one is kept.

    The catalog (``agentstream topics apply``) is the proper place to provision topics; this
    makes a first run on a development broker work without it.
    """
    admin = AdminClient(dict(config))
    md = admin.list_topics(timeout=timeout.total_seconds())
    if topic in md.topics and md.topics[topic].error is None:
        return
    fut = admin.create_topics(
        [
            NewTopic(
                topic,
                num_partitions=partitions,
                config={"cleanup.policy": "compact" if compacted else "delete"},
            )
        ],
        operation_timeout=timeout.total_seconds(),
    )[topic]
    try:
        fut.result(timeout=timeout.total_seconds())
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise CheckpointError(f"could not create topic {topic!r}: {exc}") from None
    deadline = time.monotonic() + timeout.total_seconds()
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        if t is not None and t.error is None and t.partitions and all(
            p.leader >= 0 for p in t.partitions.values()
        ):
            return
        time.sleep(0.1)
    raise CheckpointError(f"topic {topic!r} has no leader after {timeout}; is the broker healthy?")


def read_compacted(
    config: dict[str, Any], topic: str, *, timeout: timedelta
) -> dict[str, bytes]:
    """The latest value per key of ``topic`` as of now (tombstoned keys left out).

    Reads every partition from the start to the end it had when the read began, with
    read_committed isolation (aborted transactional writes are skipped). A missing topic reads
    as empty. Raises ``CheckpointError`` when the end is not reached within ``timeout``.
    """
    consumer = Consumer(
        {
            **config,
            "group.id": f"agentstream-reader-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        return _read_to_end(consumer, topic, timeout)
    finally:
        consumer.close()


def _read_to_end(consumer: Consumer, topic: str, timeout: timedelta) -> dict[str, bytes]:
    deadline = time.monotonic() + timeout.total_seconds()
    md = consumer.list_topics(topic=topic, timeout=timeout.total_seconds()).topics.get(topic)
    if md is None or md.error is not None or not md.partitions:
        return {}
    remaining: set[int] = set()
    assignment = []
    for p in md.partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=timeout.total_seconds()
        )
        if high > low:
            remaining.add(p)
            assignment.append(TopicPartition(topic, p, low))
    state: dict[str, bytes] = {}
    if not remaining:
        return state
    consumer.assign(assignment)
    while remaining:
        if time.monotonic() > deadline:
            raise CheckpointError(
                f"reading {topic!r} to its end took longer than {timeout}; partitions "
                f"{sorted(remaining)} unfinished (an open transaction holds them?)"
            )
        for msg in consumer.consume(500, timeout=0.2):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    remaining.discard(msg.partition())
                    continue
                raise CheckpointError(f"reading {topic!r} failed: {err.str()}")
            key = (msg.key() or b"").decode()
            value = msg.value()
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
    return state
