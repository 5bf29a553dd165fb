"""A running agent with a durable state directory: its forget follower moves the local
checkpoints as its writes commit, so a restart reads nothing of the changelog it already holds."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from tests.integration.agents.harness import (
    pr,
    produce_events,
    running,
    spawn_agent,
    wait_for,
)
from tests.integration.test_agent_memory import (
    FAST_GROUP,
    TARGET,
    _all_committed,
    _expected,
    _handled,
    _sequence,
    _state,
    _stop,
)

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.memory import StoreSpec, changelog_topic, list_keys
from agentstream.runtime import Agent, Context
from agentstream.testing import consumer

KEYS = 500


def _memory(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/memory", timeout=10) as resp:
        body: dict[str, Any] = json.loads(resp.read())
        return body


def _caught_up(bootstrap: str, topic: str, port: int, eos: bool) -> bool:
    """Every partition's local checkpoint is at its changelog's last data record (called once
    the inputs are committed: no transaction is open, so the end is stable)."""
    cps = _memory(port)["checkpoints"]
    with consumer(bootstrap, group=f"probe-{topic}") as c:
        for p in (0, 1):
            _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            # Exactly-once: the last offset is the commit marker of the last transaction.
            if cps.get(str(p), {}).get("count", -1) < high - (1 if eos and high else 0):
                return False
    return True


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_restart_with_a_state_dir_reads_no_changelog_it_holds(
    mode: str,
    bootstrap_servers: str,
    topic_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTSTREAM_MEMORY_STATE_DIR", str(tmp_path))
    src = topic_factory(partitions=2)
    agent = Agent(
        f"dur-{src}",
        stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1, backend="rocksdb")],
    )

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        return None

    topic = changelog_topic(agent.name, "count")
    eos = mode == "exactly-once"
    first = [pr(f"k{i % KEYS}", i) for i in range(2_000)]
    produce_events(bootstrap_servers, src, first)
    with running(agent, bootstrap_servers, ops_port=0, mode=mode) as runner:
        wait_for(lambda: runner.stats().engine.handled == len(first),
                 timeout=timedelta(seconds=90), what="every event handled")
        port = runner.ops_port
        assert port is not None
        wait_for(lambda: _all_committed(bootstrap_servers, agent.name, src, 2),
                 timeout=timedelta(seconds=60), what="every input committed", poll=0.3)
        wait_for(lambda: _caught_up(bootstrap_servers, topic, port, eos),
                 timeout=timedelta(seconds=60), what="local checkpoints at the changelog's end")

    more = [pr(f"k{i % KEYS}", i) for i in range(2_000, 2_100)]
    produce_events(bootstrap_servers, src, more)
    with running(agent, bootstrap_servers, ops_port=0, mode=mode) as runner:
        wait_for(lambda: runner.stats().engine.handled == len(more),
                 timeout=timedelta(seconds=90), what="the new events handled")
        assert runner.ops_port is not None
        body = _memory(runner.ops_port)
        assert {p: r["records"] for p, r in body["restores"].items()} == {"0": 0, "1": 0}
        assert all(r["warm"] == {"count": True} for r in body["restores"].values())
        local = body["stores"]["count"]["entities"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{runner.ops_port}/memory/count/k5", timeout=10
        ) as resp:
            assert json.loads(resp.read())["value"] == 5  # 5, 505, 1005, 1505 and 2005
    entries = list_keys(KafkaSettings(bootstrap_servers=bootstrap_servers), agent.name, "count")
    expected = {f"k{i}": 4 + (1 if i < 100 else 0) for i in range(KEYS)}
    assert {e.key: json.loads(e.value) for e in entries if e.value is not None} == expected
    assert local == KEYS


@pytest.mark.parametrize("mode", ["exactly-once", "at-least-once"])
def test_sigkill_mid_stream_with_a_state_dir_restarts_warm_and_exact(
    mode: str, bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    """SIGKILL between memory writes and their commit: the local state on disk holds writes the
    changelog does not (an open transaction, unacknowledged writes); the restart reads only the
    tail, reverts those, and the fold ends exact (exactly-once: any reducer)."""
    src = topic_factory(partitions=3)
    name = f"durkill-{src}"
    log = tmp_path / "handled.log"
    events = _sequence(11)
    produce_events(bootstrap_servers, src, events)
    stderr = tmp_path / "agent.stderr"
    env = {
        "COUNTER_AGENT": name, "COUNTER_IN": src, "COUNTER_LOG": str(log),
        "COUNTER_DELAY_MS": "5", "AGENT_STDERR": str(stderr), "COUNTER_BACKEND": "rocksdb",
        "COUNTER_IDEMPOTENT": "1" if mode == "at-least-once" else "0",
        "AGENTSTREAM_AGENT_MODE": mode, "AGENTSTREAM_AGENT_INSTANCE_ID": "one",
        "AGENTSTREAM_AGENT_COMMIT_INTERVAL": "0.3", "AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "16",
        "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
        "AGENTSTREAM_MEMORY_STATE_DIR": str(tmp_path / "state"),
    }
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _handled(log) >= len(events) // 3, timeout=timedelta(seconds=90),
                 what="a third of the events handled before the kill")
    finally:
        proc.kill()
        proc.wait(10)
    assert _handled(log) < len(events), "killed mid-stream"
    before = stderr.read_text()
    proc = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        wait_for(lambda: _all_committed(bootstrap_servers, name, src, 3),
                 timeout=timedelta(seconds=150), what="every input committed after restart",
                 poll=0.5)
    finally:
        rc = _stop(proc)
    restart = stderr.read_text()[len(before):]
    assert rc == 0, restart[-3000:]
    assert "full restore" not in restart, restart[-3000:]
    assert "(from local checkpoints)" in restart, restart[-3000:]
    assert _state(bootstrap_servers, name) == _expected(events)
    titles = _state(bootstrap_servers, name, "titles")
    assert titles == {k: f"t{v['last']}" for k, v in _expected(events).items()}
