"""An exactly-once agent that writes its memory and emits for each input, then logs it.

Env: EOSMEM_AGENT (name), EOSMEM_IN, EOSMEM_OUT (topics), EOSMEM_LOG (file: one fsynced line per
handled input, written after the handler's writes were queued, before any commit).
"""

from __future__ import annotations

import os

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context

OUT = os.environ.get("EOSMEM_OUT", "out")
agent = Agent(os.environ.get("EOSMEM_AGENT", "eosmem"), version="1.0.0",
              emits_to={OUT: [RiskDetected]}, stores=[StoreSpec("seen")])
_fd = os.open(os.environ["EOSMEM_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) \
    if os.environ.get("EOSMEM_LOG") else None


@agent.handler(PullRequestOpened, topic=os.environ.get("EOSMEM_IN", "in"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    seen = ctx.store("seen")
    seen.put(event.meta.subject, (seen.get(event.meta.subject) or 0) + 1)
    await ctx.emit(RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,),
                                kind="seen", severity=RiskSeverity.LOW, title=str(event.number),
                                summary=""), topic=OUT)
    if _fd is not None:
        os.write(_fd, f"{event.meta.id}\n".encode())
        os.fsync(_fd)
