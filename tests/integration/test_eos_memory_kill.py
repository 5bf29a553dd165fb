"""Exactly-once: SIGKILL between a handler's memory write and its commit.

Neither the output nor the memory change is visible to read_committed readers before the commit;
after a restart both appear exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition
from tests.integration.agents.harness import pr, produce_events, serde_for, spawn_agent, wait_for

from agentstream.memory import changelog_topic
from agentstream.testing import consumer, unique_name

pytestmark = pytest.mark.timeout(240)
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})


def _read_committed(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` a read_committed reader sees, to the partition ends."""
    with consumer(bootstrap, **{"isolation.level": "read_committed",
                                "enable.partition.eof": True}) as c:
        md = c.list_topics(topic, timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            return []
        parts = list(md.partitions)
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        pending, got = set(parts), []
        wait_for(lambda: _drain(c, pending, got), timeout=timedelta(seconds=30),
                 what=f"{topic} read to its end", poll=0)
    return got


def _drain(c: Any, pending: set[int], got: list[Any]) -> bool:
    for m in c.consume(num_messages=500, timeout=0.2):
        err = m.error()
        if err is None:
            got.append(m)
        elif err.code() == KafkaError._PARTITION_EOF:
            pending.discard(m.partition())
    return not pending


def test_sigkill_between_memory_write_and_commit_shows_nothing_then_both_once(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    name = unique_name("eosmem")
    log = tmp_path / "handled.log"
    env = {
        "EOSMEM_AGENT": name, "EOSMEM_IN": src, "EOSMEM_OUT": out, "EOSMEM_LOG": str(log),
        "AGENTSTREAM_AGENT_MODE": "exactly-once", "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        # No commit while the first process lives: it dies with its transaction open.
        "AGENTSTREAM_AGENT_COMMIT_INTERVAL": "600", "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
        "AGENT_STDERR": str(tmp_path / "agent.stderr"),
    }
    target = "tests.integration.agents.eos_memory:agent"
    events = [pr("octo/repo#1", 1), pr("octo/repo#2", 2)]
    produce_events(bootstrap_servers, src, events)
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        wait_for(lambda: log.exists() and len(log.read_text().split()) >= 2,
                 timeout=timedelta(seconds=90), what="both inputs handled (writes queued)")
        changelog = changelog_topic(name, "seen")
        # Written, not committed: a read_committed reader sees neither outputs nor memory.
        assert _read_committed(bootstrap_servers, out) == []
        assert _read_committed(bootstrap_servers, changelog) == []
    finally:
        proc.kill()
        proc.wait(10)

    env["AGENTSTREAM_AGENT_COMMIT_INTERVAL"] = "0.2"
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        serde = serde_for(bootstrap_servers)
        wait_for(lambda: len(_read_committed(bootstrap_servers, out)) >= 2,
                 timeout=timedelta(seconds=150), what="outputs committed after the restart",
                 poll=0.5)
        outputs = Counter(serde.decode(out, m.value()).title
                          for m in _read_committed(bootstrap_servers, out))
        memory = [(m.key(), m.value()) for m in _read_committed(bootstrap_servers, changelog)]
    finally:
        proc.terminate()
        proc.wait(60)
    assert outputs == Counter({"1": 1, "2": 1}), "each output once"
    assert sorted(k for k, _ in memory) == [b"octo/repo#1", b"octo/repo#2"], memory
    assert all(json.loads(v) == 1 for _, v in memory), "each memory write once"
