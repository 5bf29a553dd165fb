"""A test agent with durable timers: each PullRequestOpened schedules a RiskDetected for later.

Plain environment variables: SCHED_AGENT (name), SCHED_IN, SCHED_OUT (topics), SCHED_AFTER
(seconds until the scheduled event is due), SCHED_HOLD (seconds the handler still runs after
scheduling, default 0), SCHED_LOG (file: "<timer id> <due ISO>" per scheduled timer, fsynced once
the timer is stored).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context

_OUT = os.environ.get("SCHED_OUT", "out")
_AFTER = timedelta(seconds=float(os.environ.get("SCHED_AFTER", "5")))
_HOLD = float(os.environ.get("SCHED_HOLD", "0"))
_LOG = os.environ.get("SCHED_LOG")
agent = Agent(
    os.environ.get("SCHED_AGENT", "scheduler"), version="1.0.0", timers=True,
    emits_to={_OUT: [RiskDetected]},
)


@agent.handler(PullRequestOpened, topic=os.environ.get("SCHED_IN", "in"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    due = datetime.now(UTC) + _AFTER
    reminder = RiskDetected(
        meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="reminder",
        severity=RiskSeverity.LOW, title=f"still open: #{event.number}", summary=event.title,
    )
    timer_id = await ctx.schedule(reminder, topic=_OUT, at=due)
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"{timer_id} {due.isoformat()}\n".encode())
        os.fsync(fd)
        os.close(fd)
    if _HOLD:
        await asyncio.sleep(_HOLD)
