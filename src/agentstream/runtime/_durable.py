"""Workflows started by events and durable timers, owned by the agent runner, partitioned.

- ``WorkflowBinding``: declared by ``agent.workflow(wf, trigger=..., topic=...)``. Its handler
  starts a run whose id derives from the trigger's event id, so a redelivered trigger finds the
  run it started instead of starting a second one. The run lives in the partition of the
  trigger's partition: partition p of ``topic`` starts runs in partition p of the workflow's
  runs topic (created with the trigger topic's partition count). ``start`` returns once the
  run is durable, so the trigger's offset is committed only after that.
- ``Durable``: the runner's lifecycle of the ``WorkflowEngine`` of every binding and of the
  agent's ``TimerService`` (service = the agent's name, topic ``workflows.<agent>.timers``,
  created with the inputs' partition count), which backs ``ctx.schedule``/``ctx.cancel_timer``.
  A timer scheduled while handling partition p lives in partition p of the timers topic.

**Ownership follows the consumer group.** The consumer thread calls ``begin_assign(tps)`` /
``revoke(tps)`` next to the memory stores' (``_pump.py``). A process owns the runs of partition
p of a workflow iff it is assigned partition p of the workflow's trigger topic, and the timers
of partition p iff it is assigned partition p of any input topic (input topics are then
co-partitioned, as for memory stores: equal partition counts, assigned together, which the
default range assignor does). Both calls hand the work to the event loop (thread-safe).
``begin_assign`` returns a future at once, resolved when the partitions are loaded: their runs
resumed, their timers armed; the pump keeps the partitions paused until then, so the
rebalance callback never waits for a load and no input of a partition is handled before it (as
memory stores restore; should ``assign_timeout`` pass, handlers of a partition still loading
wait for it). Loading a partition first waits for the transactions left open on it: after a
process was killed, its open transaction is aborted by the broker after
``transaction.timeout.ms`` (librdkafka's default 60 s; lower it through
``AGENTSTREAM_LIBRDKAFKA``), or at once when the process restarts with the same
``AGENTSTREAM_AGENT_INSTANCE_ID`` (its transactional id). ``revoke`` waits
(``revoke_timeout``) until the partitions' runs and timers are stopped and their writes
flushed: stopped, not cancelled, so the next owner resumes the runs at their first unfinished
step and arms the timers. Any number of processes of one agent may run.

**Exactly-once.** Writes made while handling an input go through the agent's own transactional
producer, into the open transaction that also holds the input's offset and outputs: a run's
first checkpoint (``start``), a scheduled timer and a cancellation. They are awaited until
acknowledged before the handler goes on; only then is the run spawned or the timer armed.
Steps that run outside a handler (a run continuing, a timer firing) are their own
transactional units: each owned partition writes through its own transactional producer, id
``<agent>.<topic>.<partition>`` (topic = the runs or timers topic), one transaction per step
checkpoint (a run's completion event with its final status; a firing with its done record).
The next owner of a partition initialises that id, which fences the previous owner (a zombie's
later writes fail, and its runs stop) and aborts what it left open. Should the agent's
transaction abort after a run or timer was started from it, the input is handled again and its
deterministic id finds the run or timer (a handler that decides differently the second time
would find the first decision's run or timer running).

A scheduled event gets its deterministic id (``ctx.meta``) before it is stored; the timer id is
that event id, so a redelivered input finds the timer it scheduled and leaves it as it is
(pending, fired or cancelled: due time and firing are decided once), and a firing repeated after
a crash carries the same event id and ``fire_id`` (downstream dedupe sees it once).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentstream.bus import make_admin
from agentstream.config import KafkaSettings
from agentstream.errors import CheckpointError
from agentstream.runtime._settings import DeliveryMode

if TYPE_CHECKING:
    from agentstream.runtime._context import Context
    from agentstream.runtime._engine import Codec
    from agentstream.runtime._producer import OutputProducer
    from agentstream.workflow import (
        OutRecord,
        RecordWriter,
        TimerService,
        Workflow,
        WorkflowEngine,
    )

__all__ = ["Durable", "WorkflowBinding", "timers_topic"]

log = logging.getLogger("agentstream.runtime")

TP = tuple[str, int]


def timers_topic(agent: str) -> str:
    """The timers topic of an agent (without the topic prefix): ``workflows.<agent>.timers``."""
    return f"workflows.{agent}.timers"


@dataclass
class WorkflowBinding:
    """One workflow an agent starts on ``trigger`` events read from ``topic``.

    ``completion_topic``: where the run's completion event goes (default
    ``workflows.<name>.events``).
    """

    workflow: Workflow
    trigger: type[Any]
    topic: str
    completion_topic: str | None = None
    engine: WorkflowEngine | None = field(default=None, repr=False)
    durable: Durable | None = field(default=None, repr=False)

    async def start(self, event: Any, ctx: Context) -> None:
        """The handler: start (or find) the run of this trigger, in the trigger's partition."""
        if self.engine is None:
            raise RuntimeError(
                f"workflow {self.workflow.name!r} has no engine: run the agent with AgentRunner"
            )
        write = self.durable.writer() if self.durable is not None else None
        run_id = await self.engine.start(event, partition=ctx.partition, write=write)
        ctx.log.info("workflow %s run %s started", self.workflow.name, run_id)


class Durable:
    """The runner's workflow engines and timer service, partitioned (module docstring).

    ``producer``: the agent's transactional producer (exactly-once), through which writes made
    while handling an input go. ``inputs``: the agent's input topics (the timers topic gets
    their partition count). ``read_timeout`` bounds loading a partition (above the producers'
    ``transaction.timeout.ms``: a killed owner's open transaction holds the read back until
    the broker aborts it).
    """

    def __init__(
        self,
        *,
        agent: str,
        bindings: list[WorkflowBinding],
        timers: bool,
        kafka: KafkaSettings,
        mode: DeliveryMode,
        codec: Codec,
        producer: OutputProducer | None = None,
        inputs: Iterable[str] = (),
        read_timeout: timedelta = timedelta(minutes=2),
        assign_timeout: timedelta = timedelta(minutes=2),
        revoke_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self.agent = agent
        self.bindings = bindings
        self.use_timers = timers
        self.kafka = kafka
        self.mode: DeliveryMode = mode
        self.codec = codec
        self.producer = producer if mode == "exactly-once" else None
        self.read_timeout = read_timeout
        self.assign_timeout = assign_timeout
        self.revoke_timeout = revoke_timeout
        self.inputs = list(inputs)
        self.timers: TimerService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._held: Counter[int] = Counter()  # timer partitions: assigned input tps per number

    # -- lifecycle --------------------------------------------------------------------------------
    async def open(self) -> None:
        """Provision the runs and timers topics with the inputs' partition counts and connect;
        no partition is owned until ``assign``."""
        # Imported here: agentstream.workflow imports agentstream.runtime (RetryPolicy).
        from agentstream.workflow import TimerService, WorkflowEngine  # noqa: PLC0415

        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        topics = {b.topic for b in self.bindings}
        counts = await asyncio.to_thread(self._partition_counts, topics)
        for b in self.bindings:
            n = counts.get(b.topic)
            if n is None:
                log.warning("workflow %s: trigger topic %s does not exist yet; its runs topic "
                            "gets 3 partitions (create the trigger topic with 3, or create "
                            "both first)", b.workflow.name, b.topic)
            engine = WorkflowEngine(
                b.workflow, settings=self.kafka, mode=self.mode,
                completion_topic=b.completion_topic, partitions=n or 3, partitioned=True,
                transactional_prefix=self.agent, read_timeout=self.read_timeout,
            )
            await engine.open()
            if n is not None and engine.partition_count != n:
                await engine.close()
                raise CheckpointError(
                    f"workflow {b.workflow.name}: runs topic {engine.runs_topic} has "
                    f"{engine.partition_count} partition(s) but its trigger topic {b.topic} has "
                    f"{n}; runs are co-partitioned with their triggers: recreate the runs topic "
                    f"with {n} partitions (after its runs finished)"
                )
            b.engine = engine
            b.durable = self
        if self.use_timers:
            inputs = await asyncio.to_thread(self._partition_counts, None)
            n = max(inputs.values(), default=3)
            self.timers = TimerService(
                self.agent, settings=self.kafka, topic=timers_topic(self.agent),
                exactly_once=self.mode == "exactly-once", partitions=n, partitioned=True,
                transactional_prefix=self.agent, read_timeout=self.read_timeout,
            )
            await self.timers.open()
            if self.timers.partition_count < n:
                raise CheckpointError(
                    f"timers topic {self.timers.topic} has {self.timers.partition_count} "
                    f"partition(s), fewer than the inputs' {n}; recreate it with {n}"
                )

    def _partition_counts(self, topics: set[str] | None) -> dict[str, int]:
        md = make_admin(self.kafka.client_config()).list_topics(timeout=30)
        wanted = topics if topics is not None else set(self.inputs)
        return {t: len(md.topics[t].partitions) for t in wanted if t in md.topics}

    async def close(self) -> None:
        for b in self.bindings:
            if b.engine is not None:
                await b.engine.close()
                b.engine = None
        if self.timers is not None:
            await self.timers.close()
            self.timers = None
        self._held.clear()

    # -- partitions (called from the consumer thread) -------------------------------------------
    def begin_assign(self, tps: Iterable[TP]) -> concurrent.futures.Future[None]:
        """Start owning the runs and timers of newly assigned input partitions and return at once
        (safe in a rebalance callback, any thread): the future resolves once they are loaded
        (runs resumed, timers armed), or with the loading's error. Past ``assign_timeout`` it
        resolves anyway, with a warning: handlers of a partition still loading wait for it."""
        tps = list(tps)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        if not tps:
            done.set_result(None)
            return done

        def late() -> None:
            if not done.done():
                log.warning("runs and timers of %s not loaded within %s; their inputs wait for "
                            "them", tps, self.assign_timeout)
                done.set_result(None)

        def now() -> None:
            try:
                loading = self._assign_now(tps)
            except BaseException as exc:
                done.set_exception(exc)
                return
            task = asyncio.ensure_future(_gather(loading))
            task.add_done_callback(lambda t: None if done.done() else _settle(done, t))
            asyncio.get_running_loop().call_later(self.assign_timeout.total_seconds(), late)

        if not self._on_loop(now):
            done.set_result(None)  # the loop is gone: the process is stopping
        return done

    def assign(self, tps: Iterable[TP]) -> None:
        """``begin_assign``, waiting until loaded (at most ``assign_timeout``) unless called on
        the loop, where it only starts the loading."""
        done = self.begin_assign(tps)
        if threading.get_ident() != self._loop_thread:
            done.result(self.assign_timeout.total_seconds() + 5)

    def revoke(self, tps: Iterable[TP]) -> None:
        """Stop the runs and timers of revoked input partitions (not cancelled: the next owner
        resumes them). From the consumer thread this waits until they are stopped and their
        writes flushed (at most ``revoke_timeout``); on the loop it only starts that."""
        tps = list(tps)
        if not tps:
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def now() -> None:
            try:
                stopping = self._revoke_now(tps)
            except BaseException as exc:
                done.set_exception(exc)
                return
            task = asyncio.ensure_future(_gather(stopping))
            task.add_done_callback(lambda t: _settle(done, t))

        if not self._on_loop(now) or threading.get_ident() == self._loop_thread:
            return
        try:
            done.result(self.revoke_timeout.total_seconds())
        except concurrent.futures.TimeoutError:
            log.warning("runs and timers of %s not stopped within %s; their next owner fences "
                        "them (exactly-once)", tps, self.revoke_timeout)

    def _on_loop(self, fn: Any) -> bool:
        """Run ``fn`` on the loop (now, when called there); False if the loop is gone (the
        process is stopping: its runs and timers stop with it)."""
        if self._loop is None:
            raise RuntimeError("Durable is not open")
        if threading.get_ident() == self._loop_thread:
            fn()
            return True
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _assign_now(self, tps: list[TP]) -> list[Awaitable[None]]:
        loading: list[Awaitable[None]] = []
        for b in self.bindings:
            ps = [p for t, p in tps if t == b.topic]
            if b.engine is not None and ps:
                b.engine.assign(ps)
                loading.append(b.engine.ready(ps))
        if self.timers is not None:
            new = [p for p in {p for _, p in tps} if self._held[p] == 0]
            self._held.update(p for _, p in tps)
            if new:
                self.timers.assign(sorted(new))
                loading.append(self.timers.ready(new))
        return loading

    def _revoke_now(self, tps: list[TP]) -> list[Awaitable[None]]:
        stopping = []
        for b in self.bindings:
            ps = [p for t, p in tps if t == b.topic]
            if b.engine is not None and ps:
                stopping.append(b.engine.revoke(ps))
        if self.timers is not None:
            self._held.subtract(p for _, p in tps)
            gone = sorted(p for p in {p for _, p in tps} if self._held[p] <= 0)
            for p in gone:
                del self._held[p]
            if gone:
                stopping.append(self.timers.revoke(gone))
        return stopping

    # -- writes from handlers ---------------------------------------------------------------------
    def writer(self) -> RecordWriter | None:
        """Exactly-once: a ``RecordWriter`` over the agent's transactional producer (the record
        joins the open transaction with the input's offset); else ``None`` (the engine's own)."""
        producer = self.producer
        if producer is None:
            return None

        async def write(record: OutRecord) -> None:
            await producer.send(
                record.topic, record.value, key=record.key.encode(),
                headers=list(record.headers), partition=record.partition,
            )

        return write

    def _need_timers(self) -> TimerService:
        if self.timers is None:
            raise RuntimeError(
                f"agent {self.agent} has no timer service; declare Agent(..., timers=True) to "
                "use ctx.schedule"
            )
        return self.timers

    async def schedule(
        self,
        record: Any,
        *,
        topic: str,
        key: str,
        at: datetime | None,
        after: timedelta | None,
        partition: int | None = None,
    ) -> str:
        """Store a timer that produces ``record`` (encoded for ``topic``); its id = event id.

        A timer of that id that exists already (pending, fired or cancelled) is left as it is:
        the input that scheduled it was redelivered, and its timer is decided once. It lives in
        ``partition`` (the input's)."""
        payload = self.codec.encode(topic, record)
        return await self._need_timers().schedule(
            payload, at=at, after=after, timer_id=str(record.meta.id), topic=topic, key=key,
            if_exists="keep", partition=partition, write=self.writer(),
        )

    async def cancel(self, timer_id: str, *, partition: int | None = None) -> bool:
        """Cancel a timer of an owned partition (one unknown here is recorded as cancelled in
        ``partition``, the input's)."""
        return await self._need_timers().cancel(
            timer_id, partition=partition, write=self.writer()
        )


async def _gather(stopping: list[Awaitable[None]]) -> None:
    await asyncio.gather(*stopping)


def _settle(done: concurrent.futures.Future[None], task: asyncio.Future[None]) -> None:
    if task.cancelled():
        done.set_exception(concurrent.futures.CancelledError())
    elif task.exception() is not None:
        done.set_exception(task.exception())  # type: ignore[arg-type]
    else:
        done.set_result(None)
