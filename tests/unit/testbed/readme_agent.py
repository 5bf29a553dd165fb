"""The agent of the README's first example, as a user would write it in their own module."""

from datetime import timedelta

from agentstream.events import BuildFailed, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context, RetryPolicy

agent = Agent("risk-agent", version="1.0.0", emits=[RiskDetected])


@agent.handler(BuildFailed, topic="events.code",
               retry=RetryPolicy(maximum_attempts=5), timeout=timedelta(seconds=30))
async def on_build_failed(event: BuildFailed, ctx: Context) -> None:
    await ctx.emit(
        RiskDetected(meta=ctx.meta(RiskDetected, subject=event.repo),
                     based_on=(event.meta.id,), kind="build-failed",
                     severity=RiskSeverity.HIGH, title=f"{event.workflow} failed",
                     summary=f"run {event.run_id} on {event.branch}"),
        topic="insights.risks",
    )
