"""Poison inputs go to dlq.<agent> with the right stage; replay handles them once; back-pressure."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from tests.integration.agents.harness import pr, produce_events, running, serde_for, wait_for
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.cli._dlq import read_dead_letters
from agentstream.config import KafkaSettings
from agentstream.errors import NonRetryableError
from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, Context, RetryPolicy
from agentstream.testing import produce

FAST_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=20), maximum_attempts=2)


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_poison_inputs_are_dead_lettered_and_replayed_once(
    bootstrap_servers: str, topic_factory, mode: str
) -> None:
    src = topic_factory(partitions=2)
    name = f"poison-{src}"
    fixed = threading.Event()
    handled: Counter[str] = Counter()
    agent = Agent(name)

    @agent.handler(PullRequestOpened, topic=src, retry=FAST_RETRY,
                   timeout=timedelta(milliseconds=300))
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        if not fixed.is_set():
            if event.title == "boom":
                raise RuntimeError("boom")
            if event.title == "slow":
                await asyncio.sleep(5)
            if event.title == "nope":
                raise NonRetryableError("bad input")
        handled[event.title] += 1

    serde = serde_for(bootstrap_servers)
    events = [pr("a", 1, title="good1"), pr("b", 2, title="boom"), pr("c", 3, title="slow"),
              pr("d", 4, title="nope")]
    produce_events(bootstrap_servers, src, events, serde)
    unknown_fp = b"\xc3\x01" + os.urandom(8) + b"\x00\x02"
    produce(bootstrap_servers, src, [(b"e", b"\x00garbage"), (b"f", unknown_fp), (b"g", None)])
    produce_events(bootstrap_servers, src, [pr("a", 5, title="good2")], serde)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)

    with running(agent, bootstrap_servers, max_in_flight=8, mode=mode) as runner:
        wait_for(lambda: runner.stats().engine.dead_letters >= 6 and handled["good2"] == 1,
                 timeout=timedelta(seconds=60), what="6 dead letters and good2 handled")
        # Exactly-once, dead letters become visible when their transaction commits.
        wait_for(lambda: len(read_dead_letters(kafka, name)) >= 6,
                 timeout=timedelta(seconds=30), what="6 committed dead letters")
        letters = {(e.letter.event_type and e.letter.original_value and
                    serde.decode(src, e.letter.original_value).title) or e.letter.original_key:
                   e.letter for e in read_dead_letters(kafka, name)}
        assert set(letters) == {"boom", "slow", "nope", b"e", b"f", b"g"}
        assert letters["boom"].stage.value == "handle" and letters["boom"].attempts == 2
        assert letters["boom"].error_type == "RuntimeError"
        assert letters["slow"].error_type == "TimeoutError" and "timeout" in letters[
            "slow"].error_message
        assert letters["nope"].attempts == 1 and letters["nope"].error_type == "NonRetryableError"
        for raw in (b"e", b"f", b"g"):
            assert letters[raw].stage.value == "decode"
            assert letters[raw].error_type == "DecodeError"
        assert "unknown-fingerprint" in letters[b"f"].error_message
        assert letters[b"e"].original_value == b"\x00garbage"
        assert "tombstone" in letters[b"g"].error_message and letters[b"g"].original_value is None
        assert letters["boom"].first_failure_at <= letters["boom"].last_failure_at
        assert handled["good1"] == 1

        fixed.set()
        cli = CliRunner()
        env = {"AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers}
        listed = cli.invoke(app, ["dlq", "list", name], env=env)
        assert listed.exit_code == 0, listed.output
        assert listed.output.count("\thandle\t") == 3
        for _ in range(2):  # the second replay of the same dead letters must be a no-op
            res = cli.invoke(app, ["dlq", "replay", name, "--type", "PullRequestOpened"], env=env)
            assert res.exit_code == 0, res.output
        wait_for(lambda: all(handled[t] >= 1 for t in ("boom", "slow", "nope")),
                 timeout=timedelta(seconds=60), what="replayed events handled")
        wait_for(lambda: runner.stats().engine.deduplicated >= 3,
                 timeout=timedelta(seconds=60), what="second replay recognised as duplicate")
    assert handled == Counter({"good1": 1, "good2": 1, "boom": 1, "slow": 1, "nope": 1})


def test_back_pressure_pauses_fetching_and_bounds_in_flight(
    bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=2)
    name = f"bp-{src}"
    gate = threading.Event()
    handled: list[int] = []
    agent = Agent(name)

    @agent.handler(PullRequestOpened, topic=src)
    async def stuck(event: PullRequestOpened, ctx: Context) -> None:
        while not gate.is_set():
            await asyncio.sleep(0.01)
        handled.append(event.number)

    produce_events(bootstrap_servers, src, [pr(f"k{i % 50}", i) for i in range(200)])
    with running(agent, bootstrap_servers, max_in_flight=4, max_pending=8) as runner:
        wait_for(lambda: runner.stats().pump.paused and runner.stats().running == 4,
                 timeout=timedelta(seconds=30), what="consumer paused with 4 running")
        stats = runner.stats()
        assert stats.pending <= 8
        # The gauge is refreshed with the batched metrics (every 50 ms).
        wait_for(
            lambda: REGISTRY.get_sample_value("agentstream_in_flight", {"agent": name}) == 4,
            timeout=timedelta(seconds=10), what="in-flight gauge at the bound",
        )
        gate.set()
        wait_for(lambda: len(handled) == 200, timeout=timedelta(seconds=60),
                 what="all 200 handled after release")
        stats = runner.stats()
    assert stats.scheduler.max_running_seen == 4
    assert stats.scheduler.max_pending_seen <= 8
    assert stats.pump.pauses >= 1
    assert not stats.pump.paused
