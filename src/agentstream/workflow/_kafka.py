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
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from agentstream import bus
from agentstream.bus import make_admin, make_producer
from agentstream.errors import AgentStreamError, CheckpointError

__all__ = ["AckedProducer", "OutRecord", "ensure_topic", "read_compacted"]

Headers = Sequence[tuple[str, bytes]]

log = logging.getLogger("agentstream.workflow")

# How many times a transaction commit that timed out is awaited again before the write fails.
_COMMIT_ATTEMPTS = 10


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
        self._producer = make_producer(conf)
        self._tx_lock = asyncio.Lock()
        self._unfinished = False
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
        began = False
        try:
            if self._unfinished:  # a commit that never got its answer: finish it first
                self._commit(timeout)
                self._unfinished = False
            p.begin_transaction()
            began = True
            for r in records:
                p.produce(r.topic, key=r.key, value=r.value, headers=list(r.headers))
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
