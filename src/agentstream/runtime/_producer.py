"""The agent's one producer: outputs, dead letters, dedupe markers and raw writes all go through it.

``send`` returns an ``asyncio.Future`` resolved by the delivery report; ``send_counted`` instead
counts the record into an ``Acks`` (one per handler attempt) that resolves a single future once
all of the attempt's records are acknowledged. Either way the engine awaits every acknowledgement
of an input before the input counts as finished (the "acked before commit" rule). Delivery
reports are served by a small poll thread so that no blocking call runs on the loop.
In exactly-once mode the producer is transactional and every send joins the open transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from agentstream.errors import AgentStreamError, ProducerFencedError

__all__ = [
    "Acks", "DeliveryError", "OutputProducer", "decode_markers", "encode_markers", "is_fenced"
]

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
        self._settled: list[_Settled] = []
        self._settled_lock = threading.Lock()
        # Dedupe markers of finished inputs, written as one record per marker partition and poll.
        self._markers: list[tuple[tuple[str, bytes, int], Any]] = []
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
                self._flush_markers()
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
            self._settle_later(fut, None if err is None else _not_delivered(topic, err), None)

        try:
            self._produce(
                topic, value, key=key, headers=headers, partition=partition,
                on_delivery=on_delivery,
            )
        except KafkaException as exc:
            fut.set_exception(DeliveryError(f"cannot produce to {topic}: {exc}"))
        return fut

    def send_counted(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        acks: Acks,
    ) -> None:
        """Enqueue a record whose acknowledgement counts into ``acks`` (no future per record:
        creating and settling one per record is what bounds the loop's throughput). Must be
        called on the event loop, before ``acks`` is sealed."""
        acks.add()
        try:
            self._produce(
                topic, value, key=key, headers=headers, partition=partition,
                on_delivery=acks.on_delivery,
            )
        except KafkaException as exc:
            acks.failed(f"cannot produce to {topic}: {exc}")

    def _produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None,
        headers: Headers | None,
        partition: int | None,
        on_delivery: Any,
    ) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": on_delivery}
        if headers:
            kwargs["headers"] = list(headers)
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return
            except BufferError:
                # The local queue is full: let the poll thread drain delivery reports.
                self._producer.poll(0.05)

    def _settle_later(self, fut: Any, error: BaseException | None, result: Any) -> None:
        """Queue an outcome for a future (or a callback taking ``(error, result)``) for the next
        batched hand-over to the loop (any thread)."""
        with self._settled_lock:
            self._settled.append((fut, error, result))

    def _call_on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop with the next batch of settled futures (any thread)."""
        with self._settled_lock:
            self._settled.append((None, None, fn))

    def _queue_marker(self, marker: tuple[str, bytes, int], done: Any) -> None:
        """Write ``marker`` with the next batch; ``done`` (a future, or a callback taking
        ``(error, result)``) gets True once it is acknowledged, False if it could not be written
        (the engine then writes it itself). Any thread."""
        with self._settled_lock:
            self._markers.append((marker, done))

    def _flush_markers(self) -> None:
        """One record per (topic, partition) holds every queued marker key (a JSON list)."""
        with self._settled_lock:
            if not self._markers:
                return
            queued, self._markers = self._markers, []
        groups: dict[tuple[str, int], list[tuple[bytes, Any]]] = {}
        for (topic, key, partition), done in queued:
            groups.setdefault((topic, partition), []).append((key, done))
        for (topic, partition), entries in groups.items():
            value = encode_markers([key for key, _ in entries])
            dones = [done for _, done in entries]
            try:
                self._producer.produce(
                    topic, value=value, partition=partition,
                    on_delivery=partial(self._on_markers, dones),
                )
            except (BufferError, KafkaException):
                self._markers_written(dones, "not enqueued")

    def _on_markers(
        self, dones: list[Any], err: KafkaError | None, _msg: Message
    ) -> None:
        self._markers_written(dones, err)

    def _markers_written(self, dones: list[Any], err: object) -> None:
        with self._settled_lock:
            self._settled.extend((done, None, err is None) for done in dones)

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


class Acks:
    """The acknowledgements of one handler attempt, counted rather than one future per record.

    Delivery reports (usually on the poll thread) count the pending records down. Once the engine
    ``seal``s the attempt (the handler returned: no more sends) and nothing is pending, ONE
    future resolves on the loop, with ``DeliveryError`` if any record failed. ``seal(marker=...)``
    chains the dedupe marker: when every record succeeded it is queued right from the last
    delivery report, strictly after those acknowledgements, and written by the poll thread in
    one record with the other markers of that poll (per marker partition); the future resolves
    once that record is acknowledged too. The future's result says whether the marker was
    written; if not (never chained, refused, or lost) the engine writes it itself, still after
    the acknowledgements.
    """

    __slots__ = ("_done", "_error", "_finished", "_lock", "_marker", "_on_acked", "_pending",
                 "_producer", "_sealed", "_target")

    def __init__(self, producer: OutputProducer) -> None:
        self._producer = producer
        self._lock = threading.Lock()  # reports may arrive on the poll thread and on the loop
        self._pending = 0
        self._error: str | None = None
        self._sealed = False
        self._finished = False
        self._done: asyncio.Future[bool] | None = None
        self._target: Any = None  # the future or on_done callback that receives the outcome
        self._marker: tuple[str, bytes, int] | None = None
        self._on_acked: Callable[[], None] | None = None

    def add(self) -> None:
        with self._lock:
            self._pending += 1

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """The delivery report of one counted record (a confluent-kafka ``on_delivery``)."""
        self._count_down(None if err is None else f"record to {msg.topic()} not delivered: "
                         f"{err.str()}")

    def failed(self, error: str) -> None:
        """A counted record that could not even be enqueued."""
        self._count_down(error)

    def _count_down(self, error: str | None) -> None:
        with self._lock:
            self._pending -= 1
            if error is not None and self._error is None:
                self._error = error
            finish = self._sealed and self._pending == 0 and not self._finished
            if finish:
                self._finished = True
        if finish:
            self._finish()

    def seal(
        self,
        marker: tuple[str, bytes, int] | None = None,
        *,
        on_acked: Callable[[], None] | None = None,
        on_done: Callable[[BaseException | None, bool], None] | None = None,
    ) -> asyncio.Future[bool] | None:
        """No more records will be counted; the outcome arrives once all are acknowledged.

        The outcome is ``(error, marked)``: ``DeliveryError`` if a record failed, else whether
        the dedupe marker was written. Without ``on_done`` it comes as a future (returned; its
        result is ``marked``); with ``on_done`` it is called with it on the loop instead (no
        future per attempt; ``None`` is returned). ``marker`` (topic, key, partition) is the
        dedupe marker to write after the records; ``on_acked`` runs on the loop once the records
        are acknowledged, before the marker is (the engine lets the input's key move on then).
        Sealing again returns the same future. Must be called on the event loop.
        """
        if self._sealed:
            if self._done is None:
                raise RuntimeError("Acks sealed with on_done has no future")
            return self._done
        if on_done is None:
            self._done = self._producer._loop.create_future()
            target: Any = self._done
        else:
            target = on_done
        with self._lock:
            self._sealed = True
            self._target = target
            self._marker = marker
            self._on_acked = on_acked
            finish = self._pending == 0 and not self._finished
            if finish:
                self._finished = True
        if finish:
            if self._error is None and marker is None:
                _settle_one(target, None, False)  # on the loop already: no hand-over needed
            else:
                self._finish(on_loop=True)
        return self._done

    @property
    def finished(self) -> bool:
        """Sealed and every counted record reported (the outcome is on its way or delivered)."""
        return self._finished

    def _finish(self, *, on_loop: bool = False) -> None:
        """Every record is acknowledged: fail, queue the marker, or resolve (any thread)."""
        target = self._target
        if self._error is not None:
            self._producer._settle_later(target, DeliveryError(self._error), False)
            return
        if self._marker is None:
            self._producer._settle_later(target, None, False)
            return
        if self._on_acked is not None:
            if on_loop:
                self._on_acked()
            else:
                self._producer._call_on_loop(self._on_acked)
        self._producer._queue_marker(self._marker, target)

# The receiver of an outcome (a future, or a callback taking (error, result)) with the outcome;
# or (None, None, a function to call).
_Settled = tuple[Any, BaseException | None, Any]


def _settle_one(target: Any, error: BaseException | None, result: Any) -> None:
    if isinstance(target, asyncio.Future):
        if target.done():
            return
        if error is None:
            target.set_result(result)
        else:
            target.set_exception(error)
    else:
        target(error, result)


def _settle_many(batch: list[_Settled]) -> None:
    for target, error, result in batch:
        if target is None:
            result()
        else:
            _settle_one(target, error, result)


def encode_markers(keys: list[bytes]) -> bytes:
    """The value of a batched dedupe-marker record: a JSON list of the dedupe keys."""
    return json.dumps([k.decode() for k in keys], separators=(",", ":")).encode()


def decode_markers(key: bytes | None, value: bytes | None) -> list[str]:
    """The dedupe keys of a marker record: a batch (JSON list value) or one key (empty value)."""
    if value:
        keys = json.loads(value)
        return [str(k) for k in keys] if isinstance(keys, list) else []
    return [] if key is None else [key.decode()]


def _not_delivered(topic: str, err: KafkaError) -> DeliveryError:
    return DeliveryError(f"record to {topic} not delivered: {err.str()}")


def _fenced(exc: BaseException) -> ProducerFencedError:
    return ProducerFencedError(
        f"exactly-once producer fenced: another instance of this agent took over its "
        f"transactional id; stopping without committing ({exc})"
    )
