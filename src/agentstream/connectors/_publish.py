"""``RawPublisher``: writes ``RawRecord``s to ``ingest.<source>`` and says when Kafka has them.

The producer is idempotent with ``acks=all``; ``message.timeout.ms`` equals the acknowledgement
deadline, so when ``publish`` gives up librdkafka has given up the record too (it will not be
written later behind the caller's back; the only exception is a write whose response was lost in
flight, and the source's retry then carries the same raw id).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError

from agentstream.bus import make_producer
from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.events import RawRecord
from agentstream.serde import Serde, make_serde

__all__ = ["PublishError", "RawPublisher"]

# How often delivery reports are polled while records are in flight.
_PUMP_INTERVAL = 0.0005


class PublishError(AgentStreamError):
    """Kafka did not acknowledge a raw record in time (or refused it); the record was not
    stored. Retry later; check the broker."""


class RawPublisher:
    """Produces raw records and reports each acknowledgement (async or in batches).

    ``timeout`` (default 5 s) bounds every wait for an acknowledgement. ``serde`` defaults to
    ``make_serde(kafka)``. Call ``start()`` before use and ``close()`` after.
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
        self._producer = make_producer(conf)
        self._warm: set[str] = set()
        self._pumping: asyncio.AbstractEventLoop | None = None
        # (give-up time, future) of records in flight, oldest first: the deadline is the same for
        # every record, so the pump expires them from the front (no timer handle per record).
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()

    def start(self) -> RawPublisher:
        """Nothing to start: delivery reports are polled on the event loop while records are in
        flight (no thread, so no GIL hand-offs or cross-thread wake-ups per record)."""
        return self

    def _pump(self) -> None:
        # Runs on the event loop: every delivery report librdkafka has queued is served by this
        # one poll, so the futures of a whole batch settle in one hand-over. (A thread blocking
        # in poll and handing batches over with call_soon_threadsafe measured no better here and
        # cost more CPU per request when the cores were contended: GIL hand-offs.)
        self._producer.poll(0)
        waiting = self._waiting
        if waiting:
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
        loop = self._pumping
        if loop is not None and (len(self._producer) > 0 or waiting):
            loop.call_later(_PUMP_INTERVAL, self._pump)
        else:
            self._pumping = None

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
            _resolve(fut, err)

        try:
            self._producer.produce(topic, key=key.encode(), value=value, on_delivery=settle)
        except BufferError:
            raise PublishError("the producer queue is full; the broker is not keeping up") from None
        # A little beyond the deadline: librdkafka's own message timeout normally fires first.
        self._waiting.append((started + deadline + 1.0, fut))
        if self._pumping is None or self._pumping.is_closed():  # (a new loop, the old one gone)
            self._pumping = loop
            loop.call_soon(self._pump)
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
        self._pumping = None
        self._waiting.clear()
        self._producer.flush(self.timeout.total_seconds())


def _resolve(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(PublishError(f"Kafka refused the record: {err.str()}"))
