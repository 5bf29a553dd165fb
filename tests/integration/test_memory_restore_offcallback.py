"""Restore off the rebalance callback, the way a consumer loop should drive ``AgentMemory``:
``begin_assign`` + pause in ``on_assign``, resume on ``take_ready``. A restore that takes long
does not hold the group: another member joins and gets its partitions while it is still running,
and no record of a partition is handed out before the partition's memory is ready."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from tests.integration.agents.harness import wait_for

from agentstream.bus import make_consumer
from agentstream.config import KafkaSettings
from agentstream.memory import KafkaChangelogWriter, MemorySettings, PartitionStatus, StoreSpec
from agentstream.runtime import Agent
from agentstream.runtime._memory import AgentMemory
from agentstream.runtime._producer import OutputProducer
from agentstream.testing import create_topic, delete_topics, produce, unique_name

WAIT = 60.0
TP = tuple[str, int]


class Gate:
    """Wraps a changelog source: every restore waits at the gate (or until cancelled)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.open = threading.Event()
        self.waiting = threading.Semaphore(0)

    def wrap(self) -> Any:
        gate = self

        class Reader:
            def __init__(self, inner: Any) -> None:
                self.inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

            def batches(
                self, topic: str, partition: int, *, deadline: float,
                cancelled: Callable[[], bool], start: int | None = None,
            ) -> Iterator[Sequence[Any]]:
                gate.waiting.release()
                while not gate.open.wait(0.05):
                    if cancelled():
                        return
                kw = {} if start is None else {"start": start}
                yield from self.inner.batches(
                    topic, partition, deadline=deadline, cancelled=cancelled, **kw
                )

        class Source:
            def open(self) -> Any:
                return Reader(gate.source.open())

        return Source()


class LoopWithMemory:
    """A consumer loop driving AgentMemory as a pump should (see docs/memory.md)."""

    def __init__(self, conf: dict[str, Any], topic: str, mem: AgentMemory) -> None:
        self.mem = mem
        self.c: Consumer = make_consumer(conf)
        self.restoring: set[TP] = set()
        self.got: dict[int, int] = {}
        self.early: list[TP] = []  # records handed out before their partition was ready
        self.assigned = threading.Event()
        self.stop = threading.Event()
        self.c.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, c: Consumer, parts: list[TopicPartition]) -> None:
        c.assign(parts)  # take the assignment now, so that pausing sticks before any fetch
        tps = [(p.topic, p.partition) for p in parts]
        self.mem.begin_assign(tps)
        waiting = [p for p in parts if not self.mem.ready((p.topic, p.partition))]
        if waiting:
            c.pause(waiting)
            self.restoring.update((p.topic, p.partition) for p in waiting)
        self.assigned.set()

    def _on_revoke(self, c: Consumer, parts: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in parts]
        self.mem.revoke(tps)
        self.restoring.difference_update(tps)
        self.assigned.clear()

    def _run(self) -> None:
        while not self.stop.is_set():
            for m in self.c.consume(100, timeout=0.1):
                if m.error() is not None:
                    continue
                tp = (m.topic() or "", m.partition() or 0)
                if not self.mem.ready(tp):
                    self.early.append(tp)
                self.got[tp[1]] = self.got.get(tp[1], 0) + 1
            for tp in self.mem.take_ready():
                if tp in self.restoring:
                    self.restoring.discard(tp)
                    self.c.resume([TopicPartition(*tp)])
        self.c.close()


class Member:
    """A plain member of the same group (no memory), polling on its own thread."""

    def __init__(self, conf: dict[str, Any], topic: str) -> None:
        self.parts: list[int] = []
        self.assigned = threading.Event()
        self.stop = threading.Event()
        self.c: Consumer = make_consumer(conf)
        self.c.subscribe([topic], on_assign=self._on_assign)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, c: Consumer, parts: list[TopicPartition]) -> None:
        self.parts.extend(p.partition for p in parts)
        if parts:
            self.assigned.set()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.c.consume(100, timeout=0.1)
        self.c.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def _wait(pred: Callable[[], bool], what: str) -> None:
    wait_for(pred, timeout=timedelta(seconds=WAIT), what=what, poll=0.05)


async def test_a_long_restore_does_not_hold_the_group_nor_leak_records(
    bootstrap_servers: str, kafka_admin: AdminClient, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    src = create_topic(kafka_admin, unique_name("offcb"), partitions=2)
    name = unique_name("offcb").replace("-", "_")
    agent = Agent(name, stores=[StoreSpec("s", backend="rocksdb")])
    producer = OutputProducer({"bootstrap.servers": bootstrap_servers}, loop=loop)
    mem = AgentMemory(
        agent, kafka=KafkaSettings(bootstrap_servers=bootstrap_servers), producer=producer,
        settings=MemorySettings(state_dir=tmp_path),
    )
    changelog = mem.manager.topics[0]
    gate = Gate(mem.manager._restorer._source)
    mem.manager._restorer._source = gate.wrap()
    group = unique_name("g")
    conf = {"bootstrap.servers": bootstrap_servers, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    a: LoopWithMemory | None = None
    b: Member | None = None
    try:
        mem.ensure_topics(kafka_admin, {src: 2})
        writer = KafkaChangelogWriter.from_config({"bootstrap.servers": bootstrap_servers})
        for i in range(100):
            writer.produce(changelog, i % 2, b"k%d" % i, b"%d" % i)
        writer.flush(timedelta(seconds=WAIT))
        produce(bootstrap_servers, src, [(b"k%d" % i, b"v") for i in range(200)])

        a = LoopWithMemory(conf, src, mem)
        _wait(lambda: a is not None and len(mem.pending()) == 2, "A assigned both, restoring")
        assert a.got == {}  # paused: nothing fetched while the restores wait at the gate

        b = Member(conf, src)
        # The rebalance completes while A's restores are still held at the gate.
        assert await asyncio.to_thread(b.assigned.wait, WAIT), "B never got a partition"
        assert not gate.open.is_set()
        _wait(lambda: a is not None and a.assigned.is_set() and len(mem.pending()) == 1,
              "A re-assigned one partition, restoring again")
        (mine,) = mem.pending()
        assert mem.manager.status(mine[1]) is PartitionStatus.RESTORING
        assert mine[1] not in b.parts and a.got == {}

        with make_consumer(conf | {"group.id": unique_name("probe")}) as probe:
            _, expected = probe.get_watermark_offsets(TopicPartition(src, mine[1]), timeout=10)
        assert expected > 0
        gate.open.set()
        _wait(lambda: a is not None and a.got.get(mine[1], 0) == expected,
              "A's partition consumed")
        assert a.early == []
        assert mem.manager.store("s").count(partition=mine[1]) == 50
    finally:
        if b is not None:
            b.close()
        if a is not None:
            a.stop.set()
            a.thread.join(10)
        mem.close()
        producer.close(10)
        delete_topics(kafka_admin, [src, changelog])
