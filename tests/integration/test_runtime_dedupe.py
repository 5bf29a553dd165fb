"""Dedupe on event id in both delivery modes: upstream duplicates, across a restart."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from tests.integration.agents.harness import committed_to_end, pr, running, serde_for, wait_for

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context
from agentstream.testing import consume_until, consumer, produce

MODES = ["at-least-once", "exactly-once"]


def _agent(name: str, src: str, out: str, handled: Counter[str]) -> Agent:
    agent = Agent(name, emits_to={out: [RiskDetected]})

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        handled[event.meta.id] += 1
        await ctx.emit(
            RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="dup",
                         severity=RiskSeverity.LOW, title=str(event.number), summary=""),
            topic=out,
        )

    return agent


def _committed_outputs(bootstrap: str, out: str, n: int) -> Counter[str]:
    """Output titles visible to a read_committed reader, duplicates counted."""
    serde = serde_for(bootstrap)
    with consumer(bootstrap, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([out])
        got = consume_until(c, until=lambda ms: len(ms) >= n, timeout=timedelta(seconds=60))
        got += c.consume(num_messages=10_000, timeout=2)
    return Counter(serde.decode(out, m.value()).title for m in got if m.error() is None)


@pytest.mark.parametrize("mode", MODES)
def test_upstream_duplicates_are_handled_once_also_after_a_restart(
    bootstrap_servers: str, topic_factory, mode: str
) -> None:
    src, out = topic_factory(partitions=3), topic_factory(partitions=3)
    name = f"dup-{src}"
    serde = serde_for(bootstrap_servers)
    n = 300
    records = [(e.meta.subject.encode(), serde.encode(src, e))
               for e in (pr(f"k{i % 30}", i) for i in range(n))]
    # A connector that retried wrote every event twice: same bytes, same event id.
    produce(bootstrap_servers, src, records + records)
    handled: Counter[str] = Counter()
    agent = _agent(name, src, out, handled)
    with running(agent, bootstrap_servers, mode=mode, commit_interval=timedelta(seconds=0.2)) as r:
        wait_for(lambda: r.stats().engine.handled + r.stats().engine.deduplicated >= 2 * n,
                 timeout=timedelta(seconds=60), what=f"{2 * n} inputs handled or deduplicated")
        wait_for(lambda: committed_to_end(bootstrap_servers, name, src, 3),
                 timeout=timedelta(seconds=30), what="offsets committed past the last input")
        assert r.stats().engine.deduplicated == n
    assert len(handled) == n and set(handled.values()) == {1}

    # The same events once more, to a new process of the agent: the markers are read back.
    produce(bootstrap_servers, src, records)
    with running(agent, bootstrap_servers, mode=mode) as r:
        wait_for(lambda: r.stats().engine.deduplicated >= n, timeout=timedelta(seconds=60),
                 what=f"{n} duplicates recognised after the restart")
        assert r.stats().engine.handled == 0
    assert set(handled.values()) == {1}
    outputs = _committed_outputs(bootstrap_servers, out, n)
    assert len(outputs) == n and set(outputs.values()) == {1}, "each output committed once"
