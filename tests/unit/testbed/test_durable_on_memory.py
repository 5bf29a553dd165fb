"""Memory stores, workflows and timers of an agent, in memory on the virtual clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.unit.testbed.test_engine_on_memory import pr

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context
from agentstream.testing import AgentTestbed, MemoryBus
from agentstream.workflow import StepContext, Workflow

SRC, OUT = "events.code", "insights.risks"


def counting_agent() -> Agent:
    agent = Agent("counter", emits_to={OUT: [RiskDetected]},
                  stores=[StoreSpec("count", reducer=lambda n, e: (n or 0) + 1)])

    @agent.handler(PullRequestOpened, topic=SRC)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        before = ctx.store("count").get(event.meta.subject) or 0
        await ctx.emit(RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,),
                                    kind="count", severity=RiskSeverity.LOW,
                                    title=f"{event.meta.subject}:{before}", summary=""),
                       topic=OUT)

    return agent


async def test_a_memory_store_folds_and_the_next_process_restores_it() -> None:
    bus = MemoryBus(auto_create=1)
    try:
        async with AgentTestbed(counting_agent(), bus=bus) as bed:
            for i in range(3):
                await bed.send(pr("k", i), topic=SRC)
            await bed.settle()
        async with AgentTestbed(counting_agent(), bus=bus) as bed:
            await bed.send(pr("k", 3), topic=SRC)
            await bed.settle()
            titles = [r.title for r in bed.emitted(OUT)]
    finally:
        bus.close()
    assert titles == ["k:0", "k:1", "k:2", "k:3"]


async def test_an_event_started_workflow_runs_once_per_trigger() -> None:
    wf = Workflow("triage")

    @wf.step()
    async def classify(ctx: StepContext, inputs: Any) -> dict[str, Any]:
        return {"number": inputs.number, "big": inputs.number > 10}

    @wf.step()
    async def decide(ctx: StepContext, inputs: Any) -> str:
        return "review" if ctx.results["classify"]["big"] else "merge"

    agent = Agent("wf-agent")
    agent.workflow(wf, trigger=PullRequestOpened, topic=SRC, completion_topic="wf.done")
    first, second = pr("octo/repo#1", 1), pr("octo/repo#42", 42)
    async with AgentTestbed(agent, settings={"dedupe_window": timedelta(0)}) as bed:
        for e in (first, second, first):
            await bed.send(e, topic=SRC)
        await bed.settle()
        await bed.wait_for(lambda: len(bed.bus.raw("wf.done")) >= 2, what="2 completions")
        done = [json.loads(v) for _, _, _, v in bed.bus.raw("wf.done") if v]
    decided = {c["results"]["classify"]["number"]: c["results"]["decide"] for c in done}
    assert decided == {1: "merge", 42: "review"} and len(done) == 2
