"""Timers scheduled from handlers fire once across a SIGKILL mid-firing, in both delivery modes."""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from tests.integration.agents.harness import pr, produce_events, serde_for, spawn_agent, wait_for

from agentstream.testing import consume_until, consumer, unique_name

FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})
TARGET = "tests.integration.agents.scheduler:agent"


def _written(bootstrap: str, topic: str, partitions: int) -> int:
    with consumer(bootstrap) as c:
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in range(partitions))


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_timers_fire_once_when_the_process_dies_while_they_fire(
    bootstrap_servers: str, topic_factory, tmp_path: Path, mode: str
) -> None:
    n = 300
    src, out = topic_factory(partitions=3), topic_factory(partitions=3)
    env = {
        "SCHED_AGENT": unique_name("sched"), "SCHED_IN": src, "SCHED_OUT": out,
        # Each handler still runs after its timer fired: the kill makes inputs be redelivered
        # whose timers fired already (and, exactly-once, whose transaction was aborted).
        "SCHED_AFTER": "1", "SCHED_HOLD": "2", "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
        "AGENTSTREAM_AGENT_MODE": mode, "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "100",
        "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        "AGENT_STDERR": str(tmp_path / "agent.stderr"),
    }
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        produce_events(bootstrap_servers, src, [pr(f"octo/repo#{i % 100}", i) for i in range(n)])
        wait_for(lambda: _written(bootstrap_servers, out, 3) >= n // 5,
                 timeout=timedelta(seconds=90), what="timers firing")
    finally:
        proc.kill()
        proc.wait(10)
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        serde = serde_for(bootstrap_servers)
        with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
            c.subscribe([out])
            got = consume_until(
                c, until=lambda ms: len({serde.decode(out, m.value()).meta.id for m in ms}) >= n,
                timeout=timedelta(seconds=120),
            )
            got += c.consume(num_messages=10_000, timeout=4)  # late re-fires would show here
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "agent.stderr").read_text()[-3000:]
    fire_ids: dict[str, set[str]] = defaultdict(set)
    copies: dict[str, int] = defaultdict(int)
    for m in got:
        if m.error() is not None:
            continue
        event = serde.decode(out, m.value())
        fire_ids[event.meta.id].add(dict(m.headers())["agentstream.timer.fire_id"].decode())
        copies[event.meta.id] += 1
    assert len(fire_ids) == n, "every timer fired"
    twice = {i: f for i, f in fire_ids.items() if len(f) > 1}
    assert not twice, f"{len(twice)} timers fired under two fire ids (armed again)"
    if mode == "exactly-once":
        repeated = {i: c for i, c in copies.items() if c > 1}
        assert not repeated, f"{len(repeated)} firings visible twice to read_committed readers"
