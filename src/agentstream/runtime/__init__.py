"""Agents: subscribe, handle, emit, commit — with per-key order, bounded concurrency and retries.

Declare an agent and its typed handlers, then run it as a process
(``agentstream run module:attr``)::

    agent = Agent("risk-detector", version="1.0.0", emits=[RiskDetected])

    @agent.handler(PullRequestOpened, topic="events.code",
                   retry=RetryPolicy(maximum_attempts=3), timeout=timedelta(seconds=30))
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.emit(RiskDetected(meta=ctx.meta(RiskDetected), ...), topic="insights.risks")

Delivery is at-least-once with dedupe on event id (default) or exactly-once (Kafka transactions);
see ``docs/runtime.md`` and the docstrings of ``Ledger`` (an input from accepted to committed)
and ``DedupeStore``.
"""

from __future__ import annotations

from agentstream.errors import NonRetryableError, ProducerFencedError, RetryAfterError
from agentstream.policy import DeliveryMode, RetryPolicy
from agentstream.runtime._agent import Agent, HandlerSpec
from agentstream.runtime._context import Context
from agentstream.runtime._dlq import REPLAY_HEADER, dlq_topic
from agentstream.runtime._durable import WorkflowBinding
from agentstream.runtime._memory import BoundStore
from agentstream.runtime._runner import AgentRunner, RuntimeStats, load_agent, run_agent
from agentstream.runtime._scheduler import KeyOrderedScheduler, WorkItem
from agentstream.runtime._settings import AgentSettings, GroupProtocol

__all__ = [
    "REPLAY_HEADER",
    "Agent",
    "AgentRunner",
    "AgentSettings",
    "BoundStore",
    "Context",
    "DeliveryMode",
    "GroupProtocol",
    "HandlerSpec",
    "KeyOrderedScheduler",
    "NonRetryableError",
    "ProducerFencedError",
    "RetryAfterError",
    "RetryPolicy",
    "RuntimeStats",
    "WorkItem",
    "WorkflowBinding",
    "dlq_topic",
    "load_agent",
    "run_agent",
]
