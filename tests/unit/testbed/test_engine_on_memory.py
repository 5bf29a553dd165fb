"""The engine, scheduler and committer on the in-memory transport: order, commit order,
acknowledgement failures, retries on a virtual clock, exactly-once, revocation mid-flight."""

from __future__ import annotations

import asyncio
import gc
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context, RetryPolicy
from agentstream.schemas import new_meta
from agentstream.testing import AgentTestbed, MemoryBus

OUT = "insights.risks"
SRC = "events.code"


def pr(subject: str, number: int) -> PullRequestOpened:
    return PullRequestOpened(meta=new_meta(PullRequestOpened, source="test", subject=subject),
                             repo="octo/repo", number=number, title="t", url=f"u/{number}",
                             author="a", base_branch="main", head_branch="f",
                             created_at=datetime.now(UTC))


def risk(ctx: Context, event: PullRequestOpened) -> RiskDetected:
    return RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="t",
                        severity=RiskSeverity.LOW, title=str(event.number), summary="")


def agent_with(handler, *, retry: RetryPolicy | None = None, name: str = "engine-test") -> Agent:
    agent = Agent(name, emits_to={OUT: [RiskDetected]})
    agent.handler(PullRequestOpened, topic=SRC, retry=retry or RetryPolicy())(handler)
    return agent


def counting(handled: Counter[int]):
    """A handler that counts its calls per input number and emits one risk per input."""
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        handled[event.number] += 1
        await ctx.emit(risk(ctx, event), topic=OUT)

    return handle


async def test_per_key_order_under_concurrency() -> None:
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        await asyncio.sleep(0)  # interleave keys
        await ctx.emit(risk(ctx, event), topic=OUT)

    async with AgentTestbed(agent_with(handle), partitions=3,
                            settings={"max_in_flight": 8}) as bed:
        for i in range(300):
            await bed.send(pr(f"k{i % 10}", i), topic=SRC)
        await bed.settle()
        out = bed.emitted(OUT)
        committed = bed.bus.committed(bed.group)
        ends = bed.bus.ends(SRC)
    assert sorted(int(r.title) for r in out) == list(range(300))
    seqs: dict[int, list[int]] = {}
    for r in out:
        seqs.setdefault(int(r.title) % 10, []).append(int(r.title))
    assert all(s == sorted(s) for s in seqs.values())
    assert committed == {(SRC, p): end for p, end in ends.items()}


async def test_a_retry_waits_on_the_virtual_clock_and_nothing_is_committed_meanwhile() -> None:
    calls: list[datetime] = []

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        calls.append(datetime.now(UTC))
        if ctx.attempt < 3:
            raise ConnectionError("model endpoint down")
        await ctx.emit(risk(ctx, event), topic=OUT)

    policy = RetryPolicy(initial_interval=timedelta(minutes=5), jitter=0)
    async with AgentTestbed(agent_with(handle, retry=policy)) as bed:
        start = bed.clock.now()
        await bed.send(pr("a", 1), topic=SRC)
        runner = bed.runner
        assert runner is not None
        await asyncio.to_thread(bed.bus.wait, lambda: runner.stats().waiting_retry == 1, 5)
        assert bed.bus.committed(bed.group).get((SRC, 0), 0) == 0, "uncommitted while retrying"
        assert bed.emitted(OUT) == []
        await bed.settle()
        assert bed.clock.now() - start == timedelta(minutes=5 + 10)  # 5 min, then 10 min
        assert len(bed.emitted(OUT)) == 1 and bed.dead_letters() == []
    assert len(calls) == 3


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
async def test_a_failed_acknowledgement_runs_the_input_again_before_its_offset_commits(
    mode: str,
) -> None:
    """At-least-once retries the attempt; exactly-once aborts the transaction (the write failed
    after its input finished) and the input runs again."""
    handled = Counter[int]()
    async with AgentTestbed(agent_with(counting(handled)), settings={"mode": mode}) as bed:
        bed.bus.create_topic(OUT)
        bed.bus.fail_writes(OUT, 1)
        await bed.send(pr("a", 1), topic=SRC)
        await bed.settle()
        assert [r.title for r in bed.emitted(OUT)] == ["1"]
        assert bed.dead_letters() == []
    assert handled[1] == 2


async def test_a_keys_next_input_runs_before_the_acknowledgement_and_again_after_a_retry() -> None:
    """Input 2 starts once input 1's handler returned, not once its write is acknowledged; when
    that write fails, input 1 runs again and then input 2 again, so the key's last writes come
    in input order (the first write of 2 is a duplicate, as after a crash)."""
    handled = Counter[int]()
    async with AgentTestbed(agent_with(counting(handled))) as bed:
        bed.bus.create_topic(OUT)
        bed.bus.fail_writes(OUT, 1)
        with bed.bus.acks_held():
            await bed.send(pr("a", 1), topic=SRC)
            await bed.send(pr("a", 2), topic=SRC)
            await bed.wait_for(lambda: handled[2] == 1, what="input 2 handled, 1 unacknowledged")
            assert bed.bus.committed(bed.group).get((SRC, 0), 0) == 0
        await bed.settle()
        assert [r.title for r in bed.emitted(OUT)] == ["2", "1", "2"]
        assert bed.dead_letters() == []
        assert bed.bus.committed(bed.group) == {(SRC, 0): 2}
    assert handled == {1: 2, 2: 2}


async def test_an_input_rolled_back_while_it_waits_for_a_retry_does_not_run_again() -> None:
    """Input 2's handler fails and waits for its retry; then input 1's write fails, which rolls
    input 2 back: only its new run may go on, or its outputs could come after later ones."""
    calls = Counter[int]()

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        calls[event.number] += 1
        if event.number == 2 and calls[2] == 1:
            raise ConnectionError("model endpoint down")
        await ctx.emit(risk(ctx, event), topic=OUT)

    policy = RetryPolicy(initial_interval=timedelta(minutes=1), jitter=0)
    async with AgentTestbed(agent_with(handle, retry=policy)) as bed:
        bed.bus.create_topic(OUT)
        bed.bus.fail_writes(OUT, 1)
        runner = bed.runner
        assert runner is not None
        with bed.bus.acks_held():
            await bed.send(pr("a", 1), topic=SRC)
            await bed.send(pr("a", 2), topic=SRC)
            await asyncio.to_thread(bed.bus.wait, lambda: runner.stats().waiting_retry == 1, 5)
        await bed.settle()
        assert [r.title for r in bed.emitted(OUT)] == ["1", "2"]
        assert bed.dead_letters() == []
    assert calls == {1: 2, 2: 2}, "input 2: its failed first run and its run after input 1"


async def test_a_redelivery_of_an_input_waiting_for_its_predecessor_is_a_duplicate() -> None:
    """Input 2 writes nothing, so it is done at once, but it finishes (its dedupe marker) only
    after input 1's write is acknowledged; its redelivery (3) starts meanwhile and must still be
    recognised as a duplicate."""
    calls = Counter[int]()

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        calls[event.number] += 1
        if event.number == 1:
            await ctx.emit(risk(ctx, event), topic=OUT)

    async with AgentTestbed(agent_with(handle)) as bed:
        bed.bus.create_topic(OUT)
        runner = bed.runner
        assert runner is not None
        twice = pr("a", 2)
        with bed.bus.acks_held():
            await bed.send(pr("a", 1), topic=SRC)
            await bed.send(twice, topic=SRC)
            await bed.send(twice, topic=SRC)
            for _ in range(500):  # the redelivery is decided while input 1 is unacknowledged
                if runner.stats().engine.deduplicated + calls[2] >= 2:
                    break
                await asyncio.sleep(0.01)
            assert runner.stats().scheduler.finished == 0
        await bed.settle()
        assert [r.title for r in bed.emitted(OUT)] == ["1"]
    assert calls == {1: 1, 2: 1}


async def test_writes_that_keep_failing_dead_letter_the_input_at_the_emit_stage() -> None:
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.emit(risk(ctx, event), topic=OUT)

    policy = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(seconds=1))
    async with AgentTestbed(agent_with(handle, retry=policy)) as bed:
        bed.bus.create_topic(OUT)
        bed.bus.fail_writes(OUT, 2)
        await bed.send(pr("a", 1), topic=SRC)
        await bed.settle()
        await bed.send(pr("b", 2), topic=SRC)
        await bed.settle()
        [dead] = bed.dead_letters()
        assert str(dead.stage) == "emit" and dead.attempts == 2
        assert "fault injected" in dead.error_message
        assert [r.title for r in bed.emitted(OUT)] == ["2"]


async def test_exactly_once_outputs_become_visible_with_the_commit() -> None:
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.emit(risk(ctx, event), topic=OUT)

    async with AgentTestbed(agent_with(handle), partitions=2,
                            settings={"mode": "exactly-once"}) as bed:
        for i in range(50):
            await bed.send(pr(f"k{i % 5}", i), topic=SRC)
        await bed.settle()
        assert sorted(int(r.title) for r in bed.emitted(OUT)) == list(range(50))
        assert bed.bus.aborted(OUT) == 0
        assert len(bed.bus.raw(OUT, committed_only=False)) == 50


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
async def test_an_input_running_at_revocation_is_handled_by_the_next_owner(mode: str) -> None:
    # Two partitions; the second owner gets partition 1 when it joins.
    key = next(f"k{i}" for i in range(100) if zlib.crc32(f"k{i}".encode()) % 2 == 1)
    stuck = asyncio.Event()
    first_call = True

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        nonlocal first_call
        if event.meta.subject == key and first_call:
            first_call = False
            stuck.set()
            await asyncio.Event().wait()  # never returns: cancelled by the revocation
        await ctx.emit(risk(ctx, event), topic=OUT)

    agent = agent_with(handle, name="revocation")
    settings = {"shutdown_timeout": timedelta(milliseconds=200), "mode": mode}
    bus = MemoryBus(auto_create=2)
    try:
        async with AgentTestbed(agent, bus=bus, partitions=2, settings=settings) as first:
            await first.send(pr(key, 1), topic=SRC)
            await asyncio.wait_for(stuck.wait(), 5)
            async with AgentTestbed(agent, bus=bus, partitions=2, settings=settings) as second:
                await second.send(pr(key, 2), topic=SRC)
                await second.settle()
                out = [int(r.title) for r in second.emitted(OUT)]
                assert second.runner is not None and first.runner is not None
                assert second.runner.stats().pump.assigned == ((SRC, 1),)
                assert first.runner.stats().pump.assigned == ((SRC, 0),)
        assert out == [1, 2], "the abandoned input first, then the next one of its key"
    finally:
        bus.close()


async def test_exactly_once_writes_that_keep_failing_dead_letter_after_the_attempts() -> None:
    attempts: list[int] = []

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        attempts.append(ctx.attempt)
        await ctx.emit(risk(ctx, event), topic=OUT)

    policy = RetryPolicy(maximum_attempts=3)
    async with AgentTestbed(agent_with(handle, retry=policy),
                            settings={"mode": "exactly-once"}) as bed:
        bed.bus.create_topic(OUT)
        bed.bus.fail_writes(OUT, 3)
        await bed.send(pr("a", 1), topic=SRC)
        await bed.settle()
        [dead] = bed.dead_letters()
        assert bed.emitted(OUT) == []
    assert str(dead.stage) == "emit" and dead.attempts == 3
    assert "fault injected" in dead.error_message
    assert attempts == [1, 2, 3]


async def test_handled_inputs_leave_no_cyclic_garbage() -> None:
    """An input's record, message and context are freed as soon as it is finished, by reference
    counting: a reference cycle per input (an attempt's acknowledgements holding the callback that
    holds the attempt) would leave them all to the cyclic collector, whose passes then walk every
    buffered input."""
    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.emit(risk(ctx, event), topic=OUT)

    async with AgentTestbed(agent_with(handle), partitions=2,
                            settings={"gc_tuning": False}) as bed:
        await bed.send(pr("warm", 0), topic=SRC)
        await bed.settle()
        gc.collect()
        gc.disable()
        try:
            for i in range(1, 401):
                await bed.send(pr(f"k{i % 20}", i), topic=SRC)
            await bed.settle()
            garbage = gc.collect()
        finally:
            gc.enable()
        assert len(bed.emitted(OUT)) == 401
    assert garbage < 400, f"{garbage} objects in reference cycles after 400 inputs"


async def test_a_handler_past_its_timeout_is_retried_then_dead_lettered_and_others_go_on() -> None:
    calls: Counter[int] = Counter()

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        calls[event.number] += 1
        if event.number == 1:
            await asyncio.sleep(30)  # hangs: the handler's timeout ends it
        await ctx.emit(risk(ctx, event), topic=OUT)

    agent = Agent("timeout-test", emits_to={OUT: [RiskDetected]})
    agent.handler(PullRequestOpened, topic=SRC, timeout=timedelta(milliseconds=50),
                  retry=RetryPolicy(maximum_attempts=2, initial_interval=timedelta(0)))(handle)
    async with AgentTestbed(agent, settings={"max_in_flight": 1}) as bed:
        for n in (1, 2, 3):
            await bed.send(pr(f"k{n}", n), topic=SRC)
        await bed.settle()
        letters = bed.dead_letters()
        out = sorted(int(r.title) for r in bed.emitted(OUT))
    assert out == [2, 3], "the other inputs ran in the same worker after the timeout"
    assert calls[1] == 2
    [letter] = letters
    assert letter.error_type == "TimeoutError" and letter.attempts == 2
    assert "exceeded its timeout of 0.05s" in letter.error_message
