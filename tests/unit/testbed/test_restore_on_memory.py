"""Dedupe markers, workflow runs and timers are restored off the rebalance callback: the group's
assignment completes while the restore runs, and no record of the partition is handled before
its markers, runs and timers are back."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from tests.unit.testbed.test_engine_on_memory import OUT, SRC, agent_with, pr, risk

from agentstream.events import PullRequestOpened, RiskDetected
from agentstream.runtime import Context
from agentstream.runtime._dedupe import DedupeStore
from agentstream.runtime._durable import Durable
from agentstream.testing import AgentTestbed, MemoryBus


async def _until(predicate: Any, timeout: float = 10) -> bool:
    """Poll a runner's state (set on its consumer thread) until ``predicate()`` or the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_the_assignment_completes_while_markers_restore_and_duplicates_wait_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled: list[str] = []

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        handled.append(event.meta.id)
        await ctx.emit(risk(ctx, event), topic=OUT)

    agent = agent_with(handle, name="restore-off-callback")
    event = pr("k1", 1)
    bus = MemoryBus(auto_create=1)
    try:
        async with AgentTestbed(agent, bus=bus) as first:
            await first.send(event, topic=SRC)
            await first.settle()
        assert handled == [event.meta.id]

        entered, release = threading.Event(), threading.Event()
        original = DedupeStore.restore

        def slow_restore(self: DedupeStore, *args: Any, **kwargs: Any) -> int:
            entered.set()
            if not release.wait(10):
                raise TimeoutError("the test never released the restore")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(DedupeStore, "restore", slow_restore)
        second = AgentTestbed(agent, bus=bus)
        starting = asyncio.ensure_future(second.__aenter__())
        try:
            assert await asyncio.to_thread(entered.wait, 10), "no dedupe restore started"
            # The upstream duplicate arrives while the markers are still being read.
            await second.send(event, topic=SRC)
            runner = second.runner
            assert runner is not None
            assert await _until(lambda: runner.stats().pump.assigned == ((SRC, 0),)), \
                "the rebalance callback waited for the restore"
            assert not runner.wait_ready(0), "ready before its markers were restored"
            assert handled == [event.meta.id], "a record was handled before its markers were back"
            release.set()
            await asyncio.wait_for(starting, 10)
            await second.settle()
            stats = runner.stats()
            emitted = second.emitted(OUT)
        finally:
            release.set()
            if starting.done() and starting.exception() is None:
                await second.__aexit__(None, None, None)
        assert handled == [event.meta.id], "the duplicate was recognised from the restored marker"
        assert stats.engine.deduplicated == 1
        assert [r.title for r in emitted if isinstance(r, RiskDetected)] == ["1"]
    finally:
        bus.close()


async def test_workflow_runs_and_timers_load_off_the_callback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled: list[int] = []

    async def handle(event: PullRequestOpened, ctx: Context) -> None:
        handled.append(event.number)
        await ctx.emit(risk(ctx, event), topic=OUT)

    agent = agent_with(handle, name="durable-off-callback")
    agent.timers = True
    loading = asyncio.Event()
    original = Durable._assign_now

    def held_assign(self: Durable, tps: list[tuple[str, int]]) -> list[Any]:
        return [*original(self, tps), loading.wait()]  # loaded once the test says so

    monkeypatch.setattr(Durable, "_assign_now", held_assign)
    bed = AgentTestbed(agent)
    starting = asyncio.ensure_future(bed.__aenter__())
    try:
        assert await _until(lambda: bed.runner is not None and bed.runner._pump is not None
                            and bed.runner.stats().pump.assigned == ((SRC, 0),)), \
            "the rebalance callback waited for the runs and timers to load"
        runner = bed.runner
        assert runner is not None
        await bed.send(pr("k1", 7), topic=SRC)
        assert not runner.wait_ready(0), "ready before its runs and timers were loaded"
        assert handled == [], "an input was handled before its partition's timers were armed"
        loading.set()
        await asyncio.wait_for(starting, 10)
        await bed.settle()
        assert handled == [7]
    finally:
        loading.set()
        if starting.done() and starting.exception() is None:
            await bed.__aexit__(None, None, None)
