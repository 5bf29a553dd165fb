"""The risk agent: code activity in, risks out."""

from __future__ import annotations

from agentstream.events import BuildFailed, PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context

LARGE_PR_LINES = 400
LARGE_PR_FILES = 20
DEFAULT_BRANCHES = frozenset({"main", "master"})

agent = Agent(
    "risk-agent",
    version="0.1.0",
    emits_to={"insights.risks": [RiskDetected]},
    description="Flags failed builds and oversized pull requests for engineering managers.",
)


@agent.handler(BuildFailed, topic="events.code")
async def on_build_failed(event: BuildFailed, ctx: Context) -> None:
    on_default = event.branch in DEFAULT_BRANCHES
    branch = event.branch or "an unknown branch"
    await ctx.emit(
        RiskDetected(
            meta=ctx.meta(RiskDetected, subject=event.repo),
            based_on=(event.meta.id,),
            kind="build-failed",
            severity=RiskSeverity.HIGH if on_default else RiskSeverity.MEDIUM,
            title=f"{event.workflow} failed on {branch} in {event.repo}",
            summary=f"Run {event.run_id} ended '{event.conclusion}' at {event.commit_sha[:8]}.",
            recommendation="Fix or revert before merging more work." if on_default else None,
            confidence=1.0,
        ),
        topic="insights.risks",
    )


@agent.handler(PullRequestOpened, topic="events.code")
async def on_pull_request_opened(event: PullRequestOpened, ctx: Context) -> None:
    lines = (event.additions or 0) + (event.deletions or 0)
    files = event.changed_files or 0
    if lines <= LARGE_PR_LINES and files <= LARGE_PR_FILES:
        return
    await ctx.emit(
        RiskDetected(
            meta=ctx.meta(RiskDetected, subject=event.meta.subject),
            based_on=(event.meta.id,),
            kind="large-pull-request",
            severity=RiskSeverity.MEDIUM,
            title=f"{event.repo}#{event.number} changes {lines} lines in {files} files",
            summary=f"'{event.title}' by {event.author} is large; large changes get shallow "
            "reviews.",
            recommendation="Ask the author to split it, or pair on the review.",
            confidence=0.7,
        ),
        topic="insights.risks",
    )
