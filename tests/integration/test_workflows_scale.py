"""Several processes of one agent share its workflow runs and timers through the consumer group.

Three child processes (exactly-once) of an agent with a three-step workflow and timers; one is
SIGKILLed mid-run, a fourth joins later. Every run completes once, every timer fires once
(read_committed), and no step repeats its side effect after it finished: each execution of a
step records a fresh execution id on a topic, the finished one is in the run's completion, and
it must be the last execution of that step (an execution interrupted before its checkpoint may
have run before it, never after).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from tests.integration.agents.harness import pr, serde_for, spawn_agent

from agentstream.testing import WaitTimeoutError, unique_name

TARGET = "tests.integration.agents.scale:agent"
PARTITIONS = 6


class Tail:
    """Every committed record of a topic, read as it arrives (read_committed)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.c = Consumer({
            "bootstrap.servers": bootstrap, "group.id": unique_name("tail"),
            "isolation.level": "read_committed", "enable.auto.commit": False,
        })
        md = self.c.list_topics(topic=topic, timeout=10).topics[topic]
        self.c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
        self.records: list[tuple[bytes | None, bytes | None, int]] = []

    def poll(self, seconds: float = 0.2) -> int:
        for m in self.c.consume(1000, timeout=seconds):
            err = m.error()
            if err is not None and err.code() != KafkaError._PARTITION_EOF:
                raise AssertionError(err)
            if err is None:
                self.records.append((m.key(), m.value(), m.partition() or 0))
        return len(self.records)

    def close(self) -> None:
        self.c.close()


def _produce_spread(bootstrap: str, topic: str, events: list[Any]) -> None:
    """Every partition gets its share (whichever process is killed had runs in flight)."""
    serde = serde_for(bootstrap)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for n, e in enumerate(events):
        p.produce(topic, key=e.meta.subject.encode(), value=serde.encode(topic, e),
                  partition=n % PARTITIONS)
    assert p.flush(30) == 0


def _wait(tails: list[Tail], done: Any, *, timeout: float, what: str,
          procs: list[subprocess.Popen[bytes]], stderr: Path) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        for t in tails:
            t.poll(0.1)
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"an agent process exited ({p.returncode}) while waiting "
                                     f"for {what}:\n{stderr.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            counts = {t.topic: len(t.records) for t in tails}
            raise WaitTimeoutError(f"waited {timeout}s for {what}; have {counts}")


def _scenario(bootstrap: str, topic_factory: Any, tmp_path: Path, *, runs: int, timers: int,
              after: float, timeout: float, mode: str = "exactly-once") -> None:
    runs_in, timers_in = topic_factory(partitions=PARTITIONS), topic_factory(partitions=PARTITIONS)
    effects, fired, done = (topic_factory(partitions=3) for _ in range(3))
    stderr = tmp_path / "agents.stderr"
    print("agent logs:", stderr)
    env = {
        "SCALE_AGENT": unique_name("scale"), "SCALE_WORKFLOW": unique_name("scale-wf"),
        "SCALE_RUNS_IN": runs_in, "SCALE_TIMERS_IN": timers_in, "SCALE_EFFECTS": effects,
        "SCALE_FIRED": fired, "SCALE_DONE": done, "SCALE_AFTER": str(after),
        "SCALE_STEP_SLEEP": "0.05",
        "AGENTSTREAM_AGENT_MODE": mode,
        # A killed process's open transaction is aborted by the broker after 10 s (not 60 s).
        "AGENTSTREAM_LIBRDKAFKA": json.dumps({
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
            "transaction.timeout.ms": "10000",
        }),
        "AGENT_STDERR": str(stderr),
    }
    procs = [spawn_agent(TARGET, bootstrap, env) for _ in range(3)]
    triggers = [pr(f"octo/repo#{i}", i, title=f"run {i}") for i in range(runs)]
    reminders = [pr(f"octo/repo#t{i}", i, title=f"timer {i}") for i in range(timers)]
    tails = [Tail(bootstrap, done), Tail(bootstrap, fired), Tail(bootstrap, effects)]
    done_t, fired_t, effects_t = tails
    try:
        _produce_spread(bootstrap, timers_in, reminders)
        _produce_spread(bootstrap, runs_in, triggers)
        _wait(tails, lambda: len(done_t.records) >= runs // 20, timeout=timeout,
              what="the first runs", procs=procs, stderr=stderr)
        procs[0].send_signal(signal.SIGKILL)  # mid-run: steps in flight, timers pending
        procs[0].wait(10)
        assert len(fired_t.records) < timers, "timers were still pending at the kill"
        live = procs[1:]
        _wait(tails, lambda: len(done_t.records) >= runs // 2, timeout=timeout,
              what="half of the runs", procs=live, stderr=stderr)
        live.append(spawn_agent(TARGET, bootstrap, env))  # a fourth process joins
        _wait(tails, lambda: len(done_t.records) >= runs and len(fired_t.records) >= timers,
              timeout=timeout, what="every run and timer", procs=live, stderr=stderr)
        end = time.monotonic() + 5  # a duplicate would show up here
        while time.monotonic() < end:
            for t in tails:
                t.poll(0.2)
        for p in live:
            p.send_signal(signal.SIGTERM)
        for p in live:
            assert p.wait(90) == 0, stderr.read_text()[-4000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for t in tails:
            t.close()

    completions = [json.loads(v or b"{}") for _, v, _ in done_t.records]
    once = mode == "exactly-once"
    _check_runs(completions, triggers, once=once)
    _check_timers(serde_for(bootstrap), fired, fired_t, reminders, once=once)
    _check_steps(completions, effects_t, runs=runs, timers=timers)


def _check_runs(completions: list[Any], triggers: list[Any], *, once: bool) -> None:
    per_trigger = Counter(c["meta"]["causation_id"] for c in completions)
    assert set(per_trigger) == {str(t.meta.id) for t in triggers}, "every run completed"
    assert all(c["status"] == "succeeded" for c in completions)
    ids: dict[str, set[str]] = defaultdict(set)
    for c in completions:
        ids[c["meta"]["causation_id"]].add(c["meta"]["id"])
    assert all(len(i) == 1 for i in ids.values()), "one completion id per run"
    if once:  # (at-least-once: a repeat after the kill has the same id; dedupe drops it)
        assert max(per_trigger.values()) == 1, "no run completed twice"


def _check_timers(serde: Any, topic: str, tail: Tail, reminders: list[Any], *, once: bool
                  ) -> None:
    fired_events = [serde.decode(topic, v) for _, v, _ in tail.records]
    per_timer = Counter(e.based_on[0] for e in fired_events)
    assert set(per_timer) == {str(r.meta.id) for r in reminders}, "every timer fired"
    ids: dict[str, set[str]] = defaultdict(set)
    for e in fired_events:
        ids[e.based_on[0]].add(str(e.meta.id))
    assert all(len(i) == 1 for i in ids.values()), "one event id per timer"
    if once:
        assert max(per_timer.values()) == 1, "no timer fired twice"


def _check_steps(completions: list[Any], tail: Tail, *, runs: int, timers: int) -> None:
    executions: dict[str, list[str]] = defaultdict(list)
    for key, value, _ in tail.records:  # one key, one partition: in execution order
        executions[(key or b"").decode()].append(json.loads(value or b"{}")["exec"])
    repeated = 0
    for c in completions:
        for step, exec_id in c["results"].items():
            seen = executions[f"{c['run_id']}:{step}"]
            assert exec_id in seen, f"the finished execution of {step} left its side effect"
            assert seen[-1] == exec_id, (
                f"run {c['run_id']} step {step}: executed again after it finished: {seen}"
            )
            repeated += len(seen) - 1
    # Only executions interrupted before their checkpoint (the killed process's, and those
    # stopped by the two rebalances) ran more than once.
    print(f"runs={runs} timers={timers} executions repeated after an interruption: {repeated}")
    assert repeated < runs * 3, repeated


def test_three_processes_share_runs_and_timers_through_kill_and_join(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    _scenario(bootstrap_servers, topic_factory, tmp_path, runs=300, timers=300, after=8,
              timeout=180)


@pytest.mark.slow
def test_at_least_once_processes_share_runs_and_timers_through_kill_and_join(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    _scenario(bootstrap_servers, topic_factory, tmp_path, runs=300, timers=300, after=8,
              timeout=180, mode="at-least-once")


@pytest.mark.slow
def test_two_thousand_runs_and_timers_across_kill_and_join(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    _scenario(bootstrap_servers, topic_factory, tmp_path, runs=2000, timers=2000, after=15,
              timeout=600)

