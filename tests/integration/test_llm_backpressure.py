"""LLM-aware back-pressure: when the endpoint answers 429 to most calls, the agent lowers its
concurrency and pauses its consumer instead of hammering the endpoint, and every input is still
handled once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from tests.integration.agents.harness import pr, produce_events, running, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.llm import LLM, LLMSettings
from agentstream.runtime import Agent, Context
from agentstream.testing import OpenAIServer


def test_429s_lower_concurrency_and_pause_the_consumer(
    bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=2)
    name = f"llm-bp-{src}"
    n = 40
    handled: Counter[int] = Counter()
    samples: list[tuple[float, int, int | None, bool]] = []  # (t, running, cap, fetch paused)
    with OpenAIServer(rate_limit_rps=4, latency=0.1) as server:
        llm = LLM(name, settings=LLMSettings(
            base_url=server.base_url, api_key="test", rate_limit_retries=100,
            limiter_wait=timedelta(seconds=60)),
            kafka=KafkaSettings(bootstrap_servers=bootstrap_servers))
        agent = Agent(name)

        @agent.handler(PullRequestOpened, topic=src)
        async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
            await llm.complete(f"call {event.number}", ctx=ctx)
            handled[event.number] += 1

        produce_events(bootstrap_servers, src, [pr(f"k{i}", i) for i in range(n)])
        stop = threading.Event()
        try:
            with running(agent, bootstrap_servers, max_in_flight=32) as runner:
                def sample() -> None:
                    while not stop.is_set():
                        samples.append((time.monotonic(), runner.stats().running,
                                        llm.limiter.concurrency_cap(),
                                        llm.limiter.fetch_paused()))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                wait_for(lambda: len(handled) == n, timeout=timedelta(seconds=120),
                         what=f"all {n} inputs handled")
                stop.set()
                sampler.join(5)
                pauses = runner.stats().pump.pauses
        finally:
            stop.set()
            llm.close()
    assert all(v == 1 for v in handled.values()), "every input handled once"
    assert sorted(Counter(server.answered()).values()) == [1] * n, "each call answered once"
    rejected = len(server.prompts()) - n
    assert rejected > n // 2, f"the endpoint pushed back ({rejected} 429s)"
    peak = max(r for _, r, _, _ in samples)
    assert peak >= 16, f"the agent started with many calls in flight ({peak})"
    after_peak = samples[[r for _, r, _, _ in samples].index(peak):]
    assert min(r for _, r, _, _ in after_peak) <= 4, "in-flight calls fell"
    assert min(c for _, _, c, _ in samples if c is not None) <= 2, "the cap came down"
    assert any(p for *_, p in samples), "the limiter asked the consumer to stop fetching"
    assert pauses >= 1, "the consumer paused its partitions"
