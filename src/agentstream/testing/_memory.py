"""Test an agent without a broker: the in-memory bus and a test bed around the real runtime.

``AgentTestbed`` runs the agent's real ``AgentRunner`` (scheduler, engine, ledger, memory
stores, workflows, timers, dead letters) on a ``MemoryBus``, with a ``VirtualClock`` as the
process clock, so retry delays and timers move only when the test says::

    async def test_risk_from_failed_build() -> None:
        async with AgentTestbed(agent) as bed:
            await bed.send(build_failed, topic="events.code")
            await bed.settle()
            [risk] = bed.emitted("insights.risks")
            assert risk.kind == "build-failed"

``settle`` returns once every input is handled and committed (no sleeps: it waits on the bus's
own condition, with a deadline); a handler waiting for a retry moves the virtual clock to that
retry. ``advance`` moves time for timers and durable sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from agentstream._membus import Broker, broker_for, drop_broker
from agentstream._membus._broker import ABORTED, COMMITTED
from agentstream.bus import MEMORY_SCHEME
from agentstream.clock import VirtualClock, use_clock
from agentstream.config import KafkaSettings
from agentstream.errors import AgentStreamError
from agentstream.runtime import Agent, AgentRunner, AgentSettings, dlq_topic
from agentstream.serde import make_serde

__all__ = ["AgentTestbed", "MemoryBus", "TestbedTimeoutError"]


class TestbedTimeoutError(AgentStreamError):
    """The agent did not settle in time; the message says what was still unfinished."""


class MemoryBus:
    """One in-memory bus, named ``memory://<name>``: pass ``kafka`` to anything of AgentStream.

    ``auto_create`` (partitions, 0 = off) creates topics on first write, as
    ``auto.create.topics.enable`` would; the platform's brokers have it off.
    """

    def __init__(self, name: str | None = None, *, auto_create: int = 0) -> None:
        self.name = name or f"bus-{uuid.uuid4().hex[:8]}"
        self.bootstrap_servers = f"{MEMORY_SCHEME}{self.name}"
        self.kafka = KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        self._broker: Broker = broker_for({"bootstrap.servers": self.bootstrap_servers})
        self._broker.auto_create_partitions = auto_create

    def create_topic(self, name: str, *, partitions: int = 1,
                     config: dict[str, str] | None = None) -> None:
        self._broker.create_topic(name, partitions, config)

    def topics(self) -> list[str]:
        with self._broker.cond:
            return sorted(self._broker.topics)

    def raw(self, topic: str, *, committed_only: bool = True) -> list[tuple[int, int, bytes | None,
                                                                            bytes | None]]:
        """``(partition, offset, key, value)`` of every record of ``topic``, partition order;
        with ``committed_only`` records of open or aborted transactions are left out."""
        with self._broker.cond:
            t = self._broker.topics.get(topic)
            if t is None:
                return []
            return [(p, r.offset, r.key, r.value)
                    for p, part in enumerate(t.partitions) for r in part.records
                    if not committed_only or r.state == COMMITTED]

    def aborted(self, topic: str) -> int:
        """How many records of ``topic`` belong to aborted transactions."""
        with self._broker.cond:
            t = self._broker.topics.get(topic)
            return 0 if t is None else sum(
                1 for part in t.partitions for r in part.records if r.state == ABORTED)

    def committed(self, group: str) -> dict[tuple[str, int], int]:
        """The committed offsets of a consumer group."""
        with self._broker.cond:
            g = self._broker.groups.get(group)
            return dict(g.committed) if g is not None else {}

    def ends(self, topic: str) -> dict[int, int]:
        """The end offset of each partition of ``topic``."""
        with self._broker.cond:
            t = self._broker.topics.get(topic)
            return {} if t is None else {p: part.high for p, part in enumerate(t.partitions)}

    def fail_writes(self, topic: str, count: int = 1) -> None:
        """The next ``count`` writes to ``topic`` fail their delivery (as a broker timeout)."""
        with self._broker.cond:
            self._broker.failing[topic] = self._broker.failing.get(topic, 0) + count

    @contextlib.contextmanager
    def acks_held(self) -> Iterator[None]:
        """Hold every delivery report back until the block ends (slow acknowledgements): the
        writes are in the log, but no producer learns of them, as when a broker is slow."""
        self._broker.acks_flowing.clear()
        try:
            yield
        finally:
            self._broker.acks_flowing.set()

    def wait(self, predicate: Any, timeout: float) -> bool:
        """Block until ``predicate()`` holds (re-checked at every change of the bus)."""
        with self._broker.cond:
            return bool(self._broker.cond.wait_for(predicate, timeout))

    def close(self) -> None:
        drop_broker(self.name)


class AgentTestbed:
    """Runs one agent on a ``MemoryBus`` with a ``VirtualClock``; see the module docstring.

    ``partitions``: of each input topic (created at start). ``settings``: overrides of the
    agent's settings (``mode="exactly-once"`` works as on Kafka).
    """

    def __init__(
        self,
        agent: Agent,
        *,
        bus: MemoryBus | None = None,
        clock: VirtualClock | None = None,
        partitions: int = 1,
        settings: dict[str, Any] | None = None,
        timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        self.agent = agent
        self._own_bus = bus is None
        self.bus = bus or MemoryBus(auto_create=1)
        self.clock = clock or VirtualClock()
        self.partitions = partitions
        self.timeout = timeout.total_seconds()
        overrides = {"ops_port": None, "commit_interval": timedelta(milliseconds=5),
                     "gc_tuning": False, **(settings or {})}
        self.settings = AgentSettings(**overrides)
        self.group = self.settings.group_id or agent.name
        self.serde = make_serde(self.bus.kafka)
        self.runner: AgentRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self._clock_cm: Any = None

    async def __aenter__(self) -> AgentTestbed:
        for topic in self.agent.topics:
            self.bus.create_topic(topic, partitions=self.partitions)
        self._clock_cm = use_clock(self.clock)
        self._clock_cm.__enter__()
        self.runner = AgentRunner(self.agent, settings=self.settings, kafka=self.bus.kafka)
        self._task = asyncio.create_task(self.runner.run(), name=f"testbed-{self.agent.name}")
        ready = asyncio.ensure_future(asyncio.to_thread(self.runner.wait_ready, self.timeout))
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            self._task.result()
            raise TestbedTimeoutError(f"agent {self.agent.name} stopped while starting")
        if not ready.result():
            raise TestbedTimeoutError(f"agent {self.agent.name} not ready in {self.timeout}s")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.runner is not None and self._task is not None:
                self.runner.stop()
                await asyncio.wait_for(asyncio.shield(self._task), self.timeout)
        finally:
            if self._clock_cm is not None:
                self._clock_cm.__exit__(None, None, None)
            if self._own_bus:
                self.bus.close()

    # -- input ------------------------------------------------------------------------------
    async def send(self, record: Any, *, topic: str, key: str | bytes | None = None) -> None:
        """Write ``record`` (a generated record) to ``topic``, keyed by ``key`` (default: the
        record's ``meta.subject`` / entity key when it has one)."""
        if key is None:
            meta = getattr(record, "meta", None)
            key = getattr(meta, "subject", None) or getattr(meta, "key", None)
        value = self.serde.encode(topic, record)
        raw_key = key.encode() if isinstance(key, str) else key
        await asyncio.to_thread(self._write, topic, raw_key, value)

    def _write(self, topic: str, key: bytes | None, value: bytes) -> None:
        from agentstream.bus import make_producer  # noqa: PLC0415

        p = make_producer(self.bus.kafka.client_config())
        p.produce(topic, value=value, key=key)
        p.flush(5)

    # -- waiting ----------------------------------------------------------------------------
    def _idle(self) -> bool:
        committed = self.bus.committed(self.group)
        for topic in self.agent.topics:
            for p, end in self.bus.ends(topic).items():
                if committed.get((topic, p), 0) < end:
                    return False
        return True

    async def settle(self, *, timeout: timedelta | None = None) -> None:
        """Wait until every input written so far is handled, its outputs written and its offset
        committed; a retry the agent waits for is reached by moving the virtual clock."""
        limit = timeout.total_seconds() if timeout is not None else self.timeout
        deadline = time.monotonic() + limit
        runner = self.runner
        assert runner is not None and self._task is not None
        while True:
            if self._task.done():
                self._task.result()
                raise TestbedTimeoutError(f"agent {self.agent.name} stopped")
            if await asyncio.to_thread(self.bus.wait, self._idle, 0.02):
                return
            stats = runner.stats()
            retry_at = stats.next_retry_at
            if retry_at is not None and \
                    stats.pending == stats.waiting_retry + stats.behind_retries:
                self.clock.advance_to(max(retry_at, self.clock.now()))
            if time.monotonic() > deadline:
                raise TestbedTimeoutError(
                    f"agent {self.agent.name} did not settle within {limit}s: {stats.pending} "
                    f"input(s) unfinished, {stats.waiting_retry} waiting for a retry; committed "
                    f"{self.bus.committed(self.group)}"
                )

    async def wait_for(self, predicate: Any, *, what: str,
                       timeout: timedelta | None = None) -> None:
        """Wait until ``predicate()`` holds, re-checked at every change of the bus (work that
        finishes after its input was committed: a workflow run's later steps, a timer)."""
        limit = timeout.total_seconds() if timeout is not None else self.timeout
        if not await asyncio.to_thread(self.bus.wait, predicate, limit):
            raise TestbedTimeoutError(f"waited {limit}s for {what}")

    async def advance(self, by: timedelta) -> None:
        """Move the virtual clock by ``by`` (timers due by then fire), then ``settle``."""
        self.clock.advance(by)
        await asyncio.sleep(0)
        await self.settle()

    async def advance_to(self, when: datetime) -> None:
        self.clock.advance_to(when)
        await asyncio.sleep(0)
        await self.settle()

    # -- output -----------------------------------------------------------------------------
    def emitted(self, topic: str) -> list[Any]:
        """The decoded records on ``topic`` visible to read_committed readers, in partition and
        offset order."""
        return [self.serde.decode(topic, value, partition=p, offset=o)
                for p, o, _, value in self.bus.raw(topic) if value is not None]

    def dead_letters(self) -> list[Any]:
        """The ``DeadLetter`` records of this agent (reason, stage, attempts, original)."""
        return self.emitted(dlq_topic(self.agent.name, prefix=self.bus.kafka.topic_prefix))
