"""A rebalance while the consumer is paused by back-pressure must not strand the partitions the
instance keeps.

librdkafka keeps a partition's pause flag across rebalances when the partition stays with (or
comes back to) the same consumer — under KIP-848's incremental assignment and under eager
classic alike. Here an outside back-pressure source (as the LLM rate limiter is) pauses the first
instance; a second instance joins; the source lets go as soon as the first instance is revoked;
every input must then be handled.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from tests.integration.agents.harness import pr, produce_events, running, wait_for

from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, AgentRunner, Context, pressure

pytestmark = pytest.mark.timeout(240)


class _UntilRevoked:
    """Asks every agent of the process to pause until ``runner`` has been revoked once."""

    def __init__(self) -> None:
        self.runner: AgentRunner | None = None

    def concurrency_cap(self) -> int | None:
        return None

    def fetch_paused(self) -> bool:
        runner = self.runner
        if runner is None or runner._pump is None:
            return True
        return runner._pump.stats.revocations == 0


@pytest.mark.parametrize("protocol", ["consumer", "classic"])
def test_partitions_kept_across_a_rebalance_while_paused_are_resumed(
    protocol: str, bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=4)
    name = f"pause-{protocol}-{src}"
    n = 40
    events = [pr(f"k{i}", i) for i in range(n)]
    produce_events(bootstrap_servers, src, events)
    handled: set[int] = set()
    lock = threading.Lock()
    agent = Agent(name)

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        with lock:
            handled.add(event.number)

    source = _UntilRevoked()
    pressure.register(source)
    settings = {"group_protocol": protocol, "shutdown_timeout": timedelta(seconds=5)}
    try:
        with running(agent, bootstrap_servers, **settings) as a:
            source.runner = a
            wait_for(lambda: a.stats().pump.paused, timeout=timedelta(seconds=30),
                     what="the first instance pausing under back-pressure")
            with running(agent, bootstrap_servers, **settings) as b:
                wait_for(lambda: a.stats().pump.revocations > 0 and bool(a.stats().pump.assigned)
                         and bool(b.stats().pump.assigned), timeout=timedelta(seconds=60),
                         what="the partitions split between both instances")
                wait_for(lambda: len(handled) == n, timeout=timedelta(seconds=30),
                         what=f"all {n} inputs handled after the rebalance")
    finally:
        pressure.unregister(source)
