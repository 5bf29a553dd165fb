"""The LLM layer against the local OpenAI-compatible test server (real HTTP, no broker)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from agentstream.events import RiskDetected, RiskSeverity
from agentstream.llm import (
    LLM,
    EmbeddingSettings,
    LLMBudgetExhaustedError,
    LLMOutputError,
    LLMRateLimitError,
    LLMRequestError,
    LLMServerError,
    LLMSettings,
    LLMTimeoutError,
    ModelPrice,
    _metrics,
)
from agentstream.runtime import RetryPolicy
from agentstream.schemas import new_meta
from agentstream.testing import OpenAIServer, Reply


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def _llm(server: OpenAIServer, agent: str = "t", **kw: object) -> LLM:
    kw.setdefault("timeout", timedelta(seconds=2))
    kw.setdefault("backoff_initial", timedelta(milliseconds=20))
    settings = LLMSettings(base_url=server.base_url, api_key="test", memo=False, **kw)
    return LLM(agent, settings=settings)


def _fixed() -> dict[str, object]:
    return {"meta": new_meta(RiskDetected, source="test", subject="octo/repo"),
            "based_on": ("e1",)}


async def test_completion_and_streaming_report_usage(server: OpenAIServer) -> None:
    server.enqueue(Reply.ok("hello", usage=(11, 3)), Reply.ok("streamed answer", usage=(7, 5)))
    llm = _llm(server)
    first = await llm.complete("say hello", system="be brief")
    second = await llm.complete("stream it", stream=True)
    await llm.aclose()
    assert (first.text, first.prompt_tokens, first.completion_tokens) == ("hello", 11, 3)
    assert (second.text, second.prompt_tokens, second.completion_tokens) == (
        "streamed answer", 7, 5)
    assert server.prompts() == ["say hello", "stream it"]
    assert server.requests[0].body["messages"][0] == {"role": "system", "content": "be brief"}


async def test_429_waits_retry_after_then_succeeds(server: OpenAIServer) -> None:
    server.enqueue(Reply.rate_limited(retry_after=2), Reply.ok("fine"))
    llm = _llm(server, agent="t429")
    before = _metrics.ERRORS.labels("t429", "gpt-4o-mini", "rate_limit")._value.get()
    started = time.monotonic()
    got = await llm.complete("x")
    waited = time.monotonic() - started
    await llm.aclose()
    assert got.text == "fine"
    assert waited >= 1.8, f"Retry-After: 2 honoured, waited {waited:.2f}s"
    assert _metrics.ERRORS.labels("t429", "gpt-4o-mini", "rate_limit")._value.get() == before + 1
    assert len(server.prompts()) == 2


async def test_429_budget_exhausted_raises_with_the_delay(server: OpenAIServer) -> None:
    server.enqueue(*[Reply.rate_limited(retry_after=0.05)] * 3)
    llm = _llm(server, rate_limit_retries=2)
    with pytest.raises(LLMRateLimitError) as info:
        await llm.complete("x")
    await llm.aclose()
    assert info.value.next_retry_delay == timedelta(seconds=0.05)
    # The runtime's RetryPolicy waits the delay the error carries.
    assert RetryPolicy().next_delay(info.value, 1) == timedelta(seconds=0.05)
    assert len(server.prompts()) == 3


async def test_500_is_retried_separately_from_429(server: OpenAIServer) -> None:
    server.enqueue(Reply.server_error(500), Reply.rate_limited(retry_after=0.05),
                   Reply.server_error(503), Reply.ok("ok"))
    llm = _llm(server, server_retries=2, rate_limit_retries=1)
    assert (await llm.complete("x")).text == "ok"
    server.enqueue(*[Reply.server_error(500)] * 3)
    with pytest.raises(LLMServerError):
        await llm.complete("y")
    await llm.aclose()


async def test_a_stall_times_out_and_is_retried(server: OpenAIServer) -> None:
    server.enqueue(Reply.stall(3), Reply.ok("after the stall"))
    llm = _llm(server, timeout=timedelta(milliseconds=500))
    started = time.monotonic()
    assert (await llm.complete("x")).text == "after the stall"
    assert time.monotonic() - started < 2.5, "the stalled request was abandoned at its timeout"
    server.enqueue(Reply.stall(3), Reply.stall(3))
    impatient = _llm(server, timeout=timedelta(milliseconds=300), server_retries=1)
    with pytest.raises(LLMTimeoutError):
        await impatient.complete("y")
    await impatient.aclose()
    await llm.aclose()


async def test_4xx_is_not_retried(server: OpenAIServer) -> None:
    server.enqueue(Reply.http_status(400))
    llm = _llm(server)
    with pytest.raises(LLMRequestError) as info:
        await llm.complete("x")
    await llm.aclose()
    assert not RetryPolicy().is_retryable(info.value)
    assert len(server.prompts()) == 1


async def test_structured_output_fills_the_record(server: OpenAIServer) -> None:
    server.enqueue(Reply.json({"kind": "stale-review", "severity": "high", "title": "t",
                               "summary": "s", "confidence": 0.5}))
    llm = _llm(server)
    risk = await llm.structured(RiskDetected, "a review waits", fixed=_fixed())
    await llm.aclose()
    assert risk.severity is RiskSeverity.HIGH and risk.kind == "stale-review"
    assert risk.based_on == ("e1",) and risk.recommendation is None
    fmt = server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert "meta" not in fmt["properties"] and fmt["properties"]["severity"]["enum"]


async def test_malformed_output_is_repaired_once(server: OpenAIServer) -> None:
    good = {"kind": "k", "severity": "low", "title": "t", "summary": "s"}
    server.enqueue(Reply.malformed(), Reply.json(good))
    llm = _llm(server)
    risk = await llm.structured(RiskDetected, "evidence", fixed=_fixed())
    await llm.aclose()
    assert risk.kind == "k"
    repair = server.requests[1].body["messages"][-1]["content"]
    assert "not valid JSON" in repair, repair


async def test_wrong_schema_twice_is_a_dead_letter_reason(server: OpenAIServer) -> None:
    server.enqueue(Reply.json({"kind": "k", "severity": "urgent", "title": "t"}),
                   Reply.json({"kind": 3, "severity": "low", "title": "t", "summary": "s"}))
    llm = _llm(server)
    with pytest.raises(LLMOutputError) as info:
        await llm.structured(RiskDetected, "evidence", fixed=_fixed())
    await llm.aclose()
    repair = server.requests[1].body["messages"][-1]["content"]
    assert "severity: 'urgent' is not one of" in repair and "summary: required" in repair
    assert "kind: expected string, got integer" in str(info.value)
    assert not RetryPolicy().is_retryable(info.value)  # the runtime dead-letters it


async def test_budget_exhaustion_parks_with_its_reason(server: OpenAIServer) -> None:
    server.usage = (60, 50)
    llm = _llm(server, agent="budgeted", daily_token_budget=200,
               prices={"gpt-4o-mini": ModelPrice(prompt_per_million=1e6, completion_per_million=0)})
    await llm.complete("a")
    await llm.complete("b")  # 220 tokens used now
    with pytest.raises(LLMBudgetExhaustedError) as info:
        await llm.complete("c")
    await llm.aclose()
    assert str(info.value).startswith("llm-budget-exhausted: agent budgeted used 220 of its 200")
    assert not RetryPolicy().is_retryable(info.value)
    assert server.prompts() == ["a", "b"]
    assert _metrics.BUDGET_REMAINING.labels("budgeted")._value.get() == 0
    assert llm.meter.cost == pytest.approx(120.0)


async def test_embeddings_are_batched(server: OpenAIServer) -> None:
    llm = LLM("emb", settings=LLMSettings(base_url=server.base_url, api_key="k", memo=False),
              embedding=EmbeddingSettings(batch_size=2, dimensions=64))
    vectors = await llm.embed(["a", "b", "c"])
    await llm.aclose()
    assert [len(v) for v in vectors] == [64, 64, 64]
    batches = [r.body["input"] for r in server.requests if r.path.endswith("/embeddings")]
    assert batches == [["a", "b"], ["c"]]


def test_server_records_json_bodies(server: OpenAIServer) -> None:
    r = httpx.post(f"{server.base_url}/chat/completions",
                   json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and json.loads(r.text)["choices"][0]["message"]["content"]
    assert server.prompts() == ["hi"]
