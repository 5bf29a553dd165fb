"""The deploy watcher: flags a service whose deployments keep failing in one environment.

Consumes ``DeployStarted`` and ``DeployFinished`` (this project's own events, key and
``meta.subject`` = ``<service>@<environment>``) and emits ``DeployFlagged``:

- ``repeated_failure`` when a deployment fails (or is rolled back) and it is the
  ``failures_to_flag``-th failure in a row or later;
- ``deploy_while_failing`` when a deployment starts while that streak stands.

The streak lives in a memory store (``streaks``), folded from ``DeployFinished`` events, so a
restarted or moved watcher remembers it. Run it with ``agentstream run deploywatch.agent:agent``.
"""

from __future__ import annotations

from typing import Any

from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, Context
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploywatch.events import (
    DeployFinished,
    DeployFlagged,
    DeployOutcome,
    DeployStarted,
    FlagKind,
)

__all__ = ["STREAKS", "DeployWatchSettings", "agent", "build_agent", "fold_streak"]

STREAKS = "streaks"
# A streak keeps the ids of at most this many failures (the evidence of a flag).
_KEEP = 20


class DeployWatchSettings(BaseSettings):
    """The watcher's settings (environment variables ``DEPLOYWATCH_*``)."""

    model_config = SettingsConfigDict(env_prefix="DEPLOYWATCH_", extra="forbid", frozen=True)

    name: str = Field(default="deploy-watcher", description="Agent (and consumer group) name.")
    input_topic: str = Field(default="deploys", description="Where deployments are reported.")
    output_topic: str = Field(default="deploys.flags", description="Where flags are emitted.")
    failures_to_flag: int = Field(
        default=2, ge=1, description="Failed deployments in a row that raise a flag."
    )


def _failed(state: Any) -> list[str]:
    return list(state["failed"]) if state else []


def fold_streak(state: Any, event: Any) -> Any:
    """``reduce(state, event)`` of the ``streaks`` store: the ids of the failures in a row.

    A success ends the streak (``None`` deletes the entity). Folding the same event again (an
    input redelivered under at-least-once) changes nothing, so the state stays exact.
    """
    if not isinstance(event, DeployFinished):
        return state
    if event.outcome is DeployOutcome.SUCCEEDED:
        return None
    failed = _failed(state)
    if event.meta.id in failed:
        return state
    return {"failed": [*failed, event.meta.id][-_KEEP:]}


def build_agent(settings: DeployWatchSettings | None = None) -> Agent:
    """The watcher with its handlers, for ``settings`` (default: from the environment)."""
    s = settings or DeployWatchSettings()
    watcher = Agent(
        s.name,
        version="1.0.0",
        emits_to={s.output_topic: [DeployFlagged]},
        stores=[StoreSpec(STREAKS, reducer=fold_streak)],
    )

    @watcher.handler(DeployFinished, topic=s.input_topic)
    async def on_finished(event: DeployFinished, ctx: Context) -> None:
        if event.outcome is DeployOutcome.SUCCEEDED:
            return
        # The store shows the state before this event is folded in.
        failed = _failed(ctx.store(STREAKS).get(event.meta.subject))
        if event.meta.id not in failed:
            failed.append(event.meta.id)
        if len(failed) < s.failures_to_flag:
            return
        word = "rolled back" if event.outcome is DeployOutcome.ROLLED_BACK else "failed"
        await ctx.emit(
            DeployFlagged(
                meta=ctx.meta(DeployFlagged),
                based_on=tuple(failed[-_KEEP:]),
                kind=FlagKind.REPEATED_FAILURE,
                service=event.service,
                environment=event.environment,
                consecutive_failures=len(failed),
                summary=(
                    f"{event.service} {word} in {event.environment} ({event.version}): "
                    f"{len(failed)} failed deployments in a row"
                ),
            ),
            topic=s.output_topic,
        )

    @watcher.handler(DeployStarted, topic=s.input_topic)
    async def on_started(event: DeployStarted, ctx: Context) -> None:
        failed = _failed(ctx.store(STREAKS).get(event.meta.subject))
        if len(failed) < s.failures_to_flag:
            return
        await ctx.emit(
            DeployFlagged(
                meta=ctx.meta(DeployFlagged),
                based_on=tuple(failed),
                kind=FlagKind.DEPLOY_WHILE_FAILING,
                service=event.service,
                environment=event.environment,
                consecutive_failures=len(failed),
                summary=(
                    f"{event.started_by} started {event.version} of {event.service} in "
                    f"{event.environment} after {len(failed)} failed deployments in a row"
                ),
            ),
            topic=s.output_topic,
        )

    return watcher


agent = build_agent()
