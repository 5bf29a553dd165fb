"""Durable workflows and durable timers on Kafka.

A workflow is a chain (or small DAG) of async steps; each finished step's result is
checkpointed to the compacted topic ``workflows.<name>.runs`` (key = run id) and acknowledged
before the next step starts, so a crash resumes at the first unfinished step and never repeats a
finished one::

    wf = Workflow("briefing")

    @wf.step(retry=RetryPolicy(maximum_attempts=3), timeout=timedelta(seconds=30))
    async def fetch(ctx: StepContext, inputs: dict) -> dict: ...

    @wf.step()                       # runs after `fetch` (the step declared before it)
    async def summarise(ctx: StepContext, inputs: dict) -> str:
        return await llm(ctx.results["fetch"], idempotency_key=ctx.idempotency_key)

    async with WorkflowEngine(wf) as engine:
        await engine.resume_all()
        run_id = await engine.start(event)

Timers (``TimerService``) fire once at a time or on a schedule ('weekdays 09:00 Europe/Berlin'),
survive restarts and fire on start if they came due while everything was down.
See docs/workflows.md.
"""

from __future__ import annotations

from agentstream.policy import RetryPolicy
from agentstream.workflow._checkpoint import RunCheckpoint, RunStatus, StepState, StepStatus
from agentstream.workflow._cron import CronSchedule
from agentstream.workflow._engine import (
    CompletionEncoder,
    DeliveryMode,
    RunOutcome,
    WorkflowEngine,
    read_runs,
    runs_topic,
)
from agentstream.workflow._kafka import OutRecord, RecordWriter
from agentstream.workflow._timers import FiredTimer, Timer, TimerService, read_timers
from agentstream.workflow._workflow import Step, StepContext, StepFn, Workflow

__all__ = [
    "CompletionEncoder",
    "CronSchedule",
    "DeliveryMode",
    "FiredTimer",
    "OutRecord",
    "RecordWriter",
    "RetryPolicy",
    "RunCheckpoint",
    "RunOutcome",
    "RunStatus",
    "Step",
    "StepContext",
    "StepFn",
    "StepState",
    "StepStatus",
    "Timer",
    "TimerService",
    "Workflow",
    "WorkflowEngine",
    "read_runs",
    "read_timers",
    "runs_topic",
]
