"""Memory survives SIGKILL and partition moves between processes (child agents, real broker)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from agentstream.config import KafkaSettings
from agentstream.memory import (
    KafkaChangelogWriter,
    StoreManager,
    StoreSpec,
    changelog_topic,
    ensure_changelog_topics,
)
from agentstream.testing import WaitTimeoutError, delete_topics, produce, unique_name

AGENT_SCRIPT = Path(__file__).parent / "memory_agents" / "counter_agent.py"
REPO = Path(__file__).resolve().parents[2]
KEYS = [f"k{i}" for i in range(12)]


class Child:
    """A counter agent process; ``port`` is its ops port (with ``/memory``)."""

    def __init__(
        self, bootstrap: str, topic: str, group: str, agent: str, *, instance: str, mode: str
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(AGENT_SCRIPT), "--bootstrap", bootstrap, "--input", topic,
             "--group", group, "--agent", agent, "--instance", instance, "--mode", mode],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the child prints its port once it serves
        if not line:
            raise WaitTimeoutError(f"child agent exited with {self.proc.wait(10)} before serving")
        self.port = int(json.loads(line)["port"])

    def memory(self, key: str) -> Any:
        try:
            url = f"http://127.0.0.1:{self.port}/memory/counts/{key}"
            with urllib.request.urlopen(url, timeout=10) as resp:
                return json.load(resp)["value"]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def children() -> Iterator[Callable[..., Child]]:
    started: list[Child] = []

    def start(*args: Any, **kw: Any) -> Child:
        c = Child(*args, **kw)
        started.append(c)
        return c

    yield start
    for c in started:
        if c.proc.poll() is None:
            c.kill()


@pytest.fixture
def setup(bootstrap_servers: str, kafka_admin: AdminClient) -> Iterator[dict[str, str]]:
    agent = unique_name("ctr").replace("-", "_")
    topic = unique_name("in")
    ensure_changelog_topics(kafka_admin, [topic], partitions=2)  # the input: 2 partitions
    changelog = changelog_topic(agent, "counts")
    ensure_changelog_topics(kafka_admin, [changelog], partitions=2)
    yield {"agent": agent, "topic": topic, "group": unique_name("g")}
    delete_topics(kafka_admin, [topic, changelog])


def send(bootstrap: str, topic: str, events: list[tuple[str, int]]) -> None:
    produce(bootstrap, topic, [(k.encode(), str(v).encode()) for k, v in events])


def wait_committed(
    bootstrap: str, group: str, topic: str, *, at_least: int | None = None,
    timeout: timedelta = timedelta(seconds=90),
) -> None:
    """Wait until the group committed the end of both partitions (or ``at_least`` in total)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        deadline = time.monotonic() + timeout.total_seconds()
        while True:
            tps = [TopicPartition(topic, p) for p in (0, 1)]
            committed = c.committed(tps, timeout=10)
            ends = [c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
            done = [max(tp.offset, 0) for tp in committed]
            if (at_least is None and done == ends) or (
                at_least is not None and sum(done) >= at_least
            ):
                return
            if time.monotonic() > deadline:
                raise WaitTimeoutError(f"group {group} committed {done}, end offsets {ends}")
            time.sleep(0.1)  # polling the broker for a condition, with a deadline
    finally:
        c.close()


def totals(events: list[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in events:
        out[k] = out.get(k, 0) + v
    return out


def restored(bootstrap: str, agent: str) -> dict[str, int]:
    """What a brand-new owner of both partitions restores from the changelog."""
    m = StoreManager(
        agent,
        [StoreSpec("counts")],
        writer=KafkaChangelogWriter.from_config({"bootstrap.servers": bootstrap}),
        settings=KafkaSettings(bootstrap_servers=bootstrap),
    )
    try:
        m.assign_blocking([0, 1], timeout=timedelta(seconds=60))
        return {k: v["total"] for k, v in m.store("counts").items()}
    finally:
        m.close()


def random_events(rng: random.Random, n: int) -> list[tuple[str, int]]:
    return [(rng.choice(KEYS), rng.randrange(1, 10)) for _ in range(n)]


@pytest.mark.parametrize("mode", ["alo", "eos"])
def test_state_after_sigkill_and_restart_equals_the_fold(
    mode: str, bootstrap_servers: str, setup: dict[str, str], children: Callable[..., Child]
) -> None:
    rng = random.Random(mode)
    agent, topic, group = setup["agent"], setup["topic"], setup["group"]
    events = random_events(rng, 1500)
    send(bootstrap_servers, topic, events)
    first = children(bootstrap_servers, topic, group, agent, instance="i1", mode=mode)
    wait_committed(bootstrap_servers, group, topic, at_least=300)
    more = random_events(rng, 3000)
    send(bootstrap_servers, topic, more)
    first.kill()  # mid-stream: some events folded, written, not committed

    second = children(bootstrap_servers, topic, group, agent, instance="i1", mode=mode)
    wait_committed(bootstrap_servers, group, topic)
    expected = totals(events + more)
    assert {k: second.memory(k)["total"] for k in expected} == expected
    second.stop()
    assert restored(bootstrap_servers, agent) == expected


def test_a_partition_moving_to_another_process_brings_its_state(
    bootstrap_servers: str, setup: dict[str, str], children: Callable[..., Child]
) -> None:
    rng = random.Random(42)
    agent, topic, group = setup["agent"], setup["topic"], setup["group"]
    sent = random_events(rng, 600)
    send(bootstrap_servers, topic, sent)
    a = children(bootstrap_servers, topic, group, agent, instance="a", mode="alo")
    wait_committed(bootstrap_servers, group, topic)
    b = children(bootstrap_servers, topic, group, agent, instance="b", mode="alo")
    # Both members hold a partition once b has events to handle of its own; keep sending until
    # both processes hold state (each owns one partition after the rebalance).
    deadline = time.monotonic() + 60
    while True:
        batch = random_events(rng, 100)
        send(bootstrap_servers, topic, batch)
        sent += batch
        wait_committed(bootstrap_servers, group, topic)
        held_b = {k for k in KEYS if b.memory(k) is not None}
        if held_b and held_b != set(KEYS):
            break
        assert time.monotonic() < deadline, "the group never split the partitions between a and b"
    a.stop()  # a leaves the group: b gets a's partition and must restore a's state
    tail = random_events(rng, 300)
    send(bootstrap_servers, topic, tail)
    sent += tail
    wait_committed(bootstrap_servers, group, topic)
    expected = totals(sent)
    assert {k: b.memory(k)["total"] for k in expected} == expected
