"""The runtime waits what a ``RetryAfterError`` asks for, not its policy's backoff."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from tests.integration.agents.harness import pr, produce_events, running, wait_for

from agentstream.events import PullRequestOpened
from agentstream.runtime import Agent, Context, RetryAfterError, RetryPolicy


def test_a_handler_that_says_retry_after_is_retried_after_that_wait(
    bootstrap_servers: str, topic_factory
) -> None:
    src = topic_factory(partitions=1)
    agent = Agent(f"retry-after-{src}")
    attempts: list[float] = []
    lock = threading.Lock()
    # The policy alone would retry after ~10 ms; the error asks for 1.5 s.
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=10), jitter=0,
                         maximum_attempts=3)

    @agent.handler(PullRequestOpened, topic=src, retry=policy)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        with lock:
            attempts.append(time.monotonic())
            first = len(attempts) == 1
        if first:
            raise RetryAfterError("quota used up", timedelta(seconds=1.5))

    produce_events(bootstrap_servers, src, [pr("k", 1)])
    with running(agent, bootstrap_servers) as runner:
        wait_for(lambda: runner.stats().engine.handled == 1, timeout=timedelta(seconds=60),
                 what="the input handled on its second attempt")
        stats = runner.stats().engine
    assert len(attempts) == 2 and stats.retries == 1 and stats.dead_letters == 0
    assert attempts[1] - attempts[0] >= 1.5, "retried before the wait the error asked for"
