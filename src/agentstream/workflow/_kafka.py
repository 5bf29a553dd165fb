"""Kafka plumbing shared by workflows and timers: acknowledged writes and compacted-topic reads.

Every write is awaited until the broker acknowledged it (acks=all, idempotent producer), with a
deadline; every read of a compacted topic stops at the end it saw when it started, with a
deadline. Blocking librdkafka calls run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from agentstream import bus
from agentstream.bus import make_admin, make_producer
from agentstream.errors import AgentStreamError, CheckpointError

__all__ = [
    "AckedProducer", "OutRecord", "RecordWriter", "ensure_topic", "partition_count",
    "read_compacted", "read_partition",
]

Headers = Sequence[tuple[str, bytes]]

log = logging.getLogger("agentstream.workflow")

# How many times a transaction commit that timed out is awaited again before the write fails.
_COMMIT_ATTEMPTS = 10


class OutRecord:
    """One record to write: topic, key, value (``None`` = tombstone), headers and, for records
    that live in a chosen partition (a run or timer co-partitioned with its input), the
    partition (``None``: the key's)."""

    __slots__ = ("headers", "key", "partition", "topic", "value")

    def __init__(
        self,
        topic: str,
        key: str,
        value: bytes | None,
        headers: Headers = (),
        partition: int | None = None,
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition

    def produce_args(self) -> dict[str, Any]:
        """Keyword arguments of ``Producer.produce`` for this record."""
        kw: dict[str, Any] = {"key": self.key, "value": self.value, "headers": list(self.headers)}
        if self.partition is not None:
            kw["partition"] = self.partition
        return kw


# Writes one record and returns once it is acknowledged: how a run or timer record is written by
# someone else than its engine (the agent's transactional producer, from a handler).
RecordWriter = Callable[[OutRecord], Awaitable[None]]


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
        self._producer = make_producer(conf)
        self._tx_lock = asyncio.Lock()
        self._queued: list[tuple[Sequence[OutRecord], asyncio.Future[None]]] = []
        self._committer: asyncio.Future[None] | None = None
        self.opened = False
        self._unfinished = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def open(self) -> None:
        """Start serving delivery reports; in transactional mode fence older instances."""
        if self.transactional:
            # init_transactions also aborts a transaction a killed predecessor left open, so
            # read_committed readers are not held back by it.
            timeout = self.ack_timeout.total_seconds()
            await self._in_thread(self._producer.init_transactions, timeout)
        else:
            self._thread = threading.Thread(
                target=self._poll, name="agentstream-workflow-producer", daemon=True
            )
            self._thread.start()
        self.opened = True

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a blocking transactional call in a worker thread, one at a time. A cancelled
        caller does not end the call: the lock stays held until the thread returns, so the
        next call (or ``close``) never overlaps it (librdkafka refuses overlapping transaction
        calls, and a producer closed or replaced mid-call would fence its successor later)."""

        async def locked() -> None:
            async with self._tx_lock:
                await asyncio.to_thread(fn, *args)

        await asyncio.shield(asyncio.ensure_future(locked()))

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def write(self, records: Sequence[OutRecord]) -> None:
        """Write ``records`` in order and return once all are acknowledged (or committed).

        Raises ``CheckpointError`` when the broker refuses them or the deadline passes.
        """
        if self.transactional:
            await self._group_commit(records)
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

    async def _group_commit(self, records: Sequence[OutRecord]) -> None:
        """Transactional writes queued while a transaction commits go together in the next
        one (group commit): one commit round trip for every run of the partition that
        checkpointed meanwhile, instead of one each in turn. Each caller's records stay in
        one transaction; a failed transaction fails every write in it (each is written again
        by its caller)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((records, fut))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.ensure_future(self._commit_queued())
        await asyncio.shield(fut)  # (a cancelled caller's records are written all the same)

    async def _commit_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            records = [r for rs, _ in batch for r in rs]
            try:
                await self._in_thread(self._write_transaction, records)
            except Exception as exc:  # every writer hears of it (none may wait forever)
                failure = exc if isinstance(exc, CheckpointError) else CheckpointError(
                    f"transaction writing {len(records)} record(s) failed: {exc!r}"
                )
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(failure)
            else:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_result(None)

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
                self._producer.produce(r.topic, **r.produce_args(), on_delivery=on_delivery)
                return fut
            except BufferError:
                self._producer.poll(0.05)

    def _write_transaction(self, records: Sequence[OutRecord]) -> None:
        timeout = self.ack_timeout.total_seconds()
        p = self._producer
        began = False
        try:
            if self._unfinished:  # a commit that never got its answer: finish it first
                self._commit(timeout)
                self._unfinished = False
            p.begin_transaction()
            began = True
            for r in records:
                while True:
                    try:
                        p.produce(r.topic, **r.produce_args())
                        break
                    except BufferError:  # a large group commit: let deliveries drain
                        p.poll(0.05)
            self._commit(timeout)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            fatal = isinstance(err, KafkaError) and err.fatal()
            if began and isinstance(err, KafkaError) and err.txn_requires_abort():
                with contextlib.suppress(KafkaException):
                    p.abort_transaction(timeout)
            elif began and not fatal:
                self._unfinished = True  # still retriable after every attempt: resume it later
            raise CheckpointError(
                f"transaction writing {len(records)} record(s) to {records[0].topic!r} failed: "
                f"{exc}" + ("; another instance with this transactional id took over (fenced)"
                            if fatal else ""),
                fatal=fatal,
            ) from None

    def _commit(self, timeout: float) -> None:
        """``commit_transaction``, called again while it fails retriably (the broker is away: a
        commit in progress goes on inside librdkafka, and calling it again waits for that same
        commit, so the records become visible once); up to ``_COMMIT_ATTEMPTS`` deadlines."""
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                self._producer.commit_transaction(timeout)
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                retriable = (isinstance(err, KafkaError) and err.retriable()
                             and not err.txn_requires_abort() and not err.fatal())
                if not retriable or attempt == _COMMIT_ATTEMPTS or self._stop.is_set():
                    raise  # (closing: the process must not wait minutes for the broker)
                log.warning("transaction commit not answered (%s); waiting for it again", exc)

    async def write_one(self, record: OutRecord) -> None:
        """``write([record])`` (a ``RecordWriter``)."""
        await self.write([record])

    def flush(self) -> None:
        """Block until every record written so far is delivered (or ``ack_timeout`` passed)."""
        self._producer.flush(self.ack_timeout.total_seconds())

    async def close(self) -> None:
        """Stop; transactions queued or in progress (their callers may have been cancelled)
        finish first (a commit the broker does not answer is not waited for again)."""
        self._stop.set()
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        async with self._tx_lock:
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join, 5)
            await asyncio.to_thread(self.flush)


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
    try:
        bus.ensure_topic(
            make_admin(dict(config)),
            topic,
            partitions=partitions,
            config={"cleanup.policy": "compact" if compacted else "delete"},
            timeout=timeout,
        )
    except bus.TopicNotReadyError as exc:
        raise CheckpointError(str(exc)) from exc


def read_compacted(config: dict[str, Any], topic: str, *, timeout: timedelta) -> dict[str, bytes]:
    """The latest value per (text) key of ``topic`` as of now (tombstoned keys left out).

    Read committed, every partition to the end it had when the read began; a missing topic reads
    as empty. Raises ``CheckpointError`` when the end is not reached within ``timeout`` (an open
    transaction holds it back?) or the read fails.
    """
    try:
        table = bus.read_compacted(dict(config), topic, timeout=timeout)
    except AgentStreamError as exc:
        raise CheckpointError(f"reading {topic!r} failed: {exc}") from exc
    return {key.decode(): found.value for key, found in table.items()}


def partition_count(config: dict[str, Any], topic: str, *, timeout: timedelta) -> int | None:
    """How many partitions ``topic`` has (``None``: it does not exist)."""
    md = make_admin(dict(config)).list_topics(timeout=timeout.total_seconds()).topics.get(topic)
    if md is None or md.error is not None:
        return None
    return len(md.partitions)


def read_partition(
    config: dict[str, Any], topic: str, partition: int, *, timeout: timedelta
) -> dict[str, bytes]:
    """The latest value per (text) key of one partition of a compacted topic, read committed.

    First waits until every transaction that was open on the partition when the read began is
    decided (its last stable offset reaches the high watermark it had then): a process killed
    mid-transaction leaves it open until the broker aborts it (``transaction.timeout.ms``) or its
    transactional id is initialised again, and records committed after it by others would be
    hidden until then: a stale read would resume a run at a step that already finished. Raises
    ``CheckpointError`` when that or the read does not finish within ``timeout``.
    """
    tp = TopicPartition(topic, partition)
    base = {**config, "group.id": f"agentstream-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False}
    deadline = time.monotonic() + timeout.total_seconds()
    probe = bus.make_consumer({**base, "isolation.level": "read_uncommitted"})
    reader = bus.make_consumer(
        {**base, "isolation.level": "read_committed", "enable.partition.eof": True}
    )
    try:
        low, stable = _settled_range(probe, reader, tp, deadline, timeout)
        if stable <= low:
            return {}
        reader.assign([TopicPartition(topic, partition, low)])
        return _read_range(reader, tp, stable, deadline, timeout)
    except KafkaException as exc:
        raise CheckpointError(f"reading {topic}[{partition}] failed: {exc}") from exc
    finally:
        probe.close()
        reader.close()


def _settled_range(
    probe: Any, reader: Any, tp: TopicPartition, deadline: float, timeout: timedelta
) -> tuple[int, int]:
    """(low, last stable offset) once every transaction open at the start is decided."""
    _, high = bus.watermarks(probe, tp, timeout=timeout)
    while True:
        low, stable = bus.watermarks(reader, tp, timeout=timeout)
        if stable >= high:
            return low, stable
        if time.monotonic() > deadline:
            raise CheckpointError(
                f"{tp.topic}[{tp.partition}] has a transaction open since before offset {high} "
                f"(last stable offset {stable}) after {timeout}: a killed process's "
                "transaction is aborted after its transaction.timeout.ms; raise the read "
                "timeout above it"
            )
        time.sleep(0.1)


def _read_range(
    reader: Any, tp: TopicPartition, stable: int, deadline: float, timeout: timedelta
) -> dict[str, bytes]:
    latest: dict[str, bytes] = {}
    while True:
        if time.monotonic() > deadline:
            raise CheckpointError(f"reading {tp.topic}[{tp.partition}] did not finish in {timeout}")
        msg = reader.poll(0.5)
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return latest
            raise CheckpointError(f"reading {tp.topic}[{tp.partition}]: {err}")
        key = (msg.key() or b"").decode()
        value = msg.value()
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value
        if (msg.offset() or 0) + 1 >= stable:
            return latest
