"""A test agent for subprocess runs: logs each handled PullRequestOpened and emits a RiskDetected.

Configured through plain (non-AGENTSTREAM_) environment variables:
ECHO_AGENT (name), ECHO_IN, ECHO_OUT (topics), ECHO_LOG (file: one line per handled event,
fsynced), ECHO_DELAY_MS (max random delay per event).
"""

from __future__ import annotations

import asyncio
import os
import random

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context, RetryPolicy

agent = Agent(
    os.environ.get("ECHO_AGENT", "echo"),
    version="1.0.0",
    emits_to={os.environ.get("ECHO_OUT", "out"): [RiskDetected]},
)
_LOG = os.environ.get("ECHO_LOG")
_DELAY = float(os.environ.get("ECHO_DELAY_MS", "0")) / 1000
_fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if _LOG else None


@agent.handler(
    PullRequestOpened,
    topic=os.environ.get("ECHO_IN", "in"),
    retry=RetryPolicy(maximum_attempts=3),
)
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    if _DELAY:
        await asyncio.sleep(random.uniform(0, _DELAY))
    if _fd is not None:
        os.write(_fd, f"{event.meta.id} {event.meta.subject} {event.number}\n".encode())
        os.fsync(_fd)
    await ctx.emit(
        RiskDetected(
            meta=ctx.meta(RiskDetected),
            based_on=(event.meta.id,),
            kind="echo",
            severity=RiskSeverity.LOW,
            title=str(event.number),
            summary=event.title,
        ),
        topic=os.environ.get("ECHO_OUT", "out"),
    )
