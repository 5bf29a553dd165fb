"""Memory stores declared on agents: restored before handling, folded after, crash-safe."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from tests.integration.agents.harness import pr, produce_events, running, spawn_agent, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.memory import StoreSpec, list_keys
from agentstream.runtime import Agent, Context
from agentstream.testing import consumer

TARGET = "tests.integration.agents.counter:agent"
FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})


def _expected(events: list[PullRequestOpened]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in events:
        s = out.get(e.meta.subject, {"count": 0, "sum": 0, "last": -1})
        out[e.meta.subject] = {"count": s["count"] + 1, "sum": s["sum"] + e.number,
                               "last": e.number}
    return out


def _state(bootstrap: str, agent: str, store: str = "totals") -> dict[str, Any]:
    entries = list_keys(KafkaSettings(bootstrap_servers=bootstrap), agent, store)
    return {e.key: json.loads(e.value) for e in entries if e.value is not None}


def _all_committed(bootstrap: str, group: str, topic: str, partitions: int) -> bool:
    with consumer(bootstrap, group=group) as c:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = c.committed(tps, timeout=10)
        for tp in committed:
            low, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            if high > low and tp.offset < high:  # (a partition no key hashed to has no offset)
                return False
    return True


def _handled(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def _get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_handlers_and_reducers_share_stores_served_on_ops_port(
    bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=2)
    agent = Agent(f"mem-{src}", stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1)])
    agent.store(StoreSpec("seen"))

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        before = ctx.store("count").get(event.meta.subject) or 0
        ctx.store("seen").put(event.meta.subject, {"before": before, "last": event.number})

    events = [pr(f"k{i % 3}", i) for i in range(30)]
    produce_events(bootstrap_servers, src, events)
    with running(agent, bootstrap_servers, ops_port=0) as runner:
        wait_for(lambda: runner.stats().engine.handled == len(events),
                 timeout=timedelta(seconds=60), what="every event handled")
        assert runner.ops_port is not None
        status, ready = _get(runner.ops_port, "/readyz")
        assert status == 200 and ready["checks"]["memory"]["ok"], ready
        status, body = _get(runner.ops_port, "/memory/count/k1")
        assert (status, body["value"]) == (200, 10)
        status, body = _get(runner.ops_port, "/memory/seen/k1")
        # The handler ran before the reducer folded its own event: it saw 9 earlier ones.
        assert body["value"] == {"before": 9, "last": 28}
    assert _state(bootstrap_servers, agent.name, "count") == {"k0": 10, "k1": 10, "k2": 10}


def _sequence(seed: int) -> list[PullRequestOpened]:
    rnd = random.Random(seed)
    keys = [f"k{i}" for i in range(rnd.randint(3, 12))]
    return [pr(rnd.choice(keys), i, title=f"t{i}") for i in range(rnd.randint(300, 600))]


@pytest.mark.parametrize(
    ("mode", "seed"),
    [("exactly-once", 1), ("exactly-once", 2), ("at-least-once", 3), ("at-least-once", 4)],
)
def test_sigkill_mid_stream_then_restart_state_is_the_fold(
    mode: str, seed: int, bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src = topic_factory(partitions=3)
    name = f"memkill-{src}"
    log = tmp_path / "handled.log"
    events = _sequence(seed)
    produce_events(bootstrap_servers, src, events)
    env = {
        "COUNTER_AGENT": name, "COUNTER_IN": src, "COUNTER_LOG": str(log),
        "COUNTER_DELAY_MS": "5", "AGENT_STDERR": str(tmp_path / "agent.stderr"),
        # Exactly-once folds with a plain counting reducer: exact only if nothing is folded twice.
        "COUNTER_IDEMPOTENT": "1" if mode == "at-least-once" else "0",
        "AGENTSTREAM_AGENT_MODE": mode, "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        "AGENTSTREAM_AGENT_COMMIT_INTERVAL": "0.3", "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "16",
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
    }
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _handled(log) >= len(events) // 4, timeout=timedelta(seconds=90),
                 what="a quarter of the events handled before the kill")
    finally:
        proc.kill()
        proc.wait(10)
    assert _handled(log) < len(events), "killed mid-stream"
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _all_committed(bootstrap_servers, name, src, 3),
                 timeout=timedelta(seconds=150), what="every input committed after restart",
                 poll=0.5)
    finally:
        rc = _stop(proc)
    assert rc == 0, (tmp_path / "agent.stderr").read_text()[-3000:]
    assert _state(bootstrap_servers, name) == _expected(events)
    titles = _state(bootstrap_servers, name, "titles")
    assert titles == {k: f"t{v['last']}" for k, v in _expected(events).items()}


def test_at_least_once_plain_reducer_folds_each_handling_as_documented(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    """docs/memory.md: at-least-once, a plain reducer folds every input at least once, and a
    second time only if the input was handled again after a crash (it was unfinished at the
    kill); exactness needs an idempotent reducer or exactly-once."""
    src = topic_factory(partitions=3)
    name = f"memplain-{src}"
    log = tmp_path / "handled.log"
    events = _sequence(5)
    produce_events(bootstrap_servers, src, events)
    env = {
        "COUNTER_AGENT": name, "COUNTER_IN": src, "COUNTER_LOG": str(log),
        "COUNTER_DELAY_MS": "5", "AGENT_STDERR": str(tmp_path / "agent.stderr"),
        "COUNTER_IDEMPOTENT": "0", "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        "AGENTSTREAM_AGENT_COMMIT_INTERVAL": "0.3", "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "16",
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
    }
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _handled(log) >= len(events) // 4, timeout=timedelta(seconds=90),
                 what="a quarter of the events handled before the kill")
    finally:
        proc.kill()
        proc.wait(10)
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _all_committed(bootstrap_servers, name, src, 3),
                 timeout=timedelta(seconds=150), what="every input committed after restart",
                 poll=0.5)
    finally:
        rc = _stop(proc)
    assert rc == 0, (tmp_path / "agent.stderr").read_text()[-3000:]
    handlings: dict[str, int] = {}
    for line in log.read_text().splitlines():
        subject = line.split()[1]
        handlings[subject] = handlings.get(subject, 0) + 1
    state = _state(bootstrap_servers, name)
    expected = _expected(events)
    assert set(state) == set(expected)
    for key, want in expected.items():
        # Each input folded at least once; more only where it was handled again.
        assert want["count"] <= state[key]["count"] <= handlings[key], key


def test_new_owner_restores_state_and_keeps_folding(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src = topic_factory(partitions=4)
    name = f"memmove-{src}"
    first_half = [pr(f"k{i % 10}", i) for i in range(300)]
    second_half = [pr(f"k{i % 10}", i) for i in range(300, 600)]
    produce_events(bootstrap_servers, src, first_half)
    env = {
        "COUNTER_AGENT": name, "COUNTER_IN": src, "COUNTER_DELAY_MS": "2",
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP, "AGENT_STDERR": str(tmp_path / "agents.stderr"),
    }
    a = spawn_agent(TARGET, bootstrap_servers, env)
    b = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _all_committed(bootstrap_servers, name, src, 4),
                 timeout=timedelta(seconds=90), what="first half committed by two processes",
                 poll=0.5)
        assert _stop(a) == 0
        # b now owns every partition: it restores a's state before folding more into it.
        produce_events(bootstrap_servers, src, second_half)
        wait_for(lambda: _all_committed(bootstrap_servers, name, src, 4),
                 timeout=timedelta(seconds=90), what="second half committed by the survivor",
                 poll=0.5)
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                assert _stop(proc) == 0
    # Plain counting reducer: a clean handover neither loses nor repeats a fold.
    assert _state(bootstrap_servers, name) == _expected(first_half + second_half)
