"""``AgentMemory.begin_assign``: restores off the caller's thread, reports readiness once per
restore, follows assign/revoke, and keeps the blocking ``assign`` as it was."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.memory import KafkaChangelogWriter, MemorySettings, StoreSpec
from agentstream.runtime import Agent
from agentstream.runtime._memory import AgentMemory
from agentstream.runtime._producer import OutputProducer
from agentstream.testing import delete_topics, unique_name

WAIT = 60.0


async def test_begin_assign_restores_in_the_background_and_reports_ready_once(
    bootstrap_servers: str, kafka_admin: AdminClient, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    name = unique_name("amem").replace("-", "_")
    agent = Agent(name, stores=[StoreSpec("big", backend="rocksdb")])
    producer = OutputProducer({"bootstrap.servers": bootstrap_servers}, loop=loop)
    mem = AgentMemory(
        agent,
        kafka=KafkaSettings(bootstrap_servers=bootstrap_servers),
        producer=producer,
        settings=MemorySettings(state_dir=tmp_path),
    )
    topic = mem.manager.topics[0]
    try:
        mem.ensure_topics(kafka_admin, {"in": 2})
        writer = KafkaChangelogWriter.from_config({"bootstrap.servers": bootstrap_servers})
        for i in range(20_000):
            writer.produce(topic, i % 2, b"e%d" % i, b"%d" % i)
        writer.flush(timedelta(seconds=WAIT))

        tps = [("in", 0), ("in", 1)]
        called: list[tuple[str, int]] = []
        both = threading.Event()

        def on_ready(tp: tuple[str, int]) -> None:
            called.append(tp)
            if len(called) == 2:
                both.set()

        futures = mem.begin_assign(tps, on_ready=on_ready)
        assert set(futures) == set(tps)
        assert await asyncio.to_thread(both.wait, WAIT)
        assert all(f.result(0) for f in futures.values())
        assert sorted(called) == tps
        assert sorted(mem.take_ready()) == tps and mem.take_ready() == []
        assert all(mem.ready(tp) for tp in tps) and mem.pending() == []
        assert mem.manager.store("big").count() == 20_000
        st = mem.manager.restore_stats(0)
        assert st is not None and st.records == 10_000

        mem.revoke([("in", 1)])
        assert not mem.ready(("in", 1)) and mem.ready(("in", 0))
        again = mem.begin_assign([("in", 1)])
        assert await asyncio.to_thread(again[("in", 1)].result, WAIT)
        assert mem.take_ready() == [("in", 1)]
        st = mem.manager.restore_stats(1)
        assert st is not None and st.records == 0 and st.warm == {"big": True}

        # Revoked before it finished: the future says so and nothing is reported ready.
        mem.revoke([("in", 0)])
        racing = mem.begin_assign([("in", 0)])
        mem.revoke([("in", 0)])
        outcome: Any = await asyncio.to_thread(racing[("in", 0)].result, WAIT)
        assert outcome in (True, False)
        assert not mem.ready(("in", 0)) and mem.take_ready() == []

        # The blocking form is unchanged.
        mem.assign([("in", 0)])
        assert mem.ready(("in", 0))
    finally:
        mem.close()
        producer.close(10)
        delete_topics(kafka_admin, [topic])
