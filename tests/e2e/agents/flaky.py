"""An agent for the browser test: a PR titled ``poison...`` fails until the fix file exists.

FLAKY_AGENT (name), FLAKY_IN, FLAKY_OUT (topics), FLAKY_FIXED (path: once it exists, poison
PRs are handled too — the "bug fix" after which an operator replays the dead letters).
"""

from __future__ import annotations

import os

from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context, NonRetryableError

_OUT = os.environ.get("FLAKY_OUT", "out")
agent = Agent(
    os.environ.get("FLAKY_AGENT", "flaky"),
    version="2.3.1",
    description="Flags pull requests; chokes on poison titles until fixed.",
    emits_to={_OUT: [RiskDetected]},
)


@agent.handler(PullRequestOpened, topic=os.environ.get("FLAKY_IN", "in"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    fixed = os.path.exists(os.environ.get("FLAKY_FIXED", "/nonexistent"))
    if event.title.startswith("poison") and not fixed:
        raise NonRetryableError(f"cannot parse the title of PR #{event.number}")
    await ctx.emit(
        RiskDetected(
            meta=ctx.meta(RiskDetected),
            based_on=(event.meta.id,),
            kind="flagged",
            severity=RiskSeverity.LOW,
            title=f"handled {event.title}",
            summary=f"PR #{event.number} was handled",
        ),
        topic=_OUT,
    )
