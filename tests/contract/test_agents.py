"""The runtime's promises, asserted on Kafka and on the in-memory bus alike.

Each test runs the real ``AgentRunner`` (``tests.integration.agents.harness.running``) against
both transports: per-key order, at-least-once commits, retries, dead letters, dedupe,
exactly-once visibility, memory restored by a new process, timers, and two processes sharing a
group.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from confluent_kafka import TopicPartition

from agentstream.errors import NonRetryableError
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context, RetryPolicy, dlq_topic
from agentstream.testing import consume_until, consumer, produce
from tests.integration.agents.harness import pr, produce_events, running, serde_for, wait_for

pytestmark = pytest.mark.timeout(180)
T60 = timedelta(seconds=60)
MODES = ["at-least-once", "exactly-once"]


def _risk(ctx: Context, event: PullRequestOpened, title: str) -> RiskDetected:
    return RiskDetected(meta=ctx.meta(RiskDetected, subject=event.meta.subject),
                        based_on=(event.meta.id,), kind="contract", severity=RiskSeverity.LOW,
                        title=title, summary="")


def _outputs(bootstrap: str, topic: str, n: int) -> list[RiskDetected]:
    serde = serde_for(bootstrap)
    with consumer(bootstrap, **{"isolation.level": "read_committed"}) as c:
        c.subscribe([topic])
        got = consume_until(c, count=n, timeout=T60)
        got += c.consume(num_messages=10_000, timeout=1)
    return [serde.decode(topic, m.value()) for m in got if m.error() is None]


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    with consumer(bootstrap, group=group) as c:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    return [tp.offset for tp in tps]


@pytest.mark.parametrize("mode", MODES)
def test_each_key_in_order_each_input_once_offsets_committed(
    bootstrap_servers: str, topic_factory, mode: str
) -> None:
    src, out = topic_factory(partitions=3), topic_factory(partitions=3)
    agent = Agent(f"order-{src}", emits_to={out: [RiskDetected]})

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await asyncio.sleep(random.random() / 500)
        await ctx.emit(_risk(ctx, event, str(event.number)), topic=out)

    events = [pr(f"k{i % 25}", i) for i in range(500)]
    produce_events(bootstrap_servers, src, events)
    with running(agent, bootstrap_servers, mode=mode, max_in_flight=16,
                 commit_interval=timedelta(milliseconds=100)) as r:
        wait_for(lambda: r.stats().engine.handled >= 500, timeout=T60, what="500 handled")
        ends = Counter(zlib_partition(e.meta.subject, 3) for e in events)
        wait_for(lambda: _committed(bootstrap_servers, agent.name, src, 3) ==
                 [ends[p] for p in range(3)], timeout=T60, what="offsets committed to the end")
    got = _outputs(bootstrap_servers, out, 500)
    assert sorted(int(o.title) for o in got) == list(range(500))
    per_key: dict[str, list[int]] = defaultdict(list)
    for o in got:
        per_key[o.meta.subject].append(int(o.title))
    assert all(seq == sorted(seq) for seq in per_key.values()), "per-key order kept"


def zlib_partition(key: str, n: int) -> int:
    import zlib  # noqa: PLC0415

    return zlib.crc32(key.encode()) % n


def test_failures_are_retried_then_dead_lettered_with_the_reason(
    bootstrap_servers: str, topic_factory
) -> None:
    src, out = topic_factory(), topic_factory()
    agent = Agent(f"fail-{src}", emits_to={out: [RiskDetected]})
    attempts: Counter[int] = Counter()

    @agent.handler(PullRequestOpened, topic=src,
                   retry=RetryPolicy(initial_interval=timedelta(milliseconds=10),
                                     maximum_attempts=3))
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        attempts[event.number] += 1
        if event.number == 1 and ctx.attempt < 3:
            raise RuntimeError("flaky downstream")
        if event.number == 2:
            raise NonRetryableError("this pull request cannot be scored")
        await ctx.emit(_risk(ctx, event, str(event.number)), topic=out)

    produce_events(bootstrap_servers, src, [pr("a", 0), pr("b", 1), pr("c", 2)])
    produce(bootstrap_servers, src, [(b"d", b"\x00not an event")])
    with running(agent, bootstrap_servers, commit_interval=timedelta(milliseconds=100)) as r:
        wait_for(lambda: r.stats().engine.handled >= 2 and r.stats().engine.dead_letters >= 2,
                 timeout=T60, what="2 handled, 2 dead-lettered")
        assert r.stats().engine.retries == 2
    assert attempts == Counter({0: 1, 1: 3, 2: 1})
    assert sorted(int(o.title) for o in _outputs(bootstrap_servers, out, 2)) == [0, 1]
    dlq = dlq_topic(agent.name)
    serde = serde_for(bootstrap_servers)
    with consumer(bootstrap_servers) as c:
        c.subscribe([dlq])
        dead = [serde.decode(dlq, m.value()) for m in consume_until(c, count=2, timeout=T60)]
    by_stage = {str(d.stage): d for d in dead}
    assert set(by_stage) == {"decode", "handle"}
    assert "cannot be scored" in by_stage["handle"].error_message
    assert by_stage["handle"].attempts == 1
    assert by_stage["decode"].original_value == b"\x00not an event"


@pytest.mark.parametrize("mode", MODES)
def test_upstream_duplicates_are_handled_once(
    bootstrap_servers: str, topic_factory, mode: str
) -> None:
    src, out = topic_factory(partitions=2), topic_factory()
    agent = Agent(f"dedupe-{src}", emits_to={out: [RiskDetected]})
    handled: Counter[str] = Counter()

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        handled[event.meta.id] += 1
        await ctx.emit(_risk(ctx, event, str(event.number)), topic=out)

    events = [pr(f"k{i % 9}", i) for i in range(60)]
    produce_events(bootstrap_servers, src, events + events)
    with running(agent, bootstrap_servers, mode=mode,
                 commit_interval=timedelta(milliseconds=100)) as r:
        wait_for(lambda: r.stats().engine.handled + r.stats().engine.deduplicated >= 120,
                 timeout=T60, what="120 inputs seen")
        assert r.stats().engine.deduplicated == 60
    assert set(handled.values()) == {1}
    assert Counter(o.title for o in _outputs(bootstrap_servers, out, 60)).most_common(1)[0][1] == 1


def test_memory_is_restored_by_the_next_process(bootstrap_servers: str, topic_factory) -> None:
    src, out = topic_factory(partitions=2), topic_factory()

    def build() -> Agent:
        agent = Agent(f"mem-{src}", emits_to={out: [RiskDetected]},
                      stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1)])

        @agent.handler(PullRequestOpened, topic=src)
        async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
            before = ctx.store("count").get(event.meta.subject) or 0
            await ctx.emit(_risk(ctx, event, f"{event.meta.subject}:{before}"), topic=out)

        return agent

    produce_events(bootstrap_servers, src, [pr(f"k{i % 3}", i) for i in range(9)])
    with running(build(), bootstrap_servers, commit_interval=timedelta(milliseconds=100)) as r:
        wait_for(lambda: r.stats().engine.handled >= 9, timeout=T60, what="9 handled")
    produce_events(bootstrap_servers, src, [pr(f"k{i % 3}", 100 + i) for i in range(3)])
    with running(build(), bootstrap_servers, commit_interval=timedelta(milliseconds=100)) as r:
        wait_for(lambda: r.stats().engine.handled >= 3, timeout=T60, what="3 more handled")
    titles = [o.title for o in _outputs(bootstrap_servers, out, 12)]
    assert sorted(titles[-3:]) == ["k0:3", "k1:3", "k2:3"], titles


def test_a_scheduled_timer_fires_its_event(bootstrap_servers: str, topic_factory) -> None:
    src, out = topic_factory(), topic_factory()
    agent = Agent(f"timer-{src}", emits_to={out: [RiskDetected]}, timers=True)

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.schedule(_risk(ctx, event, f"reminder {event.number}"), topic=out,
                           after=timedelta(milliseconds=300))

    produce_events(bootstrap_servers, src, [pr("a", 7)])
    with running(agent, bootstrap_servers, commit_interval=timedelta(milliseconds=100)):
        got = _outputs(bootstrap_servers, out, 1)
    assert [o.title for o in got] == ["reminder 7"]


def test_two_processes_share_the_partitions_and_lose_nothing(
    bootstrap_servers: str, topic_factory
) -> None:
    src, out = topic_factory(partitions=4), topic_factory(partitions=4)
    agent = Agent(f"share-{src}", emits_to={out: [RiskDetected]})
    handled_by: dict[str, set[int]] = defaultdict(set)

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        handled_by[ctx.topic].add(ctx.partition)
        await ctx.emit(_risk(ctx, event, str(event.number)), topic=out)

    produce_events(bootstrap_servers, src, [pr(f"k{i % 20}", i) for i in range(200)])
    settings = {"commit_interval": timedelta(milliseconds=100)}
    with running(agent, bootstrap_servers, **settings) as a:
        wait_for(lambda: a.stats().engine.handled >= 200, timeout=T60, what="200 handled by a")
        with running(agent, bootstrap_servers, **settings) as b:
            wait_for(lambda: len(a.stats().pump.assigned) + len(b.stats().pump.assigned) == 4
                     and b.stats().pump.assigned != (), timeout=T60, what="partitions split")
            produce_events(bootstrap_servers, src, [pr(f"k{i % 20}", i) for i in range(200, 400)])
            wait_for(lambda: a.stats().engine.handled + b.stats().engine.handled >= 400,
                     timeout=T60, what="400 handled by a and b")
            assert b.stats().engine.handled > 0
    got = _outputs(bootstrap_servers, out, 400)
    assert set(int(o.title) for o in got) == set(range(400))
