"""An agent's /metrics move by exactly what it did; /readyz turns ready only after restore."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.agents.harness import pr, produce_events, running, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.localkafka import free_port
from agentstream.memory import StoreSpec
from agentstream.ops import broker_check
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context, NonRetryableError
from agentstream.testing import unique_name
from agentstream.workflow import StepContext, Workflow


def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): float(s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lb), v in samples.items() if n == name and want <= lb)


def _status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _agent(name: str, src: str, out: str, store: str) -> Agent:
    agent = Agent(name, emits_to={out: [RiskDetected]},
                  stores=[StoreSpec(store, reducer=lambda n, e: (n or 0) + 1)])

    @agent.handler(PullRequestOpened, topic=src)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        if event.title == "bad":
            raise NonRetryableError("a bad pull request")
        await ctx.emit(
            RiskDetected(meta=ctx.meta(RiskDetected), based_on=(event.meta.id,), kind="m",
                         severity=RiskSeverity.LOW, title="t", summary="s"),
            topic=out,
        )

    return agent


def test_metrics_count_what_the_agent_did_and_readyz_waits_for_restore(
    bootstrap_servers: str, topic_factory
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=1)
    name, store = f"metrics-{src}", f"s{uuid.uuid4().hex[:8]}"
    good = [pr(f"k{i % 4}", i) for i in range(12)]
    bad = [pr(f"k{i % 4}", 100 + i, title="bad") for i in range(3)]
    produce_events(bootstrap_servers, src, good + bad)
    # First run: handle everything (the store's changelog gets one record per key and event).
    with running(_agent(name, src, out, store), bootstrap_servers, ops_port=0) as runner:
        port = runner.ops_port
        assert port is not None
        wait_for(lambda: runner.stats().engine.handled + runner.stats().engine.dead_letters
                 >= 15, timeout=timedelta(seconds=60), what="15 inputs settled")

        def settled() -> bool:
            s = _samples(port)
            return (_value(s, "agentstream_commit_latency_seconds_count", agent=name) > 0
                    and _value(s, "agentstream_consumer_lag", agent=name) == 0
                    and _value(s, "agentstream_in_flight", agent=name) == 0)

        wait_for(settled, timeout=timedelta(seconds=30), what="committed, no lag, idle")
        s = _samples(port)
        assert _value(s, "agentstream_events_in_total", agent=name, topic=src) == 15
        assert _value(s, "agentstream_events_out_total", agent=name, topic=out) == 12
        assert _value(s, "agentstream_dead_letters_total", agent=name, stage="handle") == 3
        assert _value(s, "agentstream_retries_total", agent=name) == 0
        # Latency is observed for handlers that finished (the 3 failures are dead letters).
        assert _value(s, "agentstream_handler_latency_seconds_count", agent=name) == 12
        restored_before = _value(s, "agentstream_restore_records_total", store=store)

    # Second run: /readyz is 503 until the partitions are assigned and the store restored.
    with _probing_readyz(_agent(name, src, out, store), bootstrap_servers) as (port, statuses):
        assert statuses[0] == 503, statuses[:5]
        assert statuses[-1] == 200
        s = _samples(port)
        # The first run wrote the store's changelog; this run read it back before it was ready.
        assert _value(s, "agentstream_restore_records_total", store=store) > restored_before
        assert _value(s, "agentstream_restore_seconds_count") >= 1


@contextmanager
def _probing_readyz(agent: Agent, bootstrap: str) -> Iterator[tuple[int, list[int]]]:
    """Run ``agent``, probing /readyz from the moment its ops port exists until it answers 200."""
    runner = AgentRunner(agent, settings=AgentSettings(ops_port=0),
                         kafka=KafkaSettings(bootstrap_servers=bootstrap))
    statuses: list[int] = []
    t = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
    t.start()
    try:
        wait_for(lambda: runner.ops_port is not None, timeout=timedelta(seconds=60),
                 what="the ops server", poll=0.002)
        port = runner.ops_port
        assert port is not None

        def ready() -> bool:
            statuses.append(_status(port, "/readyz"))
            return statuses[-1] == 200

        wait_for(ready, timeout=timedelta(seconds=60), what="/readyz 200", poll=0.01)
        yield port, statuses
    finally:
        runner.stop()
        t.join(60)


def test_workflow_runs_and_steps_are_counted_by_outcome(
    bootstrap_servers: str, topic_factory
) -> None:
    src, done = topic_factory(partitions=1), topic_factory(partitions=1)
    wf = Workflow(unique_name("metered"))

    @wf.step()
    async def classify(ctx: StepContext, inputs: Any) -> int:
        return int(inputs.number)

    @wf.step()
    async def decide(ctx: StepContext, inputs: Any) -> str:
        return "big" if ctx.results["classify"] > 10 else "small"

    agent = Agent(f"wfm-{src}")
    agent.workflow(wf, trigger=PullRequestOpened, topic=src, completion_topic=done)
    produce_events(bootstrap_servers, src, [pr("octo/repo#1", 1), pr("octo/repo#42", 42)])

    def runs(outcome: str) -> float:
        return REGISTRY.get_sample_value(
            "agentstream_workflow_runs_total", {"workflow": wf.name, "outcome": outcome}) or 0.0

    with running(agent, bootstrap_servers):
        wait_for(lambda: runs("succeeded") == 2, timeout=timedelta(seconds=60),
                 what="two workflow runs succeeded")
    assert runs("failed") == 0
    for step in ("classify", "decide"):
        assert REGISTRY.get_sample_value(
            "agentstream_workflow_steps_total",
            {"workflow": wf.name, "step": step, "outcome": "succeeded"}) == 2
    assert (REGISTRY.get_sample_value("agentstream_workflow_checkpoint_seconds_count",
                                      {"workflow": wf.name}) or 0) >= 2


def test_broker_readiness_check_tells_reachable_from_unreachable(bootstrap_servers: str) -> None:
    up = broker_check({"bootstrap.servers": bootstrap_servers}, timeout=10)
    ok, detail = up()
    assert ok and "broker(s) reachable" in detail
    down = broker_check({"bootstrap.servers": f"127.0.0.1:{free_port()}"}, timeout=1,
                        cache_seconds=0)
    ok, detail = down()
    assert not ok and "unreachable" in detail
