"""``RawPublisher``: writes ``RawRecord``s to ``ingest.<source>`` and says when Kafka has them.

The producer is idempotent with ``acks=all``; ``message.timeout.ms`` equals the acknowledgement
deadline, so when ``publish`` gives up librdkafka has given up the record too (it will not be
written later behind the caller's back; the only exception is a write whose response was lost in
flight, and the source's retry then carries the same raw id).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, Producer

from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.events import RawRecord
from agentstream.serde import Serde, make_serde

__all__ = ["PublishError", "RawPublisher"]

# How long the acknowledgement thread's poll blocks (it also re-checks "closing" this often).
_POLL_BLOCK = 0.05
# How often a loop with records in flight checks for ones overdue (a backstop: librdkafka's
# message timeout, equal to the deadline, normally reports them first).
_SWEEP_INTERVAL = 0.1

_Report = tuple[asyncio.Future[None], KafkaError | None]


class PublishError(AgentStreamError):
    """Kafka did not acknowledge a raw record in time (or refused it); the record was not
    stored. Retry later; check the broker."""


class RawPublisher:
    """Produces raw records and reports each acknowledgement (async or in batches).

    ``timeout`` (default 5 s) bounds every wait for an acknowledgement. ``serde`` defaults to
    ``make_serde(kafka)``. Call ``start()`` before use and ``close()`` after. Use either
    ``publish`` (async, the gateway) or ``publish_all`` (blocking, the importers) on one
    publisher, not both.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        timeout: timedelta = timedelta(seconds=5),
        serde: Serde | None = None,
        linger: timedelta = timedelta(milliseconds=2),
    ) -> None:
        self.kafka = kafka
        self.timeout = timeout
        self.serde = serde if serde is not None else make_serde(kafka)
        ms = max(1, int(timeout.total_seconds() * 1000))
        # Tuning defaults that AGENTSTREAM_LIBRDKAFKA may change; the durability settings may not.
        conf: dict[str, Any] = {
            "linger.ms": max(0, int(linger.total_seconds() * 1000)),
            "request.timeout.ms": max(1, min(ms, 30_000)),
            # Webhook JSON compresses ~5x: fewer bytes for the broker to write and replicate.
            "compression.type": "lz4",
        }
        conf.update(kafka.client_config())
        conf.update({"acks": "all", "enable.idempotence": True, "message.timeout.ms": ms})
        self._producer = Producer(conf)
        self._warm: set[str] = set()
        # Delivery reports served by the acknowledgement thread, not yet handed to their loops.
        self._reports: list[_Report] = []
        self._acks: threading.Thread | None = None
        self._closing = threading.Event()
        # Per event loop: (give-up time, future) of records in flight, oldest first. The
        # deadline is the same for every record, so overdue ones are found at the front.
        self._waiting: dict[asyncio.AbstractEventLoop, deque[tuple[float, asyncio.Future[None]]]]
        self._waiting = {}

    def start(self) -> RawPublisher:
        """Nothing to start up front: the acknowledgement thread starts with the first
        ``publish``."""
        return self

    def _serve_acks(self) -> None:
        """The acknowledgement thread: waits in librdkafka (GIL released) for delivery reports
        and hands each poll's batch to the event loop in one call, so a loop with records in
        flight sleeps until they are acknowledged instead of polling for them."""
        producer = self._producer
        while not self._closing.is_set():
            producer.poll(_POLL_BLOCK)
            if self._reports:
                batch, self._reports = self._reports, []
                _hand_over(batch)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._waiting.get(loop)
        now = time.monotonic()
        while waiting:
            give_up, fut = waiting[0]
            if not fut.done():
                if give_up > now:
                    break
                fut.set_exception(
                    PublishError(f"no acknowledgement from Kafka within {self.timeout}")
                )
            waiting.popleft()
        if waiting:
            loop.call_later(_SWEEP_INTERVAL, self._sweep, loop)
        else:
            self._waiting.pop(loop, None)

    def encode(self, topic: str, raw: RawRecord) -> bytes:
        """The message value of ``raw`` (the first call per topic may register its schema)."""
        value = self.serde.encode(topic, raw)
        self._warm.add(topic)
        return value

    def is_warm(self, topic: str) -> bool:
        return topic in self._warm

    async def publish(self, topic: str, key: str, raw: RawRecord) -> float:
        """Produce ``raw`` and wait for its acknowledgement; return the seconds it took.

        Raises ``PublishError`` when it is not acknowledged within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        deadline = self.timeout.total_seconds()
        started = time.monotonic()
        if topic in self._warm:
            value = self.encode(topic, raw)
        else:
            try:
                value = await asyncio.wait_for(
                    loop.run_in_executor(None, self.encode, topic, raw), deadline
                )
            except (TimeoutError, AgentStreamError) as exc:
                raise PublishError(f"could not prepare the record for {topic}: {exc!r}") from None
        fut: asyncio.Future[None] = loop.create_future()

        def settle(err: KafkaError | None, _msg: Any) -> None:
            # Runs in whichever thread polls (the acknowledgement thread, or close()'s flush).
            self._reports.append((fut, err))

        try:
            self._producer.produce(topic, key=key.encode(), value=value, on_delivery=settle)
        except BufferError:
            raise PublishError("the producer queue is full; the broker is not keeping up") from None
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = deque()
            loop.call_later(_SWEEP_INTERVAL, self._sweep, loop)
        # A little beyond the deadline: librdkafka's own message timeout normally fires first.
        waiting.append((started + deadline + 1.0, fut))
        if self._acks is None:
            self._acks = threading.Thread(
                target=self._serve_acks, name="agentstream-acks", daemon=True
            )
            self._acks.start()
        await fut
        return time.monotonic() - started

    def publish_all(
        self,
        items: Iterable[tuple[str, str, RawRecord]],
        *,
        on_done: Callable[[bool], None] | None = None,
    ) -> tuple[int, int]:
        """Produce many ``(topic, key, raw)`` and wait for every acknowledgement (importers).

        Returns ``(acknowledged, failed)``; ``on_done(ok)`` is called per record.
        """
        counts = [0, 0]

        def settle(err: KafkaError | None, _msg: Any) -> None:
            counts[0 if err is None else 1] += 1
            if on_done is not None:
                on_done(err is None)

        for topic, key, raw in items:
            value = self.encode(topic, raw)
            while True:
                try:
                    self._producer.produce(topic, key=key.encode(), value=value, on_delivery=settle)
                    self._producer.poll(0)
                    break
                except BufferError:
                    self._producer.poll(0.1)
        remaining = self._producer.flush(self.timeout.total_seconds() + 5)
        if remaining:
            raise PublishError(f"{remaining} record(s) were not acknowledged in time")
        return counts[0], counts[1]

    def close(self) -> None:
        """Stop the acknowledgement thread and flush: every record produced is acknowledged
        (its ``publish`` answers) or given up before this returns."""
        self._closing.set()
        if self._acks is not None:
            self._acks.join(_POLL_BLOCK * 20)
        self._producer.flush(self.timeout.total_seconds())
        if self._reports:
            batch, self._reports = self._reports, []
            _hand_over(batch)


def _hand_over(batch: list[_Report]) -> None:
    """Settle each future of ``batch`` on its own loop: one wake-up per loop per batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Report]] = {}
    for report in batch:
        by_loop.setdefault(report[0].get_loop(), []).append(report)
    for loop, reports in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these
            loop.call_soon_threadsafe(_settle_all, reports)


def _settle_all(batch: list[_Report]) -> None:
    for fut, err in batch:
        _resolve(fut, err)


def _resolve(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(PublishError(f"Kafka refused the record: {err.str()}"))
