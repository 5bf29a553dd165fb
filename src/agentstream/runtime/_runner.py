"""``AgentRunner``: wires one agent process together and runs it until stopped.

Parts: settings → serde → producer (idempotent or transactional) → scheduler → ledger
(accept, finish, commit) → engine (loop) → pump (consumer thread) → ops server. ``run_agent``
adds process hygiene: checks the environment, installs SIGTERM/SIGINT handlers that stop
fetching, drain (bounded by ``shutdown_timeout``), commit and close, then returns so the process
exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import importlib
import logging
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream._signals import early_stop_signal
from agentstream.bus import ensure_topic, make_admin, make_consumer
from agentstream.config import KafkaSettings, check_environment, load
from agentstream.discovery import ensure_agents_topic
from agentstream.errors import AgentLoadError, ProducerFencedError
from agentstream.memory import memory_route
from agentstream.ops import OpsServer
from agentstream.runtime._agent import Agent
from agentstream.runtime._dedupe import DedupeStore, dedupe_topic
from agentstream.runtime._descriptor import Announcer
from agentstream.runtime._dlq import dlq_topic
from agentstream.runtime._durable import Durable
from agentstream.runtime._engine import Codec, Engine, EngineStats
from agentstream.runtime._group import group_consumer_config
from agentstream.runtime._health import BrokerHealth
from agentstream.runtime._ledger import Ledger
from agentstream.runtime._memory import AgentMemory
from agentstream.runtime._producer import OutputProducer
from agentstream.runtime._pump import Pump, PumpStats
from agentstream.runtime._scheduler import KeyOrderedScheduler, SchedulerStats
from agentstream.runtime._settings import AgentSettings
from agentstream.serde import make_serde

__all__ = ["AgentRunner", "RuntimeStats", "load_agent", "run_agent"]

log = logging.getLogger("agentstream.runtime")
_PARTITION_FETCH_BYTES = 256 * 1024

_CLOSE_SLACK = 15.0  # commit + leave group + producer flush, on top of shutdown_timeout
# Generation-0 threshold while an agent runs: every consumed record allocates dozens of container
# objects (message, work item, decoded record, context, output), so Python's default of 700
# collects hundreds of times a second and each pass re-walks thousands of pending records.
_GC_GEN0 = 50_000


class _GcTuning:
    users = 0
    saved: tuple[int, int, int] = (700, 10, 10)


@contextlib.contextmanager
def tuned_gc(enabled: bool) -> Iterator[None]:
    """Freeze what exists (modules, schemas, clients) and collect less often, while in the block.

    Nested or concurrent runners in one process share the tuning; the last one out restores the
    interpreter's thresholds.
    """
    if not enabled:
        yield
        return
    if _GcTuning.users == 0:
        _GcTuning.saved = gen0, gen1, gen2 = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(max(gen0, _GC_GEN0), max(gen1, 20), max(gen2, 20))
    _GcTuning.users += 1
    try:
        yield
    finally:
        _GcTuning.users -= 1
        if _GcTuning.users == 0:
            gc.set_threshold(*_GcTuning.saved)
            gc.unfreeze()


@dataclass(frozen=True)
class RuntimeStats:
    """A snapshot of the counters of a running agent (tests and the ops console read it)."""

    scheduler: SchedulerStats
    engine: EngineStats
    pump: PumpStats
    running: int
    pending: int
    commits: int
    waiting_retry: int = 0  # inputs whose handler waits for its next attempt
    next_retry_at: datetime | None = None  # when the first of those is due (the process clock)
    behind_retries: int = 0  # inputs queued behind the keys of those (they wait for them too)


class AgentRunner:
    """Runs ``agent`` in this process until ``stop()`` (thread-safe) or a fatal error.

    ``codec`` defaults to ``make_serde(kafka)``. Use ``run_agent`` for a whole process.
    """

    def __init__(
        self,
        agent: Agent,
        *,
        settings: AgentSettings | None = None,
        kafka: KafkaSettings | None = None,
        codec: Codec | None = None,
    ) -> None:
        if not agent.handlers:
            raise AgentLoadError(f"agent {agent.name} has no handlers; declare @agent.handler(...)")
        self.agent = agent
        self.settings = settings or load(AgentSettings)
        self.kafka = kafka or load(KafkaSettings)
        self._codec = codec
        self.group_id = self.settings.group_id or agent.name
        self.ops_port: int | None = None
        self.instance_id: str | None = None
        self.started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump: Pump | None = None
        self._engine: Engine | None = None
        self._scheduler: KeyOrderedScheduler | None = None
        self._ledger: Ledger | None = None
        self._memory: AgentMemory | None = None
        self._health: BrokerHealth | None = None
        self._stop_requested = threading.Event()

    # -- control ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the agent to stop: no more fetching, drain, commit, close (thread-safe)."""
        self._stop_requested.set()
        if self._pump is not None:
            self._pump.request_stop()

    @property
    def ready(self) -> bool:
        return self._pump is not None and self._pump.ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        if not self.started.wait(timeout):
            return False
        assert self._pump is not None
        return self._pump.ready.wait(timeout)

    def stats(self) -> RuntimeStats:
        if self._scheduler is None or self._engine is None or self._pump is None:
            raise RuntimeError("the agent is not running")
        started = self._scheduler.started  # not those rolled back while they wait
        waits = {i: at for i, at in list(self._engine.retry_waits.items()) if started(i)}
        return RuntimeStats(
            scheduler=self._scheduler.stats,
            engine=self._engine.stats,
            pump=self._pump.stats,
            running=self._scheduler.running_count,
            pending=self._scheduler.pending_count,
            commits=self._ledger.commits if self._ledger else 0,
            waiting_retry=len(waits),
            next_retry_at=min(waits.values(), default=None),
            behind_retries=self._scheduler.queued_behind(list(waits)),
        )

    # -- wiring -----------------------------------------------------------------------------------
    def _codec_or_default(self) -> Codec:
        if self._codec is not None:
            return self._codec
        return make_serde(self.kafka)

    def _ensure_topics(
        self, admin: AdminClient, dedupe: DedupeStore | None, memory: AgentMemory | None
    ) -> None:
        md = admin.list_topics(timeout=30)
        inputs = {t: len(md.topics[t].partitions) for t in self.agent.topics if t in md.topics}
        counts = list(inputs.values())
        missing = [t for t in self.agent.topics if t not in md.topics]
        if missing:
            log.warning(
                "input topic(s) %s do not exist yet: nothing is consumed from them until they are "
                "created (agentstream topics apply)", ", ".join(missing)
            )
        if memory is not None:
            memory.ensure_topics(admin, inputs)
        dlq = dlq_topic(self.agent.name, prefix=self.kafka.topic_prefix)
        ensure_topic(admin, dlq, partitions=1)
        if dedupe is not None and dedupe.enabled:
            dedupe.ensure_topic(admin, partitions=max(counts, default=1))
        ensure_agents_topic(admin, self.kafka)

    def _make_dedupe(self) -> DedupeStore | None:
        """Both modes dedupe on event id (the transaction protects a delivery, the id the
        fact); exactly-once keeps the keys of the open transaction provisional."""
        if self.settings.dedupe_window.total_seconds() <= 0:
            return None
        name = dedupe_topic(self.agent.name, prefix=self.kafka.topic_prefix)
        dedupe = DedupeStore(name, window=self.settings.dedupe_window)
        if self.settings.mode == "exactly-once":
            dedupe.transactional()
        return dedupe

    async def run(self) -> None:
        """Run until stopped; raises ``ProducerFencedError`` or the fatal error that stopped it."""
        s = self.settings
        loop = self._loop = asyncio.get_running_loop()
        codec = self._codec_or_default()
        client = self.kafka.client_config()
        exactly_once = s.mode == "exactly-once"
        dedupe = self._make_dedupe()
        instance = self.instance_id = s.instance_id or uuid.uuid4().hex[:12]
        health = self._health = BrokerHealth(self.agent.name)
        producer = OutputProducer(
            # Broker reachability for /readyz, from the producer's own statistics (its poll
            # thread serves them every second, whatever the consumer thread is waiting for).
            {"statistics.interval.ms": 1000, **client, "stats_cb": health.on_stats},
            loop=loop,
            transactional_id=f"{self.group_id}.{instance}" if exactly_once else None,
        )
        memory = self._memory = (
            AgentMemory(self.agent, kafka=self.kafka, producer=producer)
            if self.agent.stores
            else None
        )
        await asyncio.to_thread(self._ensure_topics, make_admin(client), dedupe, memory)
        durable = await self._open_durable(codec, producer)
        # Off the loop: with group_protocol "auto" this asks the brokers what they support.
        consumer = await asyncio.to_thread(self._make_consumer, instance)
        announcer = Announcer(self.agent, instance=instance, kafka=self.kafka, serde=codec)
        await asyncio.to_thread(announcer.publish)
        if exactly_once:
            await asyncio.to_thread(producer.init_transactions, 60)
        # Exactly-once: a key's next input waits for its predecessor's acknowledgements (see
        # KeyOrderedScheduler: a transactional producer fails for good when a broker crash
        # leaves a long run of its writes unresolved).
        scheduler = self._scheduler = KeyOrderedScheduler(
            max_in_flight=s.max_in_flight, max_pending=s.max_pending,
            key_waits_for_acks=exactly_once,
        )
        ledger = self._ledger = Ledger(
            agent=self.agent.name,
            consumer=consumer,
            producer=producer,
            scheduler=scheduler,
            mode=s.mode,
            barrier=lambda _timeout: True,  # replaced by the pump's below
            dedupe=dedupe,
            broker_up=lambda: health.up,
        )
        engine = self._engine = Engine(
            self.agent,
            codec=codec,
            producer=producer,
            scheduler=scheduler,
            ledger=ledger,
            dedupe=dedupe,
            dlq_topic=dlq_topic(self.agent.name, prefix=self.kafka.topic_prefix),
            loop=loop,
            memory=memory,
            durable=durable,
        )
        pump = self._pump = Pump(
            consumer=consumer,
            topics=self.agent.topics,
            scheduler=scheduler,
            engine=engine,
            ledger=ledger,
            dedupe=dedupe,
            dedupe_client_config=client,
            settings=s,
            loop=loop,
            memory=memory,
        )
        ledger.barrier = pump.barrier
        ops = self._start_ops(pump)
        pump.start()
        self.started.set()
        if self._stop_requested.is_set():
            pump.request_stop()
        log.info(
            "agent %s %s running: group %s, topics %s, mode %s, max_in_flight %d",
            self.agent.name, self.agent.version, self.group_id, ", ".join(self.agent.topics),
            s.mode, s.max_in_flight,
        )
        try:
            with tuned_gc(s.gc_tuning):
                while not pump.done.is_set():
                    if engine.fatal is not None:
                        pump.request_stop()
                    engine.flush_metrics()
                    await asyncio.sleep(0.05)
        finally:
            engine.flush_metrics()
            engine.cancel_all()
            left = await asyncio.to_thread(producer.close, 10.0)
            if left:
                log.warning("%d records were not acknowledged at close", left)
            await self._close_parts(ops, memory, durable)
            if pump.error is None and engine.fatal is None:
                await asyncio.to_thread(self._withdraw, announcer)
        self._raise_failure(pump, engine)

    @staticmethod
    async def _close_parts(
        ops: OpsServer | None, memory: AgentMemory | None, durable: Durable | None
    ) -> None:
        if ops is not None:
            ops.stop()
        if memory is not None:
            memory.close()
        if durable is not None:
            await durable.close()

    async def _open_durable(self, codec: Codec, producer: OutputProducer) -> Durable | None:
        """Workflow engines and timers, before any input is read (runs resume and timers arm as
        the consumer group assigns their partitions)."""
        if not (self.agent.workflows or self.agent.timers):
            return None
        durable = Durable(
            agent=self.agent.name, bindings=self.agent.workflows, timers=self.agent.timers,
            kafka=self.kafka, mode=self.settings.mode, codec=codec,
            producer=producer, inputs=self.agent.topics,
        )
        await durable.open()
        return durable

    def _make_consumer(self, instance: str) -> Consumer:
        return make_consumer(group_consumer_config(self.settings.group_protocol, self.kafka,
            self.kafka.client_config(
                **{
                    "group.id": self.group_id,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    # Smaller per-partition fetches (librdkafka: 1 MiB) interleave partitions in
                    # the scheduler's buffer; with 1 MiB one partition's keys filled it and slow
                    # handlers ran below max_in_flight (docs/benchmarks.md, slow handler).
                    "max.partition.fetch.bytes": _PARTITION_FETCH_BYTES,
                    **self.kafka.librdkafka,
                    # read_topology tells live instances by the group members' client ids.
                    "client.id": instance,
                }
            )
        ))

    def _withdraw(self, announcer: Announcer) -> None:
        try:
            announcer.withdraw()
        except Exception as exc:  # the topology then shows the instance as stale
            log.warning("could not withdraw descriptor of instance %s: %s", announcer.instance, exc)

    def _raise_failure(self, pump: Pump, engine: Engine) -> None:
        err = pump.error or engine.fatal
        if err is None:
            log.info("agent %s stopped cleanly", self.agent.name)
            return
        if isinstance(err, ProducerFencedError):
            log.error("FENCED: %s", err)
        raise err

    def _start_ops(self, pump: Pump) -> OpsServer | None:
        port = self.settings.ops_port
        if port is None or port < 0:
            return None
        ops = OpsServer(host=self.settings.ops_host, port=port)
        ops.add_liveness("consumer", lambda: (not pump.done.is_set(), "consumer thread alive"))
        ops.add_readiness(
            "assigned", lambda: (pump.ready.is_set(), f"{len(pump.stats.assigned)} partitions")
        )
        if self._health is not None:
            # From the producer's statistics: no request of its own per probe.
            ops.add_readiness("broker", self._health.readiness)
        if self._memory is not None:
            ops.add_readiness("memory", self._memory.readiness)
            ops.add_json_route("/memory", memory_route(self._memory.manager))
        ops.start()
        self.ops_port = ops.port
        log.info("ops endpoints on :%d (/metrics, /healthz, /readyz)", ops.port)
        return ops


def load_agent(target: str) -> Agent:
    """Import ``module:attr`` (or ``module`` with a single ``Agent``) and return the agent."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentLoadError(f"cannot import {module_name!r} ({exc}); check PYTHONPATH") from exc
    if attr:
        obj: Any = getattr(module, attr, None)
        if not isinstance(obj, Agent):
            raise AgentLoadError(f"{target}: {attr!r} is not an agentstream.runtime.Agent")
        return obj
    found = [v for v in vars(module).values() if isinstance(v, Agent)]
    if len(found) != 1:
        raise AgentLoadError(
            f"{module_name} defines {len(found)} agents; name one as {module_name}:<attr>"
        )
    return found[0]


def run_agent(
    agent: Agent,
    *,
    settings: AgentSettings | None = None,
    kafka: KafkaSettings | None = None,
) -> None:
    """Run one agent as this process, until SIGTERM/SIGINT; returns after a clean shutdown."""
    check_environment()
    runner = AgentRunner(agent, settings=settings, kafka=kafka)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _on_signal, runner, sig)
        loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
        early = early_stop_signal()
        if early is not None:  # arrived while the process started: nothing consumed yet
            log.info("%s received while starting: agent %s not started", early.name, agent.name)
            return
        await runner.run()

    asyncio.run(main())


def _dump_tasks() -> None:
    """SIGUSR1: log where every asyncio task of the agent waits (what a stuck agent is doing)."""
    tasks = asyncio.all_tasks()
    lines = [f"SIGUSR1: {len(tasks)} asyncio task(s)"]
    for task in sorted(tasks, key=lambda t: t.get_name()):
        frames = task.get_stack(limit=3)
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))
        lines.append(f"  {task.get_name()}: {where or 'not started'}")
    log.warning("\n".join(lines))


def _on_signal(runner: AgentRunner, sig: signal.Signals) -> None:
    log.info("%s received: stopping (drain up to %s)", sig.name, runner.settings.shutdown_timeout)
    # No shutdown hangs for ever: past the drain, the close and a margin, every thread's stack
    # goes to stderr and the process exits (1), for the orchestrator to restart it.
    faulthandler.dump_traceback_later(
        runner.settings.shutdown_timeout.total_seconds() + _CLOSE_SLACK + 30, exit=True
    )
    runner.stop()
