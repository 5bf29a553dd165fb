"""The event-loop side of an agent: one task per started record, decode → dedupe → handle → acks.

A record is *finished* (and may be covered by a commit) only after every record it caused is
acknowledged: its outputs, its dead letter, and its dedupe marker (written only after the others
were acknowledged). An attempt's writes are counted into one ``Acks`` rather than awaited one
future each, and its dedupe marker is chained from the last acknowledgement (see ``Acks``).
Failures follow the handler's ``RetryPolicy``; a waiting retry blocks only its own key (the
scheduler keeps the key busy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agentstream.errors import EncodeError
from agentstream.ops import metrics
from agentstream.runtime._agent import Agent, HandlerSpec
from agentstream.runtime._context import Context
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._dlq import FailureInfo, Stage, build_dead_letter, replay_marker
from agentstream.runtime._durable import Durable
from agentstream.runtime._memory import AgentMemory, collecting
from agentstream.runtime._producer import Acks, DeliveryError, OutputProducer
from agentstream.runtime._retry import RetryPolicy
from agentstream.runtime._scheduler import KeyOrderedScheduler, TopicPartition, WorkItem

__all__ = ["Codec", "Engine", "EngineStats"]

log = logging.getLogger("agentstream.runtime")

_DLQ_WRITE_ATTEMPTS = 5


class Codec(Protocol):
    """The part of ``agentstream.serde.Serde`` the runtime uses."""

    def encode(self, topic: str, record: Any) -> bytes: ...

    def decode(self, topic: str, data: bytes, *, partition: int = -1, offset: int = -1) -> Any: ...


@dataclass
class EngineStats:
    handled: int = 0
    skipped: int = 0
    deduplicated: int = 0
    retries: int = 0
    dead_letters: int = 0


class _Emit(Exception):
    """Marks a failure while waiting for the acknowledgements of emitted records."""


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
        self.dedupe = dedupe if dedupe is not None and dedupe.enabled else None
        self.dlq_topic = dlq_topic
        self.loop = loop
        self.stats = EngineStats()
        self.fatal: BaseException | None = None
        self._tasks: dict[WorkItem, asyncio.Task[None]] = {}
        self._progress = asyncio.Event()
        self._in_flight = metrics.IN_FLIGHT.labels(agent.name)
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """The labelled child of a per-event metric, cached (``labels()`` is costly per event)."""
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(self.agent.name, *labels)
        return child

    # -- scheduling -------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start every record the scheduler allows now (called on the loop)."""
        for item in self.scheduler.take_ready():
            task = self.loop.create_task(self._process(item), name=f"{item.tp}@{item.offset}")
            self._tasks[item] = task
        self._in_flight.set(self.scheduler.running_count)

    async def _process(self, item: WorkItem) -> None:
        try:
            await self._handle_item(item)
        except asyncio.CancelledError:
            log.warning(
                "abandoned %s[%d]@%d without commit", item.topic, item.partition, item.offset
            )
            raise
        except Exception as exc:
            log.exception("cannot finish %s[%d]@%d", item.topic, item.partition, item.offset)
            self.fatal = self.fatal or exc
        else:
            self.scheduler.finish(item)
        finally:
            self._tasks.pop(item, None)
            self._progress.set()
            if self.fatal is None:
                self.dispatch()
            self._in_flight.set(self.scheduler.running_count)

    async def _handle_item(self, item: WorkItem) -> None:
        msg = item.payload
        headers = list(msg.headers() or [])
        replay = replay_marker(headers)
        suffix = f"#replay-{replay}" if replay is not None else ""
        try:
            record = self.codec.decode(
                item.topic, msg.value(), partition=item.partition, offset=item.offset
            )
        except Exception as exc:
            dkey = f"@{item.topic}/{item.partition}/{item.offset}{suffix}"
            if self._seen(dkey):
                return
            await self._dead_letter(item, FailureInfo.first("decode", exc), None)
            await self._mark(item, dkey)
            return
        meta = getattr(record, "meta", None)
        type_name = str(getattr(type(record), "FULLNAME", getattr(meta, "type", "?")))
        self._child(metrics.EVENTS_IN, item.topic, type_name).inc()
        spec = self.agent.find(item.topic, type_name)
        if spec is None and self.memory is not None:
            spec = HandlerSpec(type(record), item.topic, _fold_only, retry=_FOLD_RETRY)
        if spec is None:
            self.stats.skipped += 1
            return
        event_id = getattr(meta, "id", None)
        dkey = (f"{event_id}" if event_id else f"@{item.topic}/{item.partition}/{item.offset}")
        dkey += suffix
        if self._seen(dkey):
            return
        if await self._run_handler(spec, record, item, dkey, type_name):
            assert self.dedupe is not None
            self.dedupe.remember(dkey)  # the marker was chained after the acknowledgements
        else:
            await self._mark(item, dkey)

    def _seen(self, dkey: str) -> bool:
        if self.dedupe is not None and self.dedupe.seen(dkey):
            self.stats.deduplicated += 1
            return True
        return False

    async def _mark(self, item: WorkItem, dkey: str) -> None:
        if self.dedupe is None:
            return
        await self.producer.send(
            self.dedupe.topic,
            b"",
            key=dkey.encode(),
            partition=self.dedupe.marker_partition(item.partition),
        )
        self.dedupe.remember(dkey)

    def _marker(self, item: WorkItem, dkey: str) -> tuple[str, bytes, int] | None:
        """The dedupe marker of an input as (topic, key, partition); None without dedupe."""
        if self.dedupe is None:
            return None
        return self.dedupe.topic, dkey.encode(), self.dedupe.marker_partition(item.partition)

    async def _attempt(
        self, spec: HandlerSpec, record: Any, ctx: Context, acks: Acks,
        marker: tuple[str, bytes, int] | None,
    ) -> bool:
        """One handler attempt; True if ``marker`` was written after all its acknowledgements."""
        with collecting(acks):  # memory writes count as this input's outputs
            if spec.timeout is None:
                await spec.fn(record, ctx)
            else:
                try:
                    await asyncio.wait_for(spec.fn(record, ctx), spec.timeout.total_seconds())
                except TimeoutError:
                    raise TimeoutError(
                        f"handler {getattr(spec.fn, '__qualname__', spec.fn)} exceeded its "
                        f"timeout of {spec.timeout.total_seconds():g}s"
                    ) from None
            if self.memory is not None:
                # Reducers fold the input only after its handler succeeded; a reducer that raises
                # fails the attempt like the handler would (retried, then dead-lettered).
                self.memory.apply(record, ctx.partition)
        try:
            if ctx.acks:  # futures of a sender that does not count (not the engine's)
                await asyncio.gather(*ctx.acks)
            return await acks.seal(marker)
        except Exception as exc:
            raise _Emit() from exc

    async def _run_handler(
        self, spec: HandlerSpec, record: Any, item: WorkItem, dkey: str, type_name: str
    ) -> bool:
        """Handle with retries, else dead-letter; True if the dedupe marker was written."""
        failure: FailureInfo | None = None
        attempt = 0
        started = time.monotonic()
        marker = self._marker(item, dkey)
        while True:
            attempt += 1
            acks = Acks(self.producer)
            ctx = Context(
                agent=self.agent.name,
                event=record,
                topic=item.topic,
                partition=item.partition,
                offset=item.offset,
                key=item.key,
                attempt=attempt,
                dedupe_key=dkey,
                sender=_AttemptSender(self.codec, self.producer, acks),
                memory=self.memory,
                durable=self.durable,
            )
            try:
                marked = await self._attempt(spec, record, ctx, acks, marker)
            except Exception as raw:
                # Wait for every write of the failed attempt before retrying or dead-lettering.
                await asyncio.gather(acks.seal(), *ctx.acks, return_exceptions=True)
                exc, stage = _classify(raw)
                if failure is None:
                    failure = FailureInfo.first(stage, exc, attempt)
                else:
                    failure.stage, failure.error, failure.attempts = stage, exc, attempt
                    failure.last_failure_at = datetime.now(UTC)
                if not spec.retry.is_retryable(exc) or spec.retry.attempts_exhausted(attempt):
                    await self._dead_letter(item, failure, record)
                    return False
                self.stats.retries += 1
                metrics.RETRIES.labels(self.agent.name, type_name).inc()
                await asyncio.sleep(spec.retry.next_delay(exc, attempt).total_seconds())
                continue
            self.stats.handled += 1
            self._child(metrics.HANDLER_LATENCY, type_name).observe(
                time.monotonic() - started
            )
            for topic, out_type in ctx.emitted:
                self._child(metrics.EVENTS_OUT, topic, out_type).inc()
            return marked

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
                for item, task in list(self._tasks.items()):
                    if wanted is None or item.tp in wanted:
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
        for task in list(self._tasks.values()):
            task.cancel()


class _AttemptSender:
    """The ``Sender`` of one attempt: encodes, and counts every write into the attempt's Acks."""

    __slots__ = ("_acks", "_codec", "_producer")

    def __init__(self, codec: Codec, producer: OutputProducer, acks: Acks) -> None:
        self._codec = codec
        self._producer = producer
        self._acks = acks

    def send_record(
        self, topic: str, record: Any, *, key: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        value = self._codec.encode(topic, record)
        self._producer.send_counted(topic, value, key=key, headers=headers, acks=self._acks)

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        self._producer.send_counted(topic, value, key=key, headers=headers, acks=self._acks)


def _classify(raw: BaseException) -> tuple[BaseException, Stage]:
    if isinstance(raw, _Emit) and raw.__cause__ is not None:
        return raw.__cause__, "emit"
    if isinstance(raw, EncodeError | DeliveryError):
        return raw, "emit"
    return raw, "handle"
