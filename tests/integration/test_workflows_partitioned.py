"""Partitioned workflow runs and timers on the real broker: handover, fencing, co-partitioning,
the agent's transaction, and time through a VirtualClock."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from tests.integration.agents.harness import pr, running, serde_for, spawn_agent, wait_for
from workflow_agents.helpers import read_all

from agentstream.clock import VirtualClock, use_clock
from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, Context
from agentstream.runtime._durable import timers_topic
from agentstream.testing import consume_until, consumer, delete_topics, unique_name
from agentstream.workflow import (
    FiredTimer,
    RetryPolicy,
    StepContext,
    TimerService,
    Workflow,
    WorkflowEngine,
    read_runs,
    runs_topic,
)

# Fast group membership; a killed process's open transaction is aborted after 10 s.
FAST_GROUP = ('{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500", '
              '"transaction.timeout.ms": "10000"}')


@pytest.fixture
def workflow_name(kafka_admin: AdminClient) -> Iterator[str]:
    name = unique_name("wfp")
    yield name
    delete_topics(kafka_admin, [runs_topic(name), f"workflows.{name}.events"])


def _gated_workflow(name: str, calls: Counter[tuple[str, str]], gate: asyncio.Event) -> Workflow:
    wf = Workflow(name)

    @wf.step()
    async def one(ctx: StepContext, inputs: Any) -> int:
        calls[(ctx.run_id, ctx.step)] += 1
        return int(inputs["n"])

    @wf.step()
    async def two(ctx: StepContext, inputs: Any) -> int:
        calls[(ctx.run_id, ctx.step)] += 1
        await gate.wait()  # held until the test opens the gate
        return int(ctx.results["one"]) * 2

    return wf


@pytest.mark.parametrize("mode", ["at-least-once", "exactly-once"])
def test_revoked_runs_stop_and_their_next_owner_resumes_them(
    bootstrap_servers: str, workflow_name: str, mode: str
) -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    calls: Counter[tuple[str, str]] = Counter()

    async def main() -> None:
        gate = asyncio.Event()
        wf = _gated_workflow(workflow_name, calls, gate)
        first = WorkflowEngine(wf, settings=settings, mode=mode, partitioned=True, partitions=2)
        second = WorkflowEngine(wf, settings=settings, mode=mode, partitioned=True, partitions=2)
        await first.open()
        await second.open()
        try:
            first.assign([0, 1])
            await first.ready()
            ids = [await first.start({"n": n}, run_id=f"run-{n}", partition=n % 2)
                   for n in range(6)]
            in_one = [r for n, r in enumerate(ids) if n % 2 == 1]
            await _until(lambda: all(calls[(r, "two")] == 1 for r in ids), "steps two running")
            await first.revoke([1])  # stopped where they are, not cancelled
            assert set(first.runs()) == set(ids) - set(in_one)
            with pytest.raises(Exception, match="not owned"):
                await first.start({"n": 9}, run_id="run-9", partition=1)
            second.assign([1])
            await second.ready()
            assert set(second.runs()) == set(in_one)
            assert all(second.runs()[r].steps["one"].status == "succeeded" for r in in_one)
            gate.set()
            for r in in_one:
                assert (await second.wait(r, timeout=timedelta(seconds=60))).results["two"] > 0
            for r in set(ids) - set(in_one):
                assert (await first.wait(r, timeout=timedelta(seconds=60))).status == "succeeded"
        finally:
            await first.close()
            await second.close()

    asyncio.run(main())
    # Step one finished before the handover: never again. Step two was interrupted: twice.
    assert all(calls[(f"run-{n}", "one")] == 1 for n in range(6))
    assert [calls[(f"run-{n}", "two")] for n in range(6)] == [1, 2, 1, 2, 1, 2]


def test_a_new_owner_fences_the_old_one_exactly_once(
    bootstrap_servers: str, workflow_name: str
) -> None:
    """A zombie (it never heard of the revocation) cannot checkpoint over the new owner."""
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    calls: Counter[tuple[str, str]] = Counter()

    async def main() -> None:
        gate = asyncio.Event()
        wf = _gated_workflow(workflow_name, calls, gate)
        zombie = WorkflowEngine(wf, settings=settings, mode="exactly-once", partitioned=True,
                                partitions=1)
        owner = WorkflowEngine(wf, settings=settings, mode="exactly-once", partitioned=True,
                               partitions=1)
        await zombie.open()
        await owner.open()
        try:
            zombie.assign([0])
            await zombie.ready()
            run = await zombie.start({"n": 4}, run_id="run-z", partition=0)
            await _until(lambda: calls[(run, "two")] == 1, "step two running in the zombie")
            owner.assign([0])  # takes the partition over: fences the zombie's producer
            await owner.ready()
            gate.set()
            outcome = await owner.wait(run, timeout=timedelta(seconds=60))
            assert outcome.results == {"one": 4, "two": 8}
            await _until(lambda: not _running(zombie, run), "the zombie's run to stop")
            # Its checkpoint was refused (fenced): it stopped instead of finishing the run.
            with pytest.raises(RuntimeError, match="not running"):
                await zombie.wait(run, timeout=timedelta(seconds=60))
        finally:
            await zombie.close()
            await owner.close()

    asyncio.run(main())
    [cp] = read_runs(workflow_name, settings)
    assert (cp.status, cp.results()) == ("succeeded", {"one": 4, "two": 8})
    assert calls[("run-z", "one")] == 1


def _running(engine: WorkflowEngine, run_id: str) -> bool:
    try:
        asyncio.get_running_loop()
        return run_id in engine._tasks
    except RuntimeError:
        return False


def test_agent_runs_and_timers_live_in_their_inputs_partition(
    bootstrap_servers: str, topic_factory: Any, kafka_admin: AdminClient
) -> None:
    runs_in, timers_in = topic_factory(partitions=3), topic_factory(partitions=3)
    out, done = topic_factory(partitions=1), topic_factory(partitions=1)
    wf = Workflow(unique_name("copart"))

    @wf.step()
    async def only(ctx: StepContext, inputs: Any) -> int:
        return int(inputs.number)

    agent = Agent(unique_name("copart"), timers=True, emits_to={out: [RiskDetected]})
    agent.workflow(wf, trigger=PullRequestOpened, topic=runs_in, completion_topic=done)

    @agent.handler(PullRequestOpened, topic=timers_in)
    async def later(event: PullRequestOpened, ctx: Context) -> None:
        await ctx.schedule(RiskDetected(
            meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="reminder",
            severity=RiskSeverity.LOW, title="t", summary="s",
        ), topic=out, after=timedelta(hours=1))

    serde = serde_for(bootstrap_servers)
    p = Producer({"bootstrap.servers": bootstrap_servers})
    sent: dict[str, int] = {}
    for n in range(9):
        for topic in (runs_in, timers_in):
            e = pr(f"octo/repo#{n}", n)
            sent[str(e.meta.id)] = n % 3
            p.produce(topic, key=b"same-key", value=serde.encode(topic, e), partition=n % 3)
    p.flush(10)
    try:
        with running(agent, bootstrap_servers, dedupe_window=timedelta(0)) as runner:
            wait_for(lambda: runner.stats().engine.handled == 18, timeout=timedelta(seconds=60),
                     what="every input handled")
        runs = _partitions_by_value(bootstrap_servers, runs_topic(wf.name), b'"trigger_id":"')
        timers = _partitions_by_value(bootstrap_servers, timers_topic(agent.name), b'"topic"')
    finally:
        delete_topics(kafka_admin, [runs_topic(wf.name), f"workflows.{wf.name}.events",
                                    timers_topic(agent.name)])
    assert len(runs) == 9 and len(timers) == 9
    for value, part in runs.items():
        trigger = value.split(b'"trigger_id":"')[1].split(b'"')[0].decode()
        assert sent[trigger] == part, "a run lives in its trigger's partition"
    for value, part in timers.items():
        # The timer's payload is the scheduled event; its based_on names the input.
        caused_by = next(t for t in sent if t.encode() in _payload(value))
        assert sent[caused_by] == part, "a timer lives in its input's partition"


def _payload(value: bytes) -> bytes:
    return base64.b64decode(json.loads(value)["payload"])


def _partitions_by_value(bootstrap: str, topic: str, marker: bytes) -> dict[bytes, int]:
    """The first record of each key (value containing ``marker``) → its partition."""
    found: dict[bytes, tuple[bytes, int]] = {}
    for m in read_all(bootstrap, topic):
        value = m.value()
        if value and marker in value:
            found.setdefault(m.key() or b"", (value, m.partition() or 0))
    return dict(found.values())


def test_timers_and_step_retries_follow_the_virtual_clock(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    topic = unique_name("timers")
    name = unique_name("wfclock")
    wf = Workflow(name)
    attempts: list[int] = []

    @wf.step(retry=RetryPolicy(initial_interval=timedelta(hours=1), maximum_attempts=2, jitter=0))
    async def flaky(ctx: StepContext, inputs: Any) -> str:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "ok"

    async def main(clock: VirtualClock) -> None:
        fired: asyncio.Queue[FiredTimer] = asyncio.Queue()

        async def on_fire(t: FiredTimer) -> None:
            await fired.put(t)

        async with TimerService("clocked", settings=settings, topic=topic, on_fire=on_fire,
                                partitions=1) as timers, \
                WorkflowEngine(wf, settings=settings, partitions=1) as engine:
            start = clock.now()
            await timers.schedule(b"tomorrow", after=timedelta(days=1), timer_id="t1")
            run = await engine.start({"x": 1}, run_id="r1")
            await _until(lambda: clock.sleepers >= 2, "the timer and the retry sleeping")
            assert fired.empty() and attempts == [1]
            clock.advance(timedelta(hours=1))  # the retry is due, the timer is not
            assert (await engine.wait(run, timeout=timedelta(seconds=30))).status == "succeeded"
            assert fired.empty()
            clock.advance(timedelta(hours=23))
            t = await asyncio.wait_for(fired.get(), 30)
            assert (t.timer_id, t.payload, t.due) == ("t1", b"tomorrow", start + timedelta(days=1))

    try:
        with use_clock(VirtualClock()) as clock:
            asyncio.run(main(clock))
    finally:
        delete_topics(kafka_admin, [topic, runs_topic(name), f"workflows.{name}.events"])
    assert attempts == [1, 2]


def test_a_timer_commits_with_its_input_exactly_once(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    """ctx.schedule writes into the agent's transaction: a process killed after scheduling but
    before committing leaves no timer visible; the input is handled again after the restart,
    and the timer is stored and fires once."""
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    log = tmp_path / "scheduled.log"
    name = unique_name("eos-sched")
    env = {
        "SCHED_AGENT": name, "SCHED_IN": src, "SCHED_OUT": out, "SCHED_AFTER": "3",
        "SCHED_HOLD": "60", "SCHED_LOG": str(log), "AGENTSTREAM_LIBRDKAFKA": FAST_GROUP,
        "AGENTSTREAM_AGENT_MODE": "exactly-once",
        "AGENT_STDERR": str(tmp_path / "agent.stderr"),
    }
    target = "tests.integration.agents.scheduler:agent"
    serde = serde_for(bootstrap_servers)
    trigger = pr("octo/repo#5", 5, title="needs review")
    p = Producer({"bootstrap.servers": bootstrap_servers})
    p.produce(src, key=b"k", value=serde.encode(src, trigger))
    p.flush(10)
    topic = timers_topic(name)
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        wait_for(lambda: log.exists() and log.read_text().strip() != "",
                 timeout=timedelta(seconds=60), what="the timer written (acknowledged)")
        with consumer(bootstrap_servers, **{"isolation.level": "read_uncommitted"}) as c:
            _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert high >= 1, "the timer record is in the log"
        with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
            _, stable = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert stable < high, "…inside the agent's open transaction"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    env["SCHED_HOLD"] = "0"
    proc = spawn_agent(target, bootstrap_servers, env)
    try:
        with consumer(bootstrap_servers, **{"isolation.level": "read_committed"}) as c:
            c.subscribe([out])
            got = consume_until(c, count=1, timeout=timedelta(seconds=120))
            got += c.consume(num_messages=10, timeout=3)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "agent.stderr").read_text()[-3000:]
    events = [serde.decode(out, m.value()) for m in got if m.error() is None]
    assert len(events) == 1, "fired once"
    assert events[0].meta.causation_id == trigger.meta.id
    ids = {line.split()[0] for line in log.read_text().splitlines()}
    assert ids == {str(events[0].meta.id)}, "both attempts scheduled the same timer id"


async def _until(pred: Any, what: str, timeout: float = 60) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"waited {timeout}s for {what}") from None
