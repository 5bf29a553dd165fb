"""``agentstream memory forget`` reaches a running agent: evicted at once, never written back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition
from tests.integration.agents.harness import pr, produce_events, running, wait_for
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.events import PullRequestOpened
from agentstream.memory import FORGET_ECHO, FORGET_HEADER, StoreSpec, changelog_topic
from agentstream.runtime import Agent, Context
from agentstream.testing import consumer

WAIT = timedelta(seconds=60)


def _get(port: int, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _count(port: int | None, key: str) -> int | None:
    """The running agent's ``count`` of ``key`` (``None``: it does not hold the key)."""
    assert port is not None
    status, body = _get(port, f"/memory/count/{key}")
    return body["value"] if status == 200 else None


def _records(bootstrap: str, topic: str, key: str) -> list[tuple[Any, bytes | None]]:
    """Every committed changelog record of ``key``: (decoded value, forget header value)."""
    out: list[tuple[Any, bytes | None]] = []
    with consumer(bootstrap, **{"isolation.level": "read_committed",
                                "enable.partition.eof": True}) as c:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in parts:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        msgs: list[Message] = []
        wait_for(lambda: _drain(c, msgs, ends), timeout=WAIT, what=f"{topic} read to its end")
    for m in sorted(msgs, key=lambda m: (m.partition() or 0, m.offset() or 0)):
        if m.key() == key.encode():
            header = dict(m.headers() or []).get(FORGET_HEADER)
            value = m.value()
            out.append((None if value is None else json.loads(value), header))
    return out


def _drain(c: Any, msgs: list[Message], ends: dict[int, int]) -> bool:
    for m in c.consume(500, timeout=0.2):
        err = m.error()
        if err is None:
            msgs.append(m)
            if (m.offset() or 0) + 1 >= ends.get(m.partition() or 0, 0):
                ends.pop(m.partition() or 0, None)
        elif err.code() == KafkaError._PARTITION_EOF:  # before the watermark: txn markers
            ends.pop(m.partition() or 0, None)
    return not ends


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_forget_evicts_from_the_running_agent_and_the_next_event_starts_empty(
    mode: str, bootstrap_servers: str, topic_factory: Any
) -> None:
    src = topic_factory(partitions=2)
    agent = Agent(f"forget-{src}", stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1)])
    seen: list[int | None] = []

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        # The handler runs before its event is folded: what the store held for the key.
        seen.append(ctx.store("count").get(event.meta.subject))

    settings: dict[str, Any] = {"ops_port": 0, "mode": mode, "commit_interval": 0.2}
    produce_events(bootstrap_servers, src, [pr(k, i) for i, k in enumerate(["K", "O"] * 5)])
    with running(agent, bootstrap_servers, **settings) as runner:
        wait_for(lambda: runner.stats().engine.handled == 10, timeout=WAIT,
                 what="the first ten events handled")
        assert (_count(runner.ops_port, "K"), _count(runner.ops_port, "O")) == (5, 5)
        # `memory forget` reads the committed changelog: wait for a commit after the handling
        # (exactly-once: the transaction holding the changelog writes).
        commits = runner.stats().commits
        wait_for(lambda: runner.stats().commits > commits, timeout=WAIT, what="a commit")

        out = CliRunner().invoke(
            app, ["memory", "forget", agent.name, "count", "K"],
            env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers},
        )
        assert out.exit_code == 0 and "tombstone written" in out.output, out.output
        wait_for(lambda: _count(runner.ops_port, "K") is None, timeout=WAIT,
                 what="K evicted from the running agent")
        assert _count(runner.ops_port, "O") == 5

        produce_events(bootstrap_servers, src, [pr("K", 100)])
        wait_for(lambda: runner.stats().engine.handled == 11, timeout=WAIT,
                 what="the event after the forget handled")
        assert seen[-1] is None  # the handler, too, saw an empty state
        wait_for(lambda: _count(runner.ops_port, "K") == 1, timeout=WAIT,
                 what="K folded from an empty state")

    # In the changelog: the five folds, the CLI's tombstone, the agent's echo, then the new fold.
    topic = changelog_topic(agent.name, "count")
    assert _records(bootstrap_servers, topic, "K") == [
        (1, None), (2, None), (3, None), (4, None), (5, None),
        (None, b"1"), (None, FORGET_ECHO), (1, None),
    ]
    # A restart restores exactly that: K starts over, O is untouched.
    with running(agent, bootstrap_servers, **settings) as runner:
        assert (_count(runner.ops_port, "K"), _count(runner.ops_port, "O")) == (1, 5)


def test_only_the_forgotten_key_is_evicted_and_its_echo_evicts_nothing(
    bootstrap_servers: str, topic_factory: Any
) -> None:
    """The follower acts on the CLI's tombstone only: neither the agent's own writes nor its echo
    tombstone evict anything, so folds of other keys (and of the key later) carry on."""
    src = topic_factory(partitions=1)
    agent = Agent(f"forget2-{src}", stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1)])

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        return None

    produce_events(bootstrap_servers, src, [pr("A", 1), pr("B", 2)])
    with running(agent, bootstrap_servers, ops_port=0) as runner:
        wait_for(lambda: runner.stats().engine.handled == 2, timeout=WAIT, what="events handled")
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers}
        out = CliRunner().invoke(app, ["memory", "forget", agent.name, "count", "A"], env=env)
        assert out.exit_code == 0, out.output
        wait_for(lambda: _count(runner.ops_port, "A") is None, timeout=WAIT, what="A evicted")
        # Forgetting A again: the CLI finds nothing live, so writes nothing.
        again = CliRunner().invoke(app, ["memory", "forget", agent.name, "count", "A"], env=env)
        assert "nothing to forget" in again.output
        produce_events(bootstrap_servers, src, [pr("B", 3)])
        wait_for(lambda: _count(runner.ops_port, "B") == 2, timeout=WAIT, what="B folded on")
    topic = changelog_topic(agent.name, "count")
    assert _records(bootstrap_servers, topic, "A") == [(1, None), (None, b"1"), (None, FORGET_ECHO)]
