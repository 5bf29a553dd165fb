"""The agent runtime against a real broker: order, exactly-once-per-clean-run, back-pressure."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from tests.integration.agents.harness import (
    pr,
    produce_events,
    running,
    serde_for,
    wait_for,
)

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context
from agentstream.testing import consume_until, consumer


def _order_agent(name: str, topic: str, out: str, handled: dict[str, list[int]]) -> Agent:
    agent = Agent(name, emits=[RiskDetected])

    @agent.handler(PullRequestOpened, topic=topic)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await asyncio.sleep(random.uniform(0, 0.002))
        handled[event.meta.subject].append(event.number)
        await ctx.emit(
            RiskDetected(
                meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="k",
                severity=RiskSeverity.LOW, title=str(event.number), summary="s",
            ),
            topic=out,
        )

    return agent


def _check_order(n: int, keys: int, bootstrap_servers: str, topic_factory) -> None:
    src, out = topic_factory(partitions=4), topic_factory(partitions=4)
    events = [pr(f"k{i % keys}", i) for i in range(n)]
    produce_events(bootstrap_servers, src, events)
    handled: dict[str, list[int]] = defaultdict(list)
    agent = _order_agent(f"order-{src}", src, out, handled)
    with running(agent, bootstrap_servers, max_in_flight=64) as runner:
        wait_for(
            lambda: sum(map(len, handled.values())) >= n,
            timeout=timedelta(seconds=120), what=f"{n} handled events",
        )
        # Per-event counters reach Prometheus in batches: wait for the flush, then compare.
        labels_in = {"agent": agent.name, "topic": src, "type": PullRequestOpened.FULLNAME}
        labels_out = {"agent": agent.name, "topic": out, "type": RiskDetected.FULLNAME}
        wait_for(
            lambda: REGISTRY.get_sample_value("agentstream_events_out_total", labels_out) == n,
            timeout=timedelta(seconds=30), what="events_out_total flushed",
        )
        assert REGISTRY.get_sample_value("agentstream_events_in_total", labels_in) == n
        stats = runner.stats()
    assert stats.scheduler.max_running_seen <= 64
    assert stats.scheduler.max_running_seen > 1, "different keys should run concurrently"
    for key, numbers in handled.items():
        expected = [e.number for e in events if e.meta.subject == key]
        assert numbers == expected, f"order broken for {key}"
    serde = serde_for(bootstrap_servers)
    with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([out])
        got = consume_until(c, count=n, timeout=timedelta(seconds=60))
    outputs = [serde.decode(out, m.value()) for m in got]
    by_input = {e.meta.id: e for e in events}
    assert sorted(int(o.title) for o in outputs) == list(range(n))
    for o in outputs:  # meta filled from the input
        cause = by_input[o.meta.causation_id]
        assert o.meta.correlation_id == cause.meta.correlation_id
        assert o.meta.subject == cause.meta.subject
        assert o.meta.source == f"agent.{agent.name}"


def test_per_key_order_and_each_handled_once(bootstrap_servers: str, topic_factory) -> None:
    _check_order(2000, 100, bootstrap_servers, topic_factory)


@pytest.mark.slow
def test_per_key_order_10k(bootstrap_servers: str, topic_factory) -> None:
    _check_order(10_000, 100, bootstrap_servers, topic_factory)


def test_a_handler_keeps_its_task_across_awaits_and_its_timeouts_cancel_only_itself(
    bootstrap_servers: str, topic_factory
) -> None:
    """Handlers share worker tasks: each still runs whole inside one task, so asyncio.timeout
    (like anyio cancel scopes) cancels that handler only, never a neighbour's record."""
    src = topic_factory(partitions=2)
    n, keys = 200, 20
    produce_events(bootstrap_servers, src, [pr(f"k{i % keys}", i) for i in range(n)])
    handled: list[int] = []
    timed_out: list[int] = []
    agent = Agent(f"tasks-{src}")

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            # Only every tenth handler has a deadline (a load spike must not time out others).
            async with asyncio.timeout(0.01 if event.number % 10 == 0 else None):
                await asyncio.sleep(5 if event.number % 10 == 0 else 0.001)
        except TimeoutError:
            timed_out.append(event.number)
        assert asyncio.current_task() is task, "a handler moved to another task mid-call"
        handled.append(event.number)

    with running(agent, bootstrap_servers, max_in_flight=8) as runner:
        wait_for(lambda: len(handled) >= n, timeout=timedelta(seconds=60),
                 what=f"{n} handled events")
        stats = runner.stats()
    assert sorted(handled) == list(range(n)), "every input handled exactly once"
    assert sorted(timed_out) == list(range(0, n, 10))
    assert stats.scheduler.max_running_seen > 1
