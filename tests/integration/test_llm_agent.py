"""Acceptance of the LLM layer inside a running agent (real HTTP test server, real broker):
success, 429 + Retry-After, 500, a stall past the timeout, repaired output, output that stays
invalid (dead-lettered with the reason), and a spent daily budget (parked with its reason)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from tests.integration.agents.harness import pr, produce_events, running, serde_for, wait_for

from agentstream.cli._dlq import read_dead_letters
from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened, RiskDetected
from agentstream.llm import LLM, LLMSettings
from agentstream.runtime import Agent, Context, RetryPolicy
from agentstream.testing import OpenAIServer, Reply, consume_until, consumer

RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=3)


def _agent(name: str, src: str, out: str, llm: LLM, *, spent: dict[str, float],
           handled: Counter[str]) -> Agent:
    agent = Agent(name, emits_to={out: [RiskDetected]})

    @agent.handler(PullRequestOpened, topic=src, retry=RETRY)
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        started = time.monotonic()
        risk = await llm.structured(
            RiskDetected, f"title: {event.title}\nseverity: low\nThe PR {event.number} waits.",
            ctx=ctx, fixed={"meta": ctx.meta(RiskDetected), "based_on": (event.meta.id,)})
        spent[event.title] = time.monotonic() - started
        handled[event.title] += 1
        await ctx.emit(risk, topic=out)

    return agent


def test_failures_are_retried_repaired_or_dead_lettered_with_the_reason(
    bootstrap_servers: str, topic_factory
) -> None:
    src, out = topic_factory(partitions=2), topic_factory(partitions=2)
    name = f"llm-{src}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    titles = ["ok", "ratelimited", "err500", "stall", "repair", "broken"]
    with OpenAIServer() as server:
        server.enqueue(
            Reply.rate_limited(retry_after=2, when="title: ratelimited"),
            Reply.server_error(500, when="title: err500"),
            Reply.stall(4, when="title: stall"),
            Reply.malformed(when="title: repair"),
            Reply.malformed(when="title: broken"),
            Reply.json({"kind": "k", "severity": "urgent"}, when="title: broken"),
        )
        settings = LLMSettings(base_url=server.base_url, api_key="test",
                               timeout=timedelta(seconds=1),
                               backoff_initial=timedelta(milliseconds=50))
        llm = LLM(name, settings=settings, kafka=kafka)
        spent: dict[str, float] = {}
        handled: Counter[str] = Counter()
        agent = _agent(name, src, out, llm, spent=spent, handled=handled)
        produce_events(bootstrap_servers, src, [pr(t, i, title=t) for i, t in enumerate(titles)])
        with running(agent, bootstrap_servers, max_in_flight=8) as runner:
            wait_for(lambda: len(handled) == 5 and runner.stats().engine.dead_letters == 1,
                     timeout=timedelta(seconds=60), what="5 handled, 1 dead letter")
        serde = serde_for(bootstrap_servers)
        with consumer(bootstrap_servers) as c:
            c.subscribe([out])
            risks = [serde.decode(out, m.value()) for m in consume_until(
                c, count=5, timeout=timedelta(seconds=30))]
        letters = read_dead_letters(kafka, name)
        llm.close()
    assert sorted(r.title for r in risks) == sorted(t for t in titles if t != "broken")
    assert all(count == 1 for count in handled.values())
    assert spent["ratelimited"] >= 1.8, f"Retry-After: 2 was honoured ({spent})"
    prompts = Counter(p.split("\n")[0] for p in server.prompts())
    assert prompts["title: ok"] == 1
    assert prompts["title: ratelimited"] == 2 and prompts["title: err500"] == 2
    assert prompts["title: stall"] == 2 and prompts["title: repair"] == 2
    assert prompts["title: broken"] == 2, "one repair attempt, not more"
    [letter] = [e.letter for e in letters]
    assert letter.error_type == "LLMOutputError" and letter.attempts == 1
    assert letter.error_message.startswith("llm-invalid-output:")
    assert "severity: 'urgent' is not one of" in letter.error_message


def test_a_spent_budget_parks_inputs_with_its_reason(bootstrap_servers: str, topic_factory) -> None:
    src, out = topic_factory(partitions=1), topic_factory(partitions=1)
    name = f"llm-budget-{src}"
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    with OpenAIServer(usage=(400, 200)) as server:
        settings = LLMSettings(base_url=server.base_url, api_key="test", daily_token_budget=1000)
        llm = LLM(name, settings=settings, kafka=kafka)
        spent: dict[str, float] = {}
        handled: Counter[str] = Counter()
        agent = _agent(name, src, out, llm, spent=spent, handled=handled)
        # One key: handled in order, so exactly the first two fit in the budget.
        produce_events(bootstrap_servers, src, [pr("same", i, title=f"t{i}") for i in range(4)])
        with running(agent, bootstrap_servers) as runner:
            wait_for(lambda: runner.stats().engine.dead_letters == 2,
                     timeout=timedelta(seconds=60), what="2 inputs parked")
        letters = [e.letter for e in read_dead_letters(kafka, name)]
        llm.close()
    assert sorted(handled) == ["t0", "t1"]
    assert len(server.prompts()) == 2, "no call is made once the budget is spent"
    assert {x.error_type for x in letters} == {"LLMBudgetExhaustedError"}
    assert all(x.error_message.startswith("llm-budget-exhausted: agent") for x in letters)
    assert all(x.attempts == 1 for x in letters)
