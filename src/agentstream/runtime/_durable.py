"""Workflows started by events and durable timers, owned by the agent runner.

- ``WorkflowBinding``: declared by ``agent.workflow(wf, trigger=..., topic=...)``. Its handler
  starts a run whose id derives from the trigger's event id, so a redelivered trigger finds the
  run it started instead of starting a second one. ``WorkflowEngine.start`` returns once the run
  is durable, so the trigger's offset is committed only after that.
- ``Durable``: the runner's lifecycle of the ``WorkflowEngine`` of every binding (opened and
  ``resume_all()`` before the consumer starts, closed at the end) and of the agent's
  ``TimerService`` (service = the agent's name, topic ``workflows.timers``), which backs
  ``ctx.schedule``/``ctx.cancel_timer``.

A scheduled event gets its deterministic id (``ctx.meta``) before it is stored; the timer id is
that event id, so a redelivered input finds the timer it scheduled and leaves it as it is
(pending, fired or cancelled: due time and firing are decided once), and a firing repeated after
a crash carries the same event id and ``fire_id`` (downstream dedupe sees it once). Under
exactly-once the timer service writes transactionally: a firing and its done record commit
together.

Limitation: workflow engines and timer services are single-instance (see docs/workflows.md).
Run one process of an agent that declares workflows or uses timers: a second process would
resume the same runs and arm the same timers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentstream.config import KafkaSettings
from agentstream.runtime._settings import DeliveryMode

if TYPE_CHECKING:
    from agentstream.runtime._context import Context
    from agentstream.runtime._engine import Codec
    from agentstream.workflow import TimerService, Workflow, WorkflowEngine

__all__ = ["Durable", "WorkflowBinding"]

log = logging.getLogger("agentstream.runtime")


@dataclass
class WorkflowBinding:
    """One workflow an agent starts on ``trigger`` events read from ``topic``.

    ``completion_topic``: where the run's completion event goes (default
    ``workflows.<name>.events``).
    """

    workflow: Workflow
    trigger: type[Any]
    topic: str
    completion_topic: str | None = None
    engine: WorkflowEngine | None = field(default=None, repr=False)

    async def start(self, event: Any, ctx: Context) -> None:
        """The handler: start (or find) the run of this trigger."""
        if self.engine is None:
            raise RuntimeError(
                f"workflow {self.workflow.name!r} has no engine: run the agent with AgentRunner"
            )
        run_id = await self.engine.start(event)
        ctx.log.info("workflow %s run %s started", self.workflow.name, run_id)


class Durable:
    """Opens and closes the runner's workflow engines and timer service (module docstring)."""

    def __init__(
        self,
        *,
        agent: str,
        bindings: list[WorkflowBinding],
        timers: bool,
        kafka: KafkaSettings,
        mode: DeliveryMode,
        codec: Codec,
    ) -> None:
        self.agent = agent
        self.bindings = bindings
        self.use_timers = timers
        self.kafka = kafka
        self.mode: DeliveryMode = mode
        self.codec = codec
        self.timers: TimerService | None = None

    async def open(self) -> None:
        # Imported here: agentstream.workflow imports agentstream.runtime (RetryPolicy).
        from agentstream.workflow import TimerService, WorkflowEngine  # noqa: PLC0415

        for b in self.bindings:
            engine = WorkflowEngine(
                b.workflow, settings=self.kafka, mode=self.mode, completion_topic=b.completion_topic
            )
            await engine.open()
            b.engine = engine
            resumed = await engine.resume_all()
            if resumed:
                log.info("workflow %s: resumed %d run(s)", b.workflow.name, len(resumed))
        if self.use_timers:
            self.timers = TimerService(
                self.agent, settings=self.kafka, exactly_once=self.mode == "exactly-once"
            )
            await self.timers.open()
            log.info("timers of %s armed: %d pending", self.agent, len(self.timers.pending()))

    async def close(self) -> None:
        for b in self.bindings:
            if b.engine is not None:
                await b.engine.close()
                b.engine = None
        if self.timers is not None:
            await self.timers.close()
            self.timers = None

    def _need_timers(self) -> TimerService:
        if self.timers is None:
            raise RuntimeError(
                f"agent {self.agent} has no timer service; declare Agent(..., timers=True) to "
                "use ctx.schedule"
            )
        return self.timers

    async def schedule(
        self,
        record: Any,
        *,
        topic: str,
        key: str,
        at: datetime | None,
        after: timedelta | None,
    ) -> str:
        """Store a timer that produces ``record`` (encoded for ``topic``); its id = event id.

        A timer of that id that exists already (pending, fired or cancelled) is left as it is:
        the input that scheduled it was redelivered, and its timer is decided once."""
        payload = self.codec.encode(topic, record)
        return await self._need_timers().schedule(
            payload, at=at, after=after, timer_id=str(record.meta.id), topic=topic, key=key,
            if_exists="keep",
        )

    async def cancel(self, timer_id: str) -> bool:
        return await self._need_timers().cancel(timer_id)
