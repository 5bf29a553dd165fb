"""The assistant: a question in Slack (a mention or a direct message) → a cited thread reply.

Each question runs as a durable workflow ``gather → answer (LLM) → post → publish``:

- The run id derives from the message's channel and ts (``slack:<channel>:<ts>``), so Slack's
  redeliveries (same event id → same event id downstream, dropped by dedupe) and the same
  message seen twice start one run.
- A finished step never runs again after a crash. A ``post`` interrupted after Slack accepted
  the reply but before its checkpoint first looks in the thread for the reply's marker
  (``_answer <id>_``) and does not post a second one.
- ``publish`` emits ``AssistantAnswered`` (id derived from the run id) citing the event ids
  the answer rests on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

from confluent_kafka import Producer

from agentstream import shadow
from agentstream.bus import make_producer
from agentstream.config import KafkaSettings
from agentstream.events import AssistantAnswered, MessagePosted
from agentstream.llm import LLM
from agentstream.runtime import Agent, Context, RetryPolicy, WorkflowBinding
from agentstream.schemas import new_meta
from agentstream.serde import make_serde, read_events
from agentstream.workflow import StepContext, Workflow
from services.assistant import answer as ans
from services.assistant.context import gather as gather_context
from services.assistant.context import parse_question
from services.assistant.settings import AssistantSettings
from services.assistant.slack import SlackClient

__all__ = ["SETTINGS", "agent", "answer_id", "is_question", "workflow"]

log = logging.getLogger("services.assistant")
SETTINGS = AssistantSettings()
_NS = uuid.UUID("3a9e5c1d-7b2f-4e8a-b6d0-1f4c8e2a9b73")

workflow = Workflow(SETTINGS.workflow_name, version="1")
agent = Agent(
    "assistant",
    version="0.1.0",
    emits_to={SETTINGS.answers_topic: [AssistantAnswered]},
    description="Answers questions asked in Slack (mentions, direct messages) from insights, "
    "the review graph and retrieval; replies in the thread through chat.postMessage, citing "
    "its sources.",
)


def answer_id(run_id: str) -> str:
    return str(uuid.uuid5(_NS, f"AssistantAnswered|{run_id}"))


def is_question(m: MessagePosted, bot_user_id: str) -> bool:
    """A message to the assistant: it mentions the bot, or is a direct message to it."""
    if getattr(m, "is_bot", False) or m.user == bot_user_id or getattr(m, "bot_id", None):
        return False
    if getattr(m, "subtype", None) not in (None, "", "thread_broadcast", "file_share"):
        return False
    return f"<@{bot_user_id}" in m.text or m.channel.startswith("D")


@workflow.step(retry=RetryPolicy(maximum_attempts=3))
async def gather(ctx: StepContext, m: MessagePosted) -> dict[str, Any]:
    q = parse_question(m.text, SETTINGS.repos)
    return await asyncio.to_thread(gather_context, SETTINGS, KafkaSettings(), q, read_events)


_llm: LLM | None = None


def llm() -> LLM:
    """The process's model client (rate limiter, memo, metering; offline without an endpoint)."""
    global _llm  # noqa: PLW0603 - one client per process: it holds the rate limiter
    if _llm is None:
        _llm = LLM("assistant")
    return _llm


@workflow.step(retry=RetryPolicy(maximum_attempts=4))
async def answer(ctx: StepContext, m: MessagePosted) -> dict[str, Any]:
    context = ctx.results["gather"]
    model = llm()
    if model.offline:
        return {"answer": ans.offline_answer(context), "model": "offline"}
    # The step checkpoint keeps a finished answer; no memo ctx: agentstream.llm cannot key one
    # on a StepContext yet (its results mapping is unhashable).
    c = await model.complete(ans.prompt(context), system=ans.SYSTEM)
    try:
        return {"answer": ans.parse(c.text), "model": c.model}
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        if ctx.attempt < 3:
            raise  # ask again (the step's retry policy)
        log.warning(
            "model answer unusable after %d attempts (%s): offline answer", ctx.attempt, exc
        )
        return {
            "answer": ans.offline_answer(context),
            "model": f"offline (fallback from {c.model})",
        }


def _reply(ctx: StepContext) -> tuple[str, list[dict[str, Any]]]:
    written = ctx.results["answer"]
    sources = ans.cited(ctx.results["gather"], written["answer"])
    return ans.reply_text(written["answer"], sources, answer_id(ctx.run_id)), sources


@workflow.step(retry=RetryPolicy(maximum_attempts=6))
async def post(ctx: StepContext, m: MessagePosted) -> dict[str, Any]:
    thread = m.thread_ts or m.ts
    if shadow.active():
        # A shadow run (agentstream shadow) never talks to Slack; its answer is compared on
        # insights.answers (posted_ts is "shadow" there: compare with --ignore posted_ts).
        return {"ts": "shadow", "thread_ts": thread}
    slack = SlackClient(SETTINGS.slack_base_url, SETTINGS.slack_bot_token.get_secret_value())
    marker = f"_answer {answer_id(ctx.run_id)}_"
    ts = await slack.find_reply(m.channel, thread, marker)
    if ts is None:
        text, _ = _reply(ctx)
        ts = await slack.post_reply(m.channel, thread, text)
    return {"ts": ts, "thread_ts": thread}


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
            raise RuntimeError(f"AssistantAnswered not acknowledged on {topic}: {errors}")


@workflow.step(retry=RetryPolicy(maximum_attempts=10))
async def publish(ctx: StepContext, m: MessagePosted) -> dict[str, Any]:
    text, sources = _reply(ctx)
    posted = ctx.results["post"]
    meta = new_meta(
        AssistantAnswered,
        source="agent.assistant",
        subject=m.channel,
        correlation_id=m.meta.correlation_id,
        causation_id=str(m.meta.id),
    )
    event = AssistantAnswered(
        meta=meta.replace(id=answer_id(ctx.run_id)),
        based_on=tuple(s["id"] for s in sources),
        question_id=str(m.meta.id),
        channel=m.channel,
        thread_ts=posted["thread_ts"],
        asked_by=m.user,
        question=ctx.results["gather"]["question"],
        answer=text,
        posted_ts=posted["ts"],
        model=ctx.results["answer"]["model"],
    )
    topic = shadow.output_topic(SETTINGS.answers_topic)  # its shadow topic in a shadow run
    value = make_serde(KafkaSettings()).encode(topic, event)
    await asyncio.to_thread(_publish_sync, topic, m.channel, value)
    return {"event_id": str(event.meta.id)}


binding = WorkflowBinding(workflow, MessagePosted, SETTINGS.chat_topic)
agent.workflows.append(binding)


@agent.handler(MessagePosted, topic=SETTINGS.chat_topic)
async def on_message(m: MessagePosted, ctx: Context) -> None:
    if not is_question(m, SETTINGS.bot_user_id):
        return
    if binding.engine is None:
        raise RuntimeError("the assistant's workflow engine is not open (run with AgentRunner)")
    run_id = await binding.engine.start(m, trigger_id=f"slack:{m.channel}:{m.ts}")
    ctx.log.info("question %r in %s: run %s", m.text[:80], m.channel, run_id)
