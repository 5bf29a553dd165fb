"""A test agent for running several processes of one agent with a workflow and timers.

Each PullRequestOpened on SCALE_RUNS_IN starts a run of a three-step workflow whose completion
goes to SCALE_DONE; every step records its side effect on SCALE_EFFECTS (key "<run>:<step>",
value JSON {"run", "step", "exec", "pid"} with a fresh execution id per execution, acknowledged
before the step returns) and returns that execution id, so the run's checkpoint (and completion
event) names the execution that finished. Each PullRequestOpened on SCALE_TIMERS_IN schedules a
RiskDetected on SCALE_FIRED, due SCALE_AFTER seconds later (plus 0-1 s spread by number).
SCALE_STEP_SLEEP: seconds each step takes (default 0.05).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, Message

from agentstream.bus import make_producer
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context
from agentstream.workflow import StepContext, Workflow

_EFFECTS = os.environ.get("SCALE_EFFECTS", "effects")
_FIRED = os.environ.get("SCALE_FIRED", "fired")
_AFTER = float(os.environ.get("SCALE_AFTER", "5"))
_SLEEP = float(os.environ.get("SCALE_STEP_SLEEP", "0.05"))

agent = Agent(os.environ.get("SCALE_AGENT", "scale"), version="1.0.0", timers=True,
              emits_to={_FIRED: [RiskDetected]})
wf = Workflow(os.environ.get("SCALE_WORKFLOW", "scale-wf"))
_producer: Any = None


async def _side_effect(ctx: StepContext) -> str:
    """Record this execution of the step on the effects topic (acknowledged) and return its id."""
    global _producer  # noqa: PLW0603 - one producer per process, made on first use
    if _producer is None:
        _producer = make_producer({"bootstrap.servers": os.environ["AGENTSTREAM_BOOTSTRAP_SERVERS"],
                                   "acks": "all", "enable.idempotence": True, "linger.ms": 2})
    exec_id = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    acked: asyncio.Future[None] = loop.create_future()

    def report(err: KafkaError | None, _msg: Message) -> None:
        def settle() -> None:
            if acked.done():
                return
            if err is None:
                acked.set_result(None)
            else:
                acked.set_exception(RuntimeError(err.str()))
        loop.call_soon_threadsafe(settle)

    value = json.dumps({"run": ctx.run_id, "step": ctx.step, "exec": exec_id, "pid": os.getpid()})
    _producer.produce(_EFFECTS, key=ctx.idempotency_key, value=value, on_delivery=report)
    while not acked.done():
        _producer.poll(0)
        await asyncio.sleep(0.005)
    await acked
    return exec_id


@wf.step()
async def fetch(ctx: StepContext, inputs: Any) -> str:
    await asyncio.sleep(_SLEEP)
    return await _side_effect(ctx)


@wf.step()
async def judge(ctx: StepContext, inputs: Any) -> str:
    await asyncio.sleep(_SLEEP)
    return await _side_effect(ctx)


@wf.step()
async def report(ctx: StepContext, inputs: Any) -> str:
    await asyncio.sleep(_SLEEP)
    return await _side_effect(ctx)


agent.workflow(wf, trigger=PullRequestOpened, topic=os.environ.get("SCALE_RUNS_IN", "runs"),
               completion_topic=os.environ.get("SCALE_DONE", "done"))


@agent.handler(PullRequestOpened, topic=os.environ.get("SCALE_TIMERS_IN", "timers"))
async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
    reminder = RiskDetected(
        meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="reminder",
        severity=RiskSeverity.LOW, title=str(event.number), summary=event.title,
    )
    spread = (event.number % 100) / 100
    await ctx.schedule(reminder, topic=_FIRED, after=timedelta(seconds=_AFTER + spread))
