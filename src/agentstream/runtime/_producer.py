"""The agent's one producer: outputs, dead letters, dedupe markers and raw writes all go through it.

``send`` returns an ``asyncio.Future`` resolved by the delivery report; ``send_counted`` instead
counts the record into an ``Acks`` (one per handler attempt) that delivers one outcome once all
of the attempt's records are acknowledged. Either way the engine awaits every acknowledgement
of an input before the input counts as finished (the "acked before commit" rule). Dedupe markers
of finished inputs are queued (``queue_marker``), written in batches, and every commit waits for
the markers queued before it (``wait_markers``). Delivery reports are served by a small poll
thread so that no blocking call runs on the loop.
In exactly-once mode the producer is transactional and every send joins the open transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message

from agentstream.bus import make_producer
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
            # The transaction's commit is the acknowledgement of every write in it: only failed
            # writes are reported (no Python callback per delivered record, see send_counted).
            conf.setdefault("delivery.report.only.error", True)
        self.transactional = transactional_id is not None
        # Exactly-once: writes of the open transaction that failed after their input finished
        # (the commit must abort), and per input (dedupe key) how often and why its writes
        # failed, so that the input re-run after the abort keeps its attempt count.
        self._txn_errors: list[str] = []
        self.write_failures: dict[str, tuple[int, str]] = {}
        self.fatal: BaseException | None = None
        self._producer = make_producer(conf)
        self._loop = loop
        self._stop = threading.Event()
        # Delivery reports settle their futures in batches: one loop wake-up per poll instead of
        # one per record (waking the loop costs more than settling a future).
        self._settled: list[_Settled] = []
        self._settled_lock = threading.Lock()
        # Dedupe markers of finished inputs, written as one record per marker partition and poll.
        # Each marker has a sequence number; a commit waits until every marker queued before it
        # is acknowledged (``wait_markers``).
        self._marker_lock = threading.Condition(threading.Lock())
        self._marker_seq = 0
        self._markers: list[tuple[int, str, bytes, int]] = []  # queued, not yet produced
        self._marker_batches: dict[int, _MarkerBatch] = {}  # produced, not yet acknowledged
        self._marker_retry: list[_MarkerBatch] = []  # failed or refused: produced again
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
                if not self.transactional:  # exactly-once: the ledger writes them
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
        ``DeliveryError``). Must be called on the event loop.

        The same acknowledgement mechanism as ``send_counted``: an ``Acks`` of one record."""
        acks = Acks(self)
        self.send_counted(topic, value, key=key, headers=headers, partition=partition, acks=acks)
        done = acks.seal()
        assert done is not None  # sealed without on_done: a future
        return done

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
        if self.transactional:
            self._send_in_transaction(topic, value, key=key, headers=headers,
                                      partition=partition, acks=acks)
            return
        acks.add()
        try:
            if headers or partition is not None:
                self._produce(
                    topic, value, key=key, headers=headers, partition=partition,
                    on_delivery=acks.on_delivery,
                )
            else:  # the common case, without a kwargs dict per record
                try:
                    self._producer.produce(topic, value, key, on_delivery=acks.on_delivery)
                except BufferError:
                    self._produce(topic, value, key=key, headers=None, partition=None,
                                  on_delivery=acks.on_delivery)
        except KafkaException as exc:
            acks.failed(f"cannot produce to {topic}: {exc}")

    def _send_in_transaction(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None,
        headers: Headers | None,
        partition: int | None,
        acks: Acks,
    ) -> None:
        """Exactly-once: the write joins the open transaction and counts as written at once
        (``commit_transaction`` fails unless every write of the transaction was delivered); a
        write refused at once fails the attempt, one that fails later fails the transaction
        (``txn_write_failed``)."""
        try:
            self._produce(topic, value, key=key, headers=headers, partition=partition,
                          on_delivery=acks.on_txn_error)
        except KafkaException as exc:
            acks.add()
            acks.failed(f"cannot produce to {topic}: {exc}")

    def txn_write_failed(self, owner: str | None, attempt: int, reason: str) -> None:
        """A write of the open transaction was not delivered (any thread): the commit aborts,
        and ``owner``'s next run starts after ``attempt``, the attempt that wrote it."""
        with self._settled_lock:
            self._txn_errors.append(reason)
            if owner is not None:
                used, _ = self.write_failures.get(owner, (0, ""))
                self.write_failures[owner] = (max(used, attempt), reason)

    def txn_failure(self) -> str | None:
        """Why the open transaction cannot commit (a write failed), or None."""
        with self._settled_lock:
            return self._txn_errors[0] if self._txn_errors else None

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

    # -- dedupe markers ---------------------------------------------------------------------------
    def queue_marker(self, topic: str, key: bytes, partition: int) -> None:
        """Queue the dedupe marker of a finished input (any thread).

        The poll thread writes the markers queued by one poll as one record per (topic,
        partition); a batch that fails is written again until it is acknowledged. Commits call
        ``wait_markers`` first, so no committed offset passes an input whose marker is not
        acknowledged.
        """
        self.queue_markers(((topic, key, partition),))

    def queue_markers(self, markers: Iterable[tuple[str, bytes, int]]) -> None:
        """``queue_marker`` for several (topic, key, partition) markers under one lock."""
        with self._marker_lock:
            seq = self._marker_seq
            queued = self._markers
            for topic, key, partition in markers:
                seq += 1
                queued.append((seq, topic, key, partition))
            self._marker_seq = seq

    @property
    def markers_queued(self) -> int:
        """Sequence number of the last queued marker."""
        return self._marker_seq

    def markers_acked_through(self) -> int:
        """Every marker with a sequence number up to this one is acknowledged."""
        with self._marker_lock:
            return self._acked_through()

    def _acked_through(self) -> int:
        lows = [b.low for b in self._marker_batches.values()]
        if self._markers:
            lows.append(self._markers[0][0])
        return min(lows) - 1 if lows else self._marker_seq

    def wait_markers(self, seq: int, timeout: float) -> bool:
        """Wait until every marker up to ``seq`` is acknowledged; False at the timeout."""
        with self._marker_lock:
            return self._marker_lock.wait_for(lambda: self._acked_through() >= seq, timeout)

    def _flush_markers(self) -> None:
        """One record per (topic, partition) holds every queued marker key (a JSON list)."""
        with self._marker_lock:
            if not self._markers and not self._marker_retry:
                return
            queued, self._markers = self._markers, []
            batches, self._marker_retry = self._marker_retry, []
            groups: dict[tuple[str, int], _MarkerBatch] = {}
            for seq, topic, key, partition in queued:
                batch = groups.get((topic, partition))
                if batch is None:
                    batch = groups[(topic, partition)] = _MarkerBatch(topic, partition, seq)
                    self._marker_batches[id(batch)] = batch
                batch.keys.append(key)
            batches.extend(groups.values())
        for batch in batches:
            try:
                self._producer.produce(
                    batch.topic, value=encode_markers(batch.keys), partition=batch.partition,
                    on_delivery=partial(self._on_markers, batch),
                )
            except (BufferError, KafkaException) as exc:
                self._marker_failed(batch, f"not enqueued: {exc}")

    def write_markers(self) -> bool:
        """Exactly-once: produce the queued markers into the open transaction (the ledger
        calls this just before it commits); False if some could not be enqueued."""
        self._flush_markers()
        with self._marker_lock:
            return not self._marker_retry

    def discard_markers(self) -> None:
        """Exactly-once, after an abort: the aborted markers' inputs run again and queue them
        anew, so nothing queued or in flight is written again."""
        with self._marker_lock:
            self._markers.clear()
            self._marker_retry.clear()
            self._marker_batches.clear()
            self._marker_lock.notify_all()

    def _on_markers(self, batch: _MarkerBatch, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._marker_failed(batch, err.str())
            return
        with self._marker_lock:
            self._marker_batches.pop(id(batch), None)
            self._marker_lock.notify_all()

    def _marker_failed(self, batch: _MarkerBatch, reason: str) -> None:
        with self._marker_lock:
            if self.transactional and id(batch) not in self._marker_batches:
                return  # discarded with its aborted transaction
            log.warning("dedupe markers to %s[%d] not written (%s); writing them again",
                        batch.topic, batch.partition, reason)
            self._marker_retry.append(batch)

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
        """Put ``offsets`` into the open transaction, commit it and open the next one.

        ``send_offsets_to_transaction`` is called with a deadline of our own: librdkafka can
        block in it past its timeout when the group coordinator went away and came back
        (confluentinc/librdkafka#5456, #5511). Past ``timeout`` + a margin the call is left
        behind and ``TransactionStuckError`` stops the process (exit 1, nothing committed):
        a restarted process fences this one and carries on, where waiting would hang forever.
        """
        try:
            if offsets:
                _bounded(
                    lambda: self._producer.send_offsets_to_transaction(
                        offsets, group_metadata, timeout
                    ),
                    timeout + _STUCK_MARGIN, "send_offsets_to_transaction",
                )
            self._producer.commit_transaction(timeout)
            self._producer.begin_transaction()
            self._transaction_ended()
        except KafkaException as exc:
            if is_fenced(exc):
                raise _fenced(exc) from exc
            raise

    def _transaction_ended(self) -> None:
        """After a commit or abort: the transaction's write failures and marker batches are
        decided (a commit delivered them all; an abort discarded them)."""
        with self._settled_lock:
            self._txn_errors.clear()
        with self._marker_lock:
            self._marker_batches.clear()
            self._marker_lock.notify_all()

    def abort_transaction(self, timeout: float) -> None:
        try:
            self._producer.abort_transaction(timeout)
            # Serve the reports of the aborted writes now: the inputs run again right after,
            # and must know which of their writes failed (``write_failures``).
            self._producer.poll(0)
            self._producer.begin_transaction()
            self._transaction_ended()
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


# One lock for every Acks: its sections are a few counter updates, and the loop and the poll
# thread are the only ones to take it (a lock per handler attempt costs more than sharing one).
_ACKS_LOCK = threading.Lock()


class Acks:
    """The acknowledgements of one handler attempt, counted rather than one future per record.

    Delivery reports (usually on the poll thread) count the pending records down. Once the engine
    ``seal``s the attempt (the handler returned: no more sends) and nothing is pending, the
    outcome is delivered on the loop once: ``DeliveryError`` if any record failed, else None.
    """

    __slots__ = ("_done", "_error", "_finished", "_lock", "_pending", "_producer", "_sealed",
                 "_target", "attempt", "owner")

    def __init__(
        self, producer: OutputProducer, *, owner: str | None = None, attempt: int = 0
    ) -> None:
        self._producer = producer
        self.owner = owner  # the dedupe key of the input whose writes these are
        self.attempt = attempt
        self._lock = _ACKS_LOCK  # reports may arrive on the poll thread and on the loop
        self._pending = 0
        self._error: str | None = None
        self._sealed = False
        self._finished = False
        self._done: asyncio.Future[None] | None = None
        self._target: Any = None  # the future or on_done callback that receives the outcome

    def add(self) -> None:
        with self._lock:
            self._pending += 1

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """The delivery report of one counted record (a confluent-kafka ``on_delivery``)."""
        self._count_down(None if err is None else f"record to {msg.topic()} not delivered: "
                         f"{err.str()}")

    def on_txn_error(self, err: KafkaError | None, msg: Message) -> None:
        """Exactly-once: the report of a write that failed after its attempt was sealed."""
        if err is not None:
            self._producer.txn_write_failed(
                self.owner, self.attempt, f"record to {msg.topic()} not delivered: {err.str()}")

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
            self._finish(on_loop=False)

    def seal(
        self, *, on_done: Callable[[BaseException | None, Any], None] | None = None
    ) -> asyncio.Future[None] | None:
        """No more records will be counted; the outcome arrives once all are acknowledged.

        Without ``on_done`` the outcome comes as a future (returned); with ``on_done`` it is
        called on the loop with ``(error, self)`` instead (no future per attempt; ``None`` is
        returned). Sealing again returns the same future. Must be called on the event loop.
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
            finish = self._pending == 0 and not self._finished
            if finish:
                self._finished = True
        if finish:
            self._finish(on_loop=True)
        return self._done

    @property
    def finished(self) -> bool:
        """Sealed and every counted record reported (the outcome is on its way or delivered)."""
        return self._finished

    def _finish(self, *, on_loop: bool) -> None:
        """Every record is reported: deliver the outcome (on the loop).

        The target is let go of here: an ``on_done`` callback usually holds the attempt that
        holds these ``Acks``, and a reference cycle per input would leave every input's record,
        message and context to the cyclic garbage collector instead of freeing them at once.
        """
        error = None if self._error is None else DeliveryError(self._error)
        target, self._target = self._target, None
        result = None if self._done is not None else self  # a future, or on_done(error, self)
        if on_loop:
            _settle_one(target, error, result)
        else:
            self._producer._settle_later(target, error, result)


class _MarkerBatch:
    """Dedupe marker keys written as one record; ``low`` is the lowest sequence number in it."""

    __slots__ = ("keys", "low", "partition", "topic")

    def __init__(self, topic: str, partition: int, low: int) -> None:
        self.topic = topic
        self.partition = partition
        self.low = low
        self.keys: list[bytes] = []


# The receiver of an outcome (a future, or a callback taking (error, result)) with the outcome.
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


_STUCK_MARGIN = 15.0


class TransactionStuckError(AgentStreamError):
    """A transactional producer call did not return within its deadline (see
    ``OutputProducer.commit_transaction``); the process stops without committing."""


def _bounded(fn: Callable[[], None], deadline: float, what: str) -> None:
    """Run ``fn`` on a daemon thread and wait at most ``deadline`` seconds for it."""
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def call() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=call, name=f"agentstream-{what}", daemon=True).start()
    if not done.wait(deadline):
        raise TransactionStuckError(
            f"{what} did not return within {deadline:.0f}s (librdkafka can block there after "
            "the group coordinator restarted); stopping without committing, a restarted process "
            "takes over"
        )
    if outcome[0] is not None:
        raise outcome[0]


def _fenced(exc: BaseException) -> ProducerFencedError:
    return ProducerFencedError(
        f"exactly-once producer fenced: another instance of this agent took over its "
        f"transactional id; stopping without committing ({exc})"
    )
