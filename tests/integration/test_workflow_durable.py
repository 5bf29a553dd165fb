"""Durable workflows on the real broker: crash/resume in a child process, DAG, failure, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner
from workflow_agents.helpers import read_all, spawn, wait_for_file

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.errors import NonRetryableError
from agentstream.events import ChannelCreated
from agentstream.schemas import new_meta
from agentstream.testing import delete_topics, unique_name
from agentstream.workflow import StepContext, Workflow, WorkflowEngine, read_runs, runs_topic


@pytest.fixture
def workflow_name(kafka_admin: AdminClient) -> Iterator[str]:
    """A unique workflow name; its runs and events topics are deleted afterwards."""
    name = unique_name("wf")
    yield name
    delete_topics(kafka_admin, [runs_topic(name), f"workflows.{name}.events"])


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_sigkill_after_step2_resumes_at_step3_and_completes_once(
    bootstrap_servers: str, workflow_name: str, tmp_path: Path, mode: str
) -> None:
    log, marker, out = tmp_path / "effects.log", tmp_path / "marker", tmp_path / "child.out"
    args = [bootstrap_servers, workflow_name, str(log), str(marker), mode]

    first = spawn("three_steps.py", [*args, "--hang-before", "step3"], out)
    run_id = wait_for_file(marker, first, out, timeout=90)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["step1", "step2"]

    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    [cp] = read_runs(workflow_name, settings)
    assert (cp.run_id, cp.status) == (run_id, "running")
    assert {n: s.status for n, s in cp.steps.items()} == {
        "step1": "succeeded", "step2": "succeeded", "step3": "pending"
    }

    second = spawn("three_steps.py", args, out)
    assert second.wait(timeout=120) == 0, out.read_text()

    lines = log.read_text().splitlines()
    assert lines == [f"{s} {run_id}:{s}" for s in ("step1", "step2", "step3")], lines
    [cp] = read_runs(workflow_name, settings)
    assert cp.status == "succeeded"
    assert {n: (s.status, s.attempts) for n, s in cp.steps.items()} == {
        s: ("succeeded", 1) for s in ("step1", "step2", "step3")
    }
    assert cp.results()["step3"] == {"n": 3, "step": "step3"}

    events = read_all(bootstrap_servers, f"workflows.{workflow_name}.events")
    assert len(events) == 1
    event = json.loads(events[0].value())
    assert event["meta"]["type"] == "agentstream.workflow.WorkflowCompleted"
    assert event["meta"]["id"] == cp.completion_event_id
    assert dict(events[0].headers())["agentstream.event_id"].decode() == cp.completion_event_id
    assert events[0].key().decode() == run_id


async def test_dag_runs_independent_steps_concurrently_and_failure_ends_the_run(
    bootstrap_servers: str, workflow_name: str
) -> None:
    wf = Workflow(workflow_name, version="7")
    a_started, b_started = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    @wf.step(after=())
    async def fetch_prs(ctx: StepContext, inputs: Any) -> list[int]:
        calls.append(ctx.step)
        a_started.set()
        # Finishes only if fetch_issues runs at the same time (deadline: fails, not hangs).
        await asyncio.wait_for(b_started.wait(), 10)
        return [1, 2]

    @wf.step(after=())
    async def fetch_issues(ctx: StepContext, inputs: Any) -> list[int]:
        calls.append(ctx.step)
        b_started.set()
        await asyncio.wait_for(a_started.wait(), 10)
        return [3]

    @wf.step(after=("fetch_prs", "fetch_issues"))
    async def publish(ctx: StepContext, inputs: Any) -> None:
        calls.append(ctx.step)
        total = len(ctx.results["fetch_prs"]) + len(ctx.results["fetch_issues"])
        raise NonRetryableError(f"channel {inputs['channel']} is archived ({total} items)")

    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    async with WorkflowEngine(wf, settings=settings, partitions=1) as engine:
        outcome = await engine.run({"channel": "#eng"}, run_id="run-1",
                                   timeout=timedelta(seconds=60))
        assert outcome.status == "failed"
        assert outcome.failed_step == "publish"
        assert "channel #eng is archived (3 items)" in (outcome.error or "")
        assert dict(outcome.results) == {"fetch_prs": [1, 2], "fetch_issues": [3]}
        # Starting the same run again starts nothing.
        assert await engine.start({"channel": "#eng"}, run_id="run-1") == "run-1"
        assert (await engine.wait("run-1")).event_id == outcome.event_id
    assert sorted(calls) == ["fetch_issues", "fetch_prs", "publish"]

    events = read_all(bootstrap_servers, f"workflows.{workflow_name}.events")
    assert len(events) == 1
    event = json.loads(events[0].value())
    assert event["meta"]["type"] == "agentstream.workflow.WorkflowFailed"
    assert (event["status"], event["failed_step"], event["version"]) == ("failed", "publish", "7")

    result = CliRunner().invoke(
        app, ["workflows", "runs", workflow_name, "--status", "failed"],
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers},
    )
    assert result.exit_code == 0, result.output
    assert "run-1" in result.output and "failed" in result.output
    result = CliRunner().invoke(
        app, ["workflows", "runs", workflow_name, "--status", "running"],
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers},
    )
    assert "no runs" in result.output


async def test_redelivered_trigger_event_does_not_start_a_second_run(
    bootstrap_servers: str, workflow_name: str
) -> None:
    wf = Workflow(workflow_name)
    seen: list[str] = []

    @wf.step()
    async def remember(ctx: StepContext, inputs: Any) -> str:
        # The trigger comes back as the Avro record it was, also after a restart.
        assert isinstance(inputs, ChannelCreated)
        seen.append(inputs.meta.id)
        return inputs.name

    trigger = ChannelCreated(
        meta=new_meta(ChannelCreated, source="test", subject="C07"),
        channel="C07", name="eng-leads", creator="U1",
        created_at=datetime(2025, 5, 1, 9, 0, tzinfo=UTC),
    )
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    async with WorkflowEngine(wf, settings=settings, partitions=1) as engine:
        first = await engine.start(trigger)
        outcome = await engine.wait(first, timeout=timedelta(seconds=30))
    async with WorkflowEngine(wf, settings=settings, partitions=1) as engine:
        # A new process sees the trigger again (e.g. offsets were not committed yet).
        assert await engine.start(trigger) == first
        assert await engine.resume_all() == []
    assert seen == [trigger.meta.id]
    assert outcome.results["remember"] == "eng-leads"
    assert outcome.trigger_id == trigger.meta.id
