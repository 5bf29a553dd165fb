"""A test agent with a workflow and timers, for broker-fault tests.

Each PullRequestOpened on DURABLE_TIMERS_IN schedules a RiskDetected on DURABLE_OUT after
DURABLE_AFTER seconds; each one on DURABLE_RUNS_IN starts a two-step workflow run whose steps
append "<run id> <step>" to DURABLE_LOG (fsynced) and whose completion goes to DURABLE_DONE.
DURABLE_HANDLED (file): "<number> <partition> <offset> <timer id>" per scheduled timer.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context
from agentstream.workflow import StepContext, Workflow

_OUT = os.environ.get("DURABLE_OUT", "out")
_AFTER = timedelta(seconds=float(os.environ.get("DURABLE_AFTER", "5")))
_LOG = os.environ.get("DURABLE_LOG")
_HANDLED = os.environ.get("DURABLE_HANDLED")

agent = Agent(os.environ.get("DURABLE_AGENT", "durable"), version="1.0.0", timers=True,
              emits_to={_OUT: [RiskDetected]})
wf = Workflow(os.environ.get("DURABLE_WORKFLOW", "durable-wf"))


def _side_effect(ctx: StepContext) -> None:
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"{ctx.run_id} {ctx.step}\n".encode())
        os.fsync(fd)
        os.close(fd)


@wf.step()
async def first(ctx: StepContext, inputs: Any) -> int:
    _side_effect(ctx)
    return int(inputs.number)


@wf.step()
async def second(ctx: StepContext, inputs: Any) -> int:
    await asyncio.sleep(0.5)
    _side_effect(ctx)
    return int(ctx.results["first"]) * 2


agent.workflow(wf, trigger=PullRequestOpened, topic=os.environ.get("DURABLE_RUNS_IN", "runs"),
               completion_topic=os.environ.get("DURABLE_DONE", "done"))


@agent.handler(PullRequestOpened, topic=os.environ.get("DURABLE_TIMERS_IN", "timers"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    reminder = RiskDetected(
        meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="reminder",
        severity=RiskSeverity.LOW, title=str(event.number), summary=event.title,
    )
    timer_id = await ctx.schedule(reminder, topic=_OUT, after=_AFTER)
    if _HANDLED:
        fd = os.open(_HANDLED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"{event.number} {ctx.partition} {ctx.offset} {timer_id}\n".encode())
        os.close(fd)
