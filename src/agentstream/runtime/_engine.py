"""The event-loop side of an agent: worker tasks run records (decode, dedupe, handle, acks).

An attempt's writes are counted into one ``Acks`` (not awaited one future each); once they are
acknowledged the input goes to the ledger (``Ledger.finish``, ``_ledger.py``), which queues its
dedupe marker and lets its offset be committed; nothing here commits.
Failures follow the handler's ``RetryPolicy``; a waiting retry blocks only its own key (the
scheduler keeps the key busy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from agentstream.clock import clock
from agentstream.errors import EncodeError
from agentstream.ops import metrics
from agentstream.policy import RetryPolicy
from agentstream.runtime._agent import Agent, HandlerSpec
from agentstream.runtime._context import Context
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._dlq import FailureInfo, Stage, build_dead_letter, replay_marker
from agentstream.runtime._durable import Durable
from agentstream.runtime._ledger import Ledger
from agentstream.runtime._memory import _SINK, AgentMemory
from agentstream.runtime._producer import Acks, DeliveryError, OutputProducer
from agentstream.runtime._scheduler import KeyOrderedScheduler, TopicPartition, WorkItem
from agentstream.serde import Serde, decode_off_loop

__all__ = ["Codec", "Engine", "EngineStats"]

log = logging.getLogger("agentstream.runtime")

_DLQ_WRITE_ATTEMPTS = 5
# A worker yields to the loop after this many records in a row (delivery reports, timers and
# the ops server get their turn; ready records are then handed out by ``dispatch``).
_STREAK = 32


class Codec(Protocol):
    """The part of ``agentstream.serde.Serde`` the runtime uses."""

    def encode(self, topic: str, record: Any) -> bytes: ...

    def decode(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> Any: ...


@dataclass
class EngineStats:
    handled: int = 0
    skipped: int = 0
    deduplicated: int = 0
    retries: int = 0
    dead_letters: int = 0


class _Emit(Exception):
    """Marks a failure while waiting for the acknowledgements of emitted records."""

    def with_cause(self, cause: BaseException) -> _Emit:
        self.__cause__ = cause
        return self


class _Attempt:
    """One input's way through its handler attempts (state shared by the fast and slow path)."""

    __slots__ = ("acks", "acks_done", "attempt", "dkey", "emitted", "failure", "item",
                 "record", "spec", "started", "type_name")

    def __init__(
        self, item: WorkItem, spec: HandlerSpec, record: Any, dkey: str, type_name: str
    ) -> None:
        self.item = item
        self.spec = spec
        self.record = record
        self.dkey = dkey
        self.type_name = type_name
        self.attempt = 0
        self.started = time.monotonic()
        self.failure: FailureInfo | None = None
        self.acks: Acks | None = None
        self.acks_done: asyncio.Future[None]
        self.emitted: list[tuple[str, str]] = []


async def _fold_only(event: Any, ctx: Context) -> None:
    """The handler of input types the agent does not handle: only the stores fold them."""


_FOLD_RETRY = RetryPolicy(maximum_attempts=3)


class Engine:
    """Runs started records as asyncio tasks on one loop; see the module docstring."""

    def __init__(
        self,
        agent: Agent,
        *,
        codec: Codec,
        producer: OutputProducer,
        scheduler: KeyOrderedScheduler,
        ledger: Ledger,
        dedupe: DedupeStore | None,
        dlq_topic: str,
        loop: asyncio.AbstractEventLoop,
        memory: AgentMemory | None = None,
        durable: Durable | None = None,
    ) -> None:
        self.agent = agent
        self.memory = memory
        self.durable = durable
        self.codec = codec
        self.producer = producer
        self.scheduler = scheduler
        self.ledger = ledger
        self.dedupe = dedupe if dedupe is not None and dedupe.enabled else None
        self.dlq_topic = dlq_topic
        self.loop = loop
        self.stats = EngineStats()
        self.fatal: BaseException | None = None
        self._tasks: dict[WorkItem, asyncio.Task[None]] = {}  # who runs each started record
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: deque[asyncio.Future[WorkItem | None]] = deque()  # parked workers
        self._progress = asyncio.Event()
        self._in_flight = metrics.IN_FLIGHT.labels(agent.name)
        self._children: dict[tuple[Any, ...], Any] = {}
        # Per-event counters are summed here and added to Prometheus by flush_metrics (the
        # runner calls it every 50 ms and at the end): a labelled inc() per event costs a lock.
        self._counts: dict[tuple[Any, ...], int] = {}
        self._latencies: dict[str, list[float]] = {}  # per input type, for HANDLER_LATENCY
        self._dispatch_queued = False
        self._acked: list[_Attempt] = []  # inputs whose writes were acknowledged, to finish
        # Dedupe keys of inputs started and not finished yet: a redelivery of one that comes
        # while it is in flight (its key's next input may start before it finished) is a
        # duplicate too. An entry counts while its input is started (``scheduler.started``:
        # not finished, rolled back or revoked); entries are dropped in bulk (``_seen``).
        self._inflight: dict[str, WorkItem] = {}
        self._routes: dict[tuple[str, type], tuple[HandlerSpec | None, str, tuple[Any, ...]]] = {}
        self._acked_queued = False
        self._settle_cb = self._settle  # one bound method for every attempt's Acks
        self._needs_lookup = getattr(codec, "needs_lookup", None)
        # Inputs waiting for a retry, and when it is due (tests on a virtual clock read it).
        self.retry_waits: dict[WorkItem, datetime] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled child of a per-event metric, cached (``labels()`` is costly per event)."""
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(self.agent.name, *labels)
        return child

    def flush_metrics(self) -> None:
        """Add the counts summed since the last flush to the Prometheus counters (on the loop)."""
        counts, self._counts = self._counts, {}
        for (metric, *labels), n in counts.items():
            self._child(metric, *labels).inc(n)
        latencies, self._latencies = self._latencies, {}
        for type_name, seconds in latencies.items():
            metrics.observe_many(self._child(metrics.HANDLER_LATENCY, type_name), seconds)
        self._in_flight.set(self.scheduler.running_count)

    # -- scheduling -------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Hand the next ready record to a parked (or a new) worker, and again at the next loop
        turn while records are ready (called on the loop).

        One worker per turn: a worker whose handler does not suspend takes the following ready
        records itself (``take_next``), so waking a worker per ready record costs more than the
        records; a handler that suspends gives the turn back, and the next dispatch wakes
        another worker, up to ``max_in_flight``.
        """
        self._dispatch_queued = False
        if self.fatal is not None:
            return
        item = self.scheduler.take_next()
        if item is None:
            return
        while self._idle:
            parked = self._idle.popleft()
            if not parked.done():
                parked.set_result(item)
                break
        else:
            task = self.loop.create_task(self._worker(item))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        self._request_dispatch()

    def _request_dispatch(self) -> None:
        """Dispatch once at the next loop turn, however many slots were freed before it."""
        if not self._dispatch_queued and self.fatal is None:
            self._dispatch_queued = True
            self.loop.call_soon(self.dispatch)

    async def _worker(self, item: WorkItem | None) -> None:
        """Run records one after another until none is ready, then park until handed one.

        A record runs until its handler has returned and its writes are queued; its slot then
        goes back to the scheduler and its acknowledgements settle in a callback (``_settle``),
        so the worker goes straight on to the next ready record, without a task per record.
        Retries after failed writes take the slow path (``_continue``, a task of its own).
        """
        me = asyncio.current_task()
        assert me is not None
        streak = 0
        while item is not None:
            self._tasks[item] = me
            try:
                await self._handle_item(item)
            except asyncio.CancelledError:
                self._abandoned(item)
                raise
            except Exception as exc:
                self._failed(item, exc)
                return
            finally:
                self._tasks.pop(item, None)
            if self.fatal is not None:
                return
            streak += 1
            if streak < _STREAK:
                item = self.scheduler.take_next()
                if item is not None:
                    continue
            streak = 0
            item = await self._park()

    async def _park(self) -> WorkItem | None:
        """Wait to be handed the next record (``dispatch``)."""
        parked: asyncio.Future[WorkItem | None] = self.loop.create_future()
        self._idle.append(parked)
        self._request_dispatch()  # a record may be ready already (a streak ended)
        try:
            return await parked
        except asyncio.CancelledError:
            handed = parked.result() if parked.done() and not parked.cancelled() else None
            if handed is not None:
                self._abandoned(handed)  # handed over, then cancelled
            raise

    def _abandoned(self, item: WorkItem) -> None:
        # ``drain`` says how many it abandons in one line; one per input would flood the log.
        log.debug("abandoned %s[%d]@%d without commit", item.topic, item.partition, item.offset)
        self._progress.set()

    def _failed(self, item: WorkItem, exc: BaseException) -> None:
        log.error("cannot finish %s[%d]@%d", item.topic, item.partition, item.offset,
                  exc_info=exc)
        self.fatal = self.fatal or exc
        self._progress.set()

    def _finish(self, item: WorkItem, dkey: str | None = None) -> None:
        """To the ledger: ``dkey`` for an input handled or dead-lettered (its marker is queued),
        None for one skipped or recognised as a duplicate."""
        self.ledger.finish(item, dkey)
        self._progress.set()
        self._request_dispatch()

    def _settle(self, error: BaseException | None, acks: _AttemptAcks) -> None:
        """The acknowledgements of a returned handler arrived (a callback on the loop)."""
        pending = acks.pending
        acks.pending = None  # the attempt holds its acks: no reference cycle once settled
        assert pending is not None
        if error is not None:
            # A failed write: the attempt is retried or dead-lettered, before the key's later
            # inputs that started meanwhile (they run again after it).
            if not self.scheduler.rollback(pending.item):
                return  # revoked, or rolled back itself: its next owner runs it again
            task = self.loop.create_task(self._continue(pending, error))
            self._tasks[pending.item] = task
            return
        self._acked.append(pending)
        if not self._acked_queued:
            self._acked_queued = True
            self.loop.call_soon(self._finish_acked)

    def _finish_acked(self) -> None:
        """Finish every input whose writes were acknowledged since the last call, together."""
        self._acked_queued = False
        batch, self._acked = self._acked, []
        self._succeeded(batch)
        self.ledger.finish_many([(p.item, p.dkey) for p in batch])
        self._progress.set()
        self.dispatch()

    async def _continue(self, pending: _Attempt, error: BaseException | None) -> None:
        """The slow path after a handler's writes failed: the whole attempt is retried, or the
        input is dead-lettered."""
        item = pending.item
        try:
            while error is not None:
                emit_failure = _Emit(str(error)).with_cause(error)
                if await self._retry_after(pending, emit_failure):
                    break  # dead-lettered
                if await self._attempts(pending, fast=False) is None:
                    break  # dead-lettered
                try:
                    await pending.acks_done
                    error = None
                except Exception as exc:
                    error = exc
                    if not self.scheduler.rollback(item):
                        return  # revoked meanwhile: its next owner runs it again
            else:
                self._succeeded([pending])
        except asyncio.CancelledError:
            self._abandoned(item)
            raise
        except Exception as exc:
            self._failed(item, exc)
        else:
            self._finish(item, pending.dkey)
        finally:
            self._tasks.pop(item, None)

    def _route(
        self, topic: str, record: Any
    ) -> tuple[HandlerSpec | None, str, tuple[Any, ...]]:
        """The handler of a (topic, record type), its type name and its events-in counter key
        (cached per engine: this runs for every input)."""
        meta = getattr(record, "meta", None)
        type_name = str(getattr(type(record), "FULLNAME", getattr(meta, "type", "?")))
        spec = self.agent.find(topic, type_name)
        if spec is None and self.memory is not None:
            spec = HandlerSpec(type(record), topic, _fold_only, retry=_FOLD_RETRY)
        route = (spec, type_name, (metrics.EVENTS_IN, topic, type_name))
        if hasattr(type(record), "FULLNAME"):  # generated records: one type name per class
            self._routes[(topic, type(record))] = route
        return route

    def _succeeded(self, batch: list[_Attempt]) -> None:
        """Count handled inputs whose writes were all acknowledged (metrics, stats)."""
        self.stats.handled += len(batch)
        failures = self.producer.write_failures
        now = time.monotonic()
        latencies, counts = self._latencies, self._counts
        for pending in batch:
            if failures:  # exactly-once: forget failed writes of earlier attempts, not this one's
                prior = failures.get(pending.dkey)
                if prior is not None and prior[0] < pending.attempt:
                    failures.pop(pending.dkey, None)
            seconds = latencies.get(pending.type_name)
            if seconds is None:
                seconds = latencies[pending.type_name] = []
            seconds.append(now - pending.started)
            for topic, out_type in pending.emitted:
                key = (metrics.EVENTS_OUT, topic, out_type)
                counts[key] = counts.get(key, 0) + 1

    async def _handle_item(self, item: WorkItem) -> None:
        """Decode, dedupe and run the handler; its acknowledgements then settle in ``_settle``
        (an input with nothing to wait for is finished here)."""
        msg = item.payload
        raw_headers = msg.headers()
        replay = replay_marker(raw_headers) if raw_headers else None
        suffix = f"#replay-{replay}" if replay is not None else ""
        value = msg.value()
        try:
            if self._needs_lookup is not None and self._needs_lookup(value):
                # A writer schema not seen yet: looked up on a worker thread (with a deadline),
                # so other keys keep running meanwhile.
                record = await decode_off_loop(
                    cast(Serde, self.codec), item.topic, value, partition=item.partition,
                    offset=item.offset,
                )
            else:
                record = self.codec.decode(
                    item.topic, value, partition=item.partition, offset=item.offset
                )
        except Exception as exc:
            dkey = f"@{item.topic}/{item.partition}/{item.offset}{suffix}"
            if self._seen(dkey):
                self._finish(item)
            else:
                await self._dead_letter(item, FailureInfo.first("decode", exc), None)
                self._finish(item, dkey)
            return
        meta = getattr(record, "meta", None)
        route = self._routes.get((item.topic, type(record)))
        if route is None:
            route = self._route(item.topic, record)
        spec, type_name, key = route
        self._counts[key] = self._counts.get(key, 0) + 1
        if spec is None:
            self.stats.skipped += 1
            self._finish(item)
            return
        event_id = getattr(meta, "id", None)
        dkey = str(event_id) if event_id else f"@{item.topic}/{item.partition}/{item.offset}"
        if suffix:
            dkey += suffix
        if self._seen(dkey, item):
            self._finish(item)
            return
        pending = _Attempt(item, spec, record, dkey, type_name)
        if self.producer.write_failures and await self._after_failed_writes(pending):
            self._finish(item, dkey)  # dead-lettered
            return
        pending.attempt += 1
        try:  # the first attempt, without _attempts' frame (this runs for every input)
            await self._attempt(pending, fast=True)
        except Exception as raw:
            if await self._retry_after(pending, raw) or \
                    await self._attempts(pending, fast=True) is None:
                self._finish(item, dkey)  # dead-lettered

    async def _after_failed_writes(self, pending: _Attempt) -> bool:
        """Exactly-once: an input whose writes failed after it finished (so its transaction
        aborted and it runs again) keeps the attempts it used; True once dead-lettered."""
        prior = self.producer.write_failures.get(pending.dkey)
        if prior is None:
            return False
        attempts, reason = prior
        pending.attempt = attempts
        failure = pending.failure = FailureInfo.first("emit", DeliveryError(reason), attempts)
        if pending.spec.retry.attempts_exhausted(attempts):
            self.producer.write_failures.pop(pending.dkey, None)
            await self._dead_letter(pending.item, failure, pending.record)
            return True
        return False

    async def _attempts(self, pending: _Attempt, *, fast: bool) -> _Attempt | None:
        """Attempts until one's handler returns (its acks pending); None once dead-lettered.

        A failure is retried after the policy's delay, else the input is dead-lettered (and the
        caller writes its marker). ``fast``: the outcome of the acknowledgements goes to
        ``_settle``; else it is left in ``pending.acks_done`` for the caller to await.
        """
        while True:
            pending.attempt += 1
            try:
                await self._attempt(pending, fast=fast)
                return pending
            except Exception as raw:
                if await self._retry_after(pending, raw):
                    return None

    async def _retry_after(self, pending: _Attempt, raw: BaseException) -> bool:
        """Record a failed attempt; dead-letter (True) or wait for the retry (False)."""
        if not self.scheduler.started(pending.item):
            return True  # rolled back or revoked meanwhile: it runs again as a new item
        # Wait for every write of the failed attempt before retrying or dead-lettering.
        if pending.acks is not None and not pending.acks.finished:
            sealed = pending.acks.seal()
            assert sealed is not None  # sealed here, with a future
            await asyncio.gather(sealed, return_exceptions=True)
        exc, stage = _classify(raw)
        failure = pending.failure
        if failure is None:
            failure = pending.failure = FailureInfo.first(stage, exc, pending.attempt)
        else:
            failure.stage, failure.error, failure.attempts = stage, exc, pending.attempt
            failure.last_failure_at = clock().now()
        retry = pending.spec.retry
        if not retry.is_retryable(exc) or retry.attempts_exhausted(pending.attempt):
            await self._dead_letter(pending.item, failure, pending.record)
            return True
        self.stats.retries += 1
        metrics.RETRIES.labels(self.agent.name, pending.type_name).inc()
        delay = retry.next_delay(exc, pending.attempt)
        self.retry_waits[pending.item] = clock().now() + delay
        try:
            await clock().sleep(delay.total_seconds())
        finally:
            self.retry_waits.pop(pending.item, None)
        if not self.scheduler.started(pending.item):
            return True  # rolled back while waiting (an earlier write of its key failed)
        while not self.scheduler.reacquire(pending.item):  # a settled input runs again
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), 0.5)
        return False

    def _seen(self, dkey: str, item: WorkItem | None = None) -> bool:
        """Whether ``dkey`` was handled or is in flight; if not, ``item`` is now in flight."""
        if self.dedupe is None:
            return False
        owner = self._inflight.get(dkey)
        if (owner is not None and self.scheduler.started(owner)) or self.dedupe.seen(dkey):
            self.stats.deduplicated += 1
            return True
        if item is not None:
            inflight = self._inflight
            inflight[dkey] = item
            if len(inflight) > 2 * self.scheduler.max_pending:
                # At most max_pending inputs are started: drop the entries of the others (once
                # per max_pending inputs or more, so amortised one dict operation per input).
                started = self.scheduler.started
                self._inflight = {k: v for k, v in inflight.items() if started(v)}
        return False

    async def _attempt(self, pending: _Attempt, *, fast: bool) -> None:
        """One handler attempt, up to its return: writes queued and the acks sealed."""
        item, spec, record = pending.item, pending.spec, pending.record
        acks = pending.acks = _AttemptAcks(self.producer, self.codec, pending)
        ctx = Context(
            agent=self.agent.name,
            event=record,
            topic=item.topic,
            partition=item.partition,
            offset=item.offset,
            key=item.key,
            attempt=pending.attempt,
            dedupe_key=pending.dkey,
            sender=acks,
            memory=self.memory,
            durable=self.durable,
        )
        token = _SINK.set(acks) if self.memory is not None else None  # changelog writes count
        try:
            if spec.timeout is None:
                await spec.fn(record, ctx)
            else:
                try:
                    # In the worker's own task (wait_for would start a task per input).
                    async with asyncio.timeout(spec.timeout.total_seconds()):
                        await spec.fn(record, ctx)
                except TimeoutError:
                    raise TimeoutError(
                        f"handler {getattr(spec.fn, '__qualname__', spec.fn)} exceeded its "
                        f"timeout of {spec.timeout.total_seconds():g}s"
                    ) from None
            if self.memory is not None:
                # Reducers fold the input only after its handler succeeded; a reducer that raises
                # fails the attempt like the handler would (retried, then dead-lettered).
                self.memory.apply(record, ctx.partition)
        finally:
            if token is not None:
                _SINK.reset(token)
        if ctx.acks:  # futures of a sender that does not count (not the engine's)
            try:
                await asyncio.gather(*ctx.acks)
            except Exception as exc:
                raise _Emit(str(exc)).with_cause(exc) from exc
        pending.emitted = ctx.emitted
        # Only acknowledgements are left: the slot goes to the next record, and the key to its
        # next input (the producer keeps the order of the writes; a failed one rolls back).
        # Before sealing: an outcome known at once (a failed write) may roll the key back.
        self.scheduler.settling(item)
        if fast:
            acks.seal(on_done=self._settle_cb)
        else:
            done = acks.seal()
            assert done is not None
            pending.acks_done = done
        self._request_dispatch()

    async def _dead_letter(self, item: WorkItem, failure: FailureInfo, record: Any) -> None:
        msg = item.payload
        meta = getattr(record, "meta", None)
        dead = build_dead_letter(
            agent=self.agent.name,
            topic=item.topic,
            partition=item.partition,
            offset=item.offset,
            key=msg.key(),
            value=msg.value(),
            headers=msg.headers(),
            failure=failure,
            event_id=getattr(meta, "id", None),
            event_type=getattr(meta, "type", None),
        )
        log.error(
            "dead-lettering %s[%d]@%d to %s: stage=%s after %d attempt(s): %s: %s",
            item.topic, item.partition, item.offset, self.dlq_topic, failure.stage,
            failure.attempts, type(failure.error).__name__, failure.error,
        )
        value = self.codec.encode(self.dlq_topic, dead)
        for attempt in range(1, _DLQ_WRITE_ATTEMPTS + 1):
            try:
                await self.producer.send(self.dlq_topic, value, key=msg.key())
                break
            except DeliveryError:
                if attempt == _DLQ_WRITE_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        self.stats.dead_letters += 1
        metrics.DEAD_LETTERS.labels(self.agent.name, failure.stage).inc()

    # -- draining (revocation, shutdown, exactly-once barriers) ---------------------------------
    async def drain(
        self,
        tps: Iterable[TopicPartition] | None,
        *,
        timeout: float,
        drop_queued: bool,
    ) -> bool:
        """Wait until the partitions have no running (and, unless dropped, no queued) work.

        With ``drop_queued`` queued records are forgotten (they stay uncommitted and are fetched
        again by whoever owns the partition next). At the deadline the remaining tasks are
        cancelled (abandoned without commit) and False is returned.
        """
        wanted = None if tps is None else set(tps)
        if drop_queued:
            self.scheduler.drop_queued(wanted)
        deadline = time.monotonic() + timeout
        while True:
            busy = self._busy(wanted, count_queued=not drop_queued)
            if not busy or self.fatal is not None:
                return not busy
            left = deadline - time.monotonic()
            if left <= 0:
                doomed = [(item, task) for item, task in list(self._tasks.items())
                          if wanted is None or item.tp in wanted]
                if doomed:
                    log.warning(
                        "abandoning %d running input(s) without commit (%s); they are handled "
                        "again by the partitions' next owner", len(doomed),
                        ", ".join(sorted({f"{i.topic}[{i.partition}]" for i, _ in doomed})),
                    )
                for _, task in doomed:
                    task.cancel()
                return False
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), min(left, 0.5))

    def _busy(self, wanted: set[TopicPartition] | None, *, count_queued: bool) -> bool:
        if count_queued and wanted is None:
            return self.scheduler.pending_count > 0
        return bool(self.scheduler.running(wanted)) or (
            count_queued and self.scheduler.pending_count > 0
        )

    def cancel_all(self) -> None:
        for task in [*self._tasks.values(), *self._workers]:
            task.cancel()


class _AttemptAcks(Acks):
    """One attempt's acknowledgements, and the ``Sender`` of its ``Context``: encodes, and
    counts every write in."""

    __slots__ = ("_codec", "pending")

    def __init__(self, producer: OutputProducer, codec: Codec, pending: _Attempt) -> None:
        super().__init__(producer, owner=pending.dkey, attempt=pending.attempt)
        self._codec = codec
        self.pending: _Attempt | None = pending  # until settled (``Engine._settle``)

    def send_record(
        self, topic: str, record: Any, *, key: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        value = self._codec.encode(topic, record)
        self._producer.send_counted(topic, value, key=key, headers=headers, acks=self)

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        self._producer.send_counted(topic, value, key=key, headers=headers, acks=self)


def _classify(raw: BaseException) -> tuple[BaseException, Stage]:
    if isinstance(raw, _Emit) and raw.__cause__ is not None:
        return raw.__cause__, "emit"
    if isinstance(raw, EncodeError | DeliveryError):
        return raw, "emit"
    return raw, "handle"
