"""A test agent whose handler makes one LLM call per PullRequestOpened, then emits a RiskDetected.

Plain environment variables: LLM_AGENT (name), LLM_IN, LLM_OUT (topics), LLM_LOG (file: one
fsynced line ``<number> <memoised>`` per call answered), LLM_HANG_AFTER_CALL=1 (the handler
then waits forever after its call: the process is killed before any commit). The endpoint and
limits come from OPENAI_BASE_URL / AGENTSTREAM_LLM_*.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.llm import LLM
from agentstream.runtime import Agent, Context, RetryPolicy

NAME = os.environ.get("LLM_AGENT", "llm-agent")
OUT = os.environ.get("LLM_OUT", "out")
agent = Agent(NAME, version="1.0.0", emits_to={OUT: [RiskDetected]})
llm = LLM(NAME)
_LOG = os.environ.get("LLM_LOG")
_fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if _LOG else None
_HANG = os.environ.get("LLM_HANG_AFTER_CALL") == "1"


@agent.handler(PullRequestOpened, topic=os.environ.get("LLM_IN", "in"),
               retry=RetryPolicy(maximum_attempts=10, initial_interval=timedelta(seconds=0.2)))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    answer = await llm.complete(f"summarise pull request {event.number}: {event.title}", ctx=ctx)
    if _fd is not None:
        os.write(_fd, f"{event.number} {answer.memoised}\n".encode())
        os.fsync(_fd)
    if _HANG:
        await asyncio.sleep(3600)
    await ctx.emit(
        RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="summary",
                     severity=RiskSeverity.LOW, title=str(event.number), summary=answer.text),
        topic=OUT,
    )
