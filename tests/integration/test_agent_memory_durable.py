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
from tests.integration.agents.harness import pr, produce_events, running, wait_for

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
    """Every partition's local checkpoint is at its changelog's last data record."""
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
