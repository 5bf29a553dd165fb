"""The daily briefing: a durable workflow per request — gather → write (LLM) → publish.

Each finished step is checkpointed before the next starts, so a crash resumes at the first
unfinished step: a finished LLM call is never made again, and a briefing is published once
(its event id derives from the run id, so a publish interrupted after Kafka acknowledged it
re-sends the same event, which consumers deduplicate).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from agentstream import shadow
from agentstream.bus import make_producer
from agentstream.config import KafkaSettings
from agentstream.events import BriefingReady, BriefingRequested
from agentstream.llm import LLM
from agentstream.runtime import Agent, RetryPolicy
from agentstream.schemas import new_meta
from agentstream.serde import make_serde
from agentstream.workflow import StepContext, Workflow
from services.daily_briefing import writer
from services.daily_briefing.gather import gather as gather_evidence
from services.daily_briefing.settings import BriefingSettings

__all__ = ["SETTINGS", "agent", "briefing_id", "request", "workflow"]

log = logging.getLogger("services.daily_briefing")
SETTINGS = BriefingSettings()
_NS = uuid.UUID("7d1f0c8e-2b6a-4f0e-9d3c-5a1e8b7c6f40")

workflow = Workflow(SETTINGS.workflow_name, version="1")
agent = Agent(
    "daily-briefing",
    version="0.1.0",
    emits_to={SETTINGS.briefings_topic: [BriefingReady]},
    description="A durable workflow per team and request: insights, retrieval and memory → "
    "LLM → BriefingReady (what needs attention, what went well) citing event ids.",
)


def briefing_id(run_id: str) -> str:
    """The BriefingReady id of a run: the same on every attempt and after every restart."""
    return str(uuid.uuid5(_NS, f"BriefingReady|{run_id}"))


def _ms(t: Any) -> int:
    return int(t.timestamp() * 1000) if isinstance(t, datetime) else int(t)


@workflow.step(retry=RetryPolicy(maximum_attempts=3))
async def gather(ctx: StepContext, request: BriefingRequested) -> dict[str, Any]:
    return await asyncio.to_thread(
        gather_evidence,
        SETTINGS,
        KafkaSettings(),
        team=request.team,
        start=_ms(request.period_start),
        end=_ms(request.period_end),
    )


_llm: LLM | None = None


def llm() -> LLM:
    """The process's model client (rate limiter, memo, metering; offline without an endpoint)."""
    global _llm  # noqa: PLW0603 - one client per process: it holds the rate limiter
    if _llm is None:
        _llm = LLM("daily-briefing")
    return _llm


@workflow.step(retry=RetryPolicy(maximum_attempts=4))
async def write(ctx: StepContext, request: BriefingRequested) -> dict[str, Any]:
    evidence = ctx.results["gather"]
    model = llm()
    if model.offline:
        return {"answer": writer.offline_answer(evidence), "model": "offline"}
    # The step checkpoint keeps a finished answer; no memo ctx: agentstream.llm cannot key one
    # on a StepContext yet (its results mapping is unhashable).
    c = await model.complete(writer.prompt(evidence), system=writer.SYSTEM)
    try:
        return {"answer": writer.parse_answer(c.text), "model": c.model}
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        if ctx.attempt < 3:
            raise  # ask again (the step's retry policy)
        log.warning(
            "model answer unusable after %d attempts (%s): offline answer", ctx.attempt, exc
        )
        return {
            "answer": writer.offline_answer(evidence),
            "model": f"offline (fallback from {c.model})",
        }


_producer: Producer | None = None
_producer_lock = threading.Lock()


def _publish_sync(topic: str, key: str, value: bytes) -> None:
    global _producer  # noqa: PLW0603 - one idempotent producer per process
    with _producer_lock:
        if _producer is None:
            _producer = make_producer(KafkaSettings().client_config(**{"enable.idempotence": True}))
        errors: list[str] = []
        _producer.produce(
            topic,
            key=key.encode(),
            value=value,
            on_delivery=lambda err, _m: errors.append(str(err)) if err else None,
        )
        if _producer.flush(30) or errors:
            raise RuntimeError(f"BriefingReady not acknowledged on {topic}: {errors or 'timeout'}")


async def _gate() -> None:
    gate = SETTINGS.pause_before_publish
    if gate is None:
        return
    log.warning("publish paused until %s exists (pause_before_publish)", gate)
    while not gate.exists():
        await asyncio.sleep(0.1)


@workflow.step(retry=RetryPolicy(maximum_attempts=10))
async def publish(ctx: StepContext, request: BriefingRequested) -> dict[str, Any]:
    await _gate()
    written = ctx.results["write"]
    doc = writer.compose(ctx.results["gather"], written["answer"])
    meta = new_meta(
        BriefingReady,
        source="agent.daily-briefing",
        subject=request.team,
        correlation_id=request.meta.correlation_id,
        causation_id=str(request.meta.id),
    )
    event = BriefingReady(
        meta=meta.replace(id=briefing_id(ctx.run_id)),
        based_on=tuple(doc["based_on"]),
        audience=request.audience,
        period_start=request.period_start,
        period_end=request.period_end,
        title=doc["title"],
        body=doc["body"],
        highlights=tuple(doc["attention"][:3]),
        team=request.team,
        attention=tuple(doc["attention"]),
        went_well=tuple(doc["went_well"]),
        model=written["model"],
    )
    topic = shadow.output_topic(SETTINGS.briefings_topic)  # its shadow topic in a shadow run
    value = make_serde(KafkaSettings()).encode(topic, event)
    await asyncio.to_thread(_publish_sync, topic, request.team, value)
    log.info(
        "published briefing %s for %s citing %d events",
        event.meta.id,
        request.team,
        len(event.based_on),
    )
    return {"event_id": str(event.meta.id), "based_on": list(event.based_on)}


agent.workflow(workflow, trigger=BriefingRequested, topic=SETTINGS.requests_topic)


def request(
    team: str,
    *,
    audience: str,
    start: datetime,
    end: datetime,
    requested_by: str | None = None,
    event_id: str | None = None,
) -> BriefingRequested:
    """A BriefingRequested (``event_id`` pins its id, e.g. derived from a schedule's fire id)."""
    meta = new_meta(BriefingRequested, source="agent.daily-briefing", subject=team)
    if event_id:
        meta = meta.replace(id=event_id, correlation_id=event_id)
    return BriefingRequested(
        meta=meta,
        team=team,
        audience=audience,
        period_start=start.astimezone(UTC),
        period_end=end.astimezone(UTC),
        requested_by=requested_by,
    )
