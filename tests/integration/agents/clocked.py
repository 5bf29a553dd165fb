"""An agent whose outputs carry the wall clock (as a model's sampling or a "3 h ago" would make
them differ between runs), and a candidate of it with a lower threshold. Topics and name from
the environment (``CLOCKED_*``), so ``agentstream shadow`` can load both in a child process."""

from __future__ import annotations

import os
import time

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context


def make(name: str, src: str, out: str, limit: int) -> Agent:
    agent = Agent(name, version=f"limit-{limit}", emits_to={out: [RiskDetected]})

    @agent.handler(PullRequestOpened, topic=src)
    async def on_opened(event: PullRequestOpened, ctx: Context) -> None:
        if (event.additions or 0) > limit:
            await ctx.emit(RiskDetected(
                meta=ctx.meta(RiskDetected), based_on=(event.meta.id,),
                kind="large-pull-request", severity=RiskSeverity.MEDIUM,
                title=f"{event.repo}#{event.number} is large",
                summary=f"{event.additions} lines (checked at {time.time_ns()})",
            ), topic=out)

    return agent


_env = os.environ.get
agent = make(_env("CLOCKED_NAME", "clocked"), _env("CLOCKED_SRC", "in"),
             _env("CLOCKED_OUT", "out"), 200)  # fmt: skip
candidate = make(_env("CLOCKED_NAME", "clocked"), _env("CLOCKED_SRC", "in"),
                 _env("CLOCKED_OUT", "out"), 100)  # fmt: skip
