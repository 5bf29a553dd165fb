"""Durable timers (ctx.schedule) and event-started workflows inside agents, on the real broker."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition
from tests.integration.agents.harness import (
    pr,
    produce_events,
    running,
    serde_for,
    spawn_agent,
    wait_for,
)

from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent
from agentstream.testing import consume_until, consumer, unique_name
from agentstream.workflow import StepContext, Workflow

FAST_GROUP = json.dumps({"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"})


def test_scheduled_event_survives_sigkill_and_is_delivered_once(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    log = tmp_path / "scheduled.log"
    env = {
        "SCHED_AGENT": unique_name("sched"), "SCHED_IN": src, "SCHED_OUT": out,
        "SCHED_AFTER": "5", "SCHED_LOG": str(log), "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
        "AGENTSTREAM_AGENT_INSTANCE_ID": "one", "AGENT_STDERR": str(tmp_path / "agent.stderr"),
    }
    target = "tests.integration.agents.scheduler:agent"
    trigger = pr("octo/repo#7", 7, title="needs review")
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        produce_events(bootstrap_servers, src, [trigger])
        wait_for(lambda: log.exists() and log.read_text().strip() != "",
                 timeout=timedelta(seconds=60), what="the timer stored")
    finally:
        proc.kill()  # before the timer is due
        proc.wait(10)
    timer_id, due_iso = log.read_text().split()[:2]
    due = datetime.fromisoformat(due_iso)
    assert datetime.now(UTC) < due, "killed before the timer was due"
    with consumer(bootstrap_servers) as c:
        _, high = c.get_watermark_offsets(TopicPartition(out, 0), timeout=10)
    assert high == 0, "nothing fired before the restart"
    # Restart only after the due time passed: the restarted process fires the overdue timer.
    wait_for(lambda: datetime.now(UTC) > due, timeout=timedelta(seconds=30), what="due time")
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        serde = serde_for(bootstrap_servers)
        with consumer(bootstrap_servers) as c:
            c.subscribe([out])
            got = consume_until(c, count=1, timeout=timedelta(seconds=90))
            got += c.consume(num_messages=10, timeout=3)  # a duplicate would show up here
        events = [serde.decode(out, m.value()) for m in got if m.error() is None]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "agent.stderr").read_text()[-3000:]
    assert {e.meta.id for e in events} == {timer_id}, "one event id, the timer's"
    assert events[0].meta.causation_id == trigger.meta.id
    assert events[0].title == "still open: #7"


def test_events_start_workflow_runs_once_per_trigger(
    bootstrap_servers: str, topic_factory
) -> None:
    src, done = topic_factory(partitions=2), topic_factory(partitions=1)
    wf = Workflow(unique_name("triage"))

    @wf.step()
    async def classify(ctx: StepContext, inputs: Any) -> dict[str, Any]:
        return {"number": inputs.number, "big": inputs.number > 10}

    @wf.step()
    async def decide(ctx: StepContext, inputs: Any) -> str:
        return "review" if ctx.results["classify"]["big"] else "merge"

    agent = Agent(f"wf-{src}")
    agent.workflow(wf, trigger=PullRequestOpened, topic=src, completion_topic=done)
    first, second = pr("octo/repo#1", 1), pr("octo/repo#42", 42)
    # The first trigger twice (a redelivery): it must not start a second run.
    produce_events(bootstrap_servers, src, [first, second, first])
    with running(agent, bootstrap_servers, dedupe_window=timedelta(0)) as runner:
        wait_for(lambda: runner.stats().engine.handled == 3, timeout=timedelta(seconds=60),
                 what="three triggers handled")
        with consumer(bootstrap_servers) as c:
            c.subscribe([done])
            got = consume_until(c, count=2, timeout=timedelta(seconds=60))
            got += c.consume(num_messages=10, timeout=2)
    completions = [json.loads(m.value()) for m in got if m.error() is None]
    assert len(completions) == 2, completions
    by_number = {c["results"]["classify"]["number"]: c for c in completions}
    assert by_number[1]["results"]["decide"] == "merge"
    assert by_number[42]["results"]["decide"] == "review"
    assert all(c["status"] == "succeeded" for c in completions)
