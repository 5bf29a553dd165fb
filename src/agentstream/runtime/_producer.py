"""The agent's one producer: outputs, dead letters, dedupe markers and raw writes all go through it.

Sends return an ``asyncio.Future`` resolved by the delivery report, so the engine can await every
acknowledgement of an input before the input counts as finished (the "acked before commit" rule).
Delivery reports are served by a small poll thread so that no blocking call runs on the loop.
In exactly-once mode the producer is transactional and every send joins the open transaction.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from agentstream.errors import AgentStreamError, ProducerFencedError

__all__ = ["DeliveryError", "OutputProducer", "is_fenced"]

log = logging.getLogger("agentstream.runtime")

Headers = Sequence[tuple[str, bytes | None]]

_FENCED_CODES = {
    KafkaError._FENCED,
    getattr(KafkaError, "PRODUCER_FENCED", KafkaError._FENCED),
    KafkaError.INVALID_PRODUCER_EPOCH,
}


class DeliveryError(AgentStreamError):
    """A record could not be written (the broker refused it or it timed out); the message says
    which topic and why. The input that caused it is retried, then dead-lettered."""


def is_fenced(exc: BaseException) -> bool:
    if isinstance(exc, KafkaException) and exc.args:
        err = exc.args[0]
        if isinstance(err, KafkaError):
            return err.code() in _FENCED_CODES or (err.fatal() and "fenc" in err.str().lower())
    return False


class OutputProducer:
    """An idempotent (acks=all) or transactional producer with awaitable sends."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        loop: asyncio.AbstractEventLoop,
        transactional_id: str | None = None,
    ) -> None:
        conf = {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            **config,
        }
        if transactional_id is not None:
            conf["transactional.id"] = transactional_id
        self.transactional = transactional_id is not None
        self.fatal: BaseException | None = None
        self._producer = Producer(conf)
        self._loop = loop
        self._stop = threading.Event()
        # Delivery reports settle their futures in batches: one loop wake-up per poll instead of
        # one per record (waking the loop costs more than settling a future).
        self._settled: list[tuple[asyncio.Future[None], KafkaError | None, str]] = []
        self._settled_lock = threading.Lock()
        self._thread = threading.Thread(target=self._poll, name="agentstream-producer", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._producer.poll(0.05)
            except KafkaException as exc:
                # Fatal (e.g. fenced): remember it for the consumer thread to stop the process,
                # and keep serving delivery reports so that no send waits forever.
                if self.fatal is None:
                    self.fatal = _fenced(exc) if is_fenced(exc) else exc
                    log.error("producer failed: %s", exc)
            finally:
                self._hand_over()

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
    ) -> asyncio.Future[None]:
        """Enqueue a record; the future resolves when it is acknowledged (or fails with
        ``DeliveryError``). Must be called on the event loop."""
        fut: asyncio.Future[None] = self._loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            with self._settled_lock:
                self._settled.append((fut, err, topic))

        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": on_delivery}
        if headers:
            kwargs["headers"] = list(headers)
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return fut
            except BufferError:
                # The local queue is full: let the poll thread drain delivery reports.
                self._producer.poll(0.05)
            except KafkaException as exc:
                fut.set_exception(DeliveryError(f"cannot produce to {topic}: {exc}"))
                return fut

    def _hand_over(self) -> None:
        with self._settled_lock:
            if not self._settled:
                return
            batch, self._settled = self._settled, []
        self._loop.call_soon_threadsafe(_settle_many, batch)

    # -- transactions (exactly-once mode) --------------------------------------------------------
    def init_transactions(self, timeout: float) -> None:
        self._producer.init_transactions(timeout)
        self._producer.begin_transaction()

    def commit_transaction(self, offsets: list[Any], group_metadata: Any, timeout: float) -> None:
        """Put ``offsets`` into the open transaction, commit it and open the next one."""
        try:
            if offsets:
                self._producer.send_offsets_to_transaction(offsets, group_metadata, timeout)
            self._producer.commit_transaction(timeout)
            self._producer.begin_transaction()
        except KafkaException as exc:
            if is_fenced(exc):
                raise _fenced(exc) from exc
            raise

    def abort_transaction(self, timeout: float) -> None:
        try:
            self._producer.abort_transaction(timeout)
            self._producer.begin_transaction()
        except KafkaException as exc:
            if is_fenced(exc):
                raise _fenced(exc) from exc
            raise

    def flush(self, timeout: float) -> int:
        return int(self._producer.flush(timeout))

    def close(self, timeout: float) -> int:
        """Flush (bounded) and stop the poll thread; returns records still undelivered."""
        left = self.flush(timeout) if not self.transactional else 0
        self._stop.set()
        self._thread.join(timeout=2)
        self._hand_over()
        return left


def _settle_many(batch: list[tuple[asyncio.Future[None], KafkaError | None, str]]) -> None:
    for fut, err, topic in batch:
        _settle(fut, err, topic)


def _settle(fut: asyncio.Future[None], err: KafkaError | None, topic: str) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(DeliveryError(f"record to {topic} not delivered: {err.str()}"))


def _fenced(exc: BaseException) -> ProducerFencedError:
    return ProducerFencedError(
        f"exactly-once producer fenced: another instance of this agent took over its "
        f"transactional id; stopping without committing ({exc})"
    )
