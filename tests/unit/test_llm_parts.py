"""Pieces of the LLM layer: header parsing, the limiter's bound and deadline, schemas, offline."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from agentstream.events import BriefingReady, RiskDetected
from agentstream.llm import (
    LLMSaturatedError,
    RateLimiter,
    json_schema,
    memo_key,
    offline_completion,
    offline_embedding,
    offline_structured,
    parse_reset,
    retry_delay,
    validate,
)
from agentstream.runtime import pressure as _pressure


def test_reset_and_retry_after_headers() -> None:
    assert parse_reset("1s") == 1.0 and parse_reset("6m0s") == 360.0
    assert parse_reset("20ms") == pytest.approx(0.02) and parse_reset("0.5") == 0.5
    assert parse_reset("soon") is None
    assert retry_delay({"Retry-After": "2"}) == 2.0
    assert retry_delay({"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert retry_delay({"x-ratelimit-reset-requests": "1s",
                        "x-ratelimit-reset-tokens": "3s"}) == 3.0
    assert retry_delay({}) is None


async def test_limiter_holds_its_rate_and_its_deadline() -> None:
    limiter = RateLimiter(agent="lim", rpm=600, wait_deadline=timedelta(seconds=5))
    started = time.monotonic()
    for _ in range(21):  # 10/s: a burst of one second (10 calls), then 11 paced 0.1 s apart
        await limiter.acquire(10)
        limiter.release(0.01)
    elapsed = time.monotonic() - started
    assert elapsed >= 1.0, f"21 calls at 10/s took {elapsed:.2f}s"
    closed = RateLimiter(agent="lim2", wait_deadline=timedelta(milliseconds=200))
    closed.rate_limited_for(5.0)
    with pytest.raises(LLMSaturatedError) as info:
        await closed.acquire(1)
    assert info.value.next_retry_delay is not None
    assert info.value.next_retry_delay >= timedelta(seconds=1)


async def test_limiter_learns_limits_and_remaining_zero() -> None:
    limiter = RateLimiter(agent="learn")
    limiter.learn({"x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "0",
                   "x-ratelimit-reset-requests": "300ms"})
    assert limiter.bound_per_second == 2.0
    assert limiter.fetch_paused()
    started = time.monotonic()
    await limiter.acquire(1)
    assert time.monotonic() - started >= 0.25


def test_429s_halve_the_cap_and_successes_grow_it() -> None:
    limiter = RateLimiter(agent="aimd", min_in_flight=2)
    limiter.in_flight = 16
    limiter.rate_limited_for(0.1)
    assert limiter.concurrency_cap() == 8
    for _ in range(5):
        limiter.rate_limited_for(0.1)
    assert limiter.concurrency_cap() == 2
    limiter.succeeded(estimated=1, used=1, headers={})
    assert limiter.concurrency_cap() == 3
    _pressure.register(limiter)
    try:
        assert _pressure.concurrency_cap() == 3 and _pressure.fetch_paused()
    finally:
        _pressure.unregister(limiter)
    assert _pressure.concurrency_cap() is None


def test_json_schema_follows_the_avro_schema() -> None:
    schema = json_schema(RiskDetected.SCHEMA, exclude=("meta", "based_on"))
    assert set(schema["required"]) == {"kind", "severity", "title", "summary"}
    assert schema["properties"]["recommendation"]["anyOf"][1] == {"type": "null"} or any(
        b.get("type") == "null" for b in schema["properties"]["recommendation"]["anyOf"])
    assert "meta" not in schema["properties"] and schema["additionalProperties"] is False
    full = json_schema(BriefingReady.SCHEMA)
    assert full["properties"]["meta"]["properties"]["time"]["format"] == "date-time"


def test_validate_names_every_problem_by_path() -> None:
    problems = validate({"kind": 1, "severity": "urgent", "title": "t", "extra": True},
                        RiskDetected.SCHEMA, exclude=("meta", "based_on"))
    assert problems == [
        "extra: unknown field (allowed: kind, severity, title, summary, recommendation, "
        "confidence, team, person, entities)",
        "kind: expected string, got integer",
        "severity: 'urgent' is not one of low, medium, high, critical",
        "summary: required field is missing",
    ]
    assert validate([], RiskDetected.SCHEMA) == ["$: expected a JSON object, got array"]


def test_offline_model_is_extractive_and_deterministic() -> None:
    prompt = [{"role": "user", "content": "kind: stale-review\nThe review of #12 waited nine "
               "days. Nobody was assigned. It blocks the release."}]
    schema = json_schema(RiskDetected.SCHEMA, exclude=("meta", "based_on"))
    answer = json.loads(offline_structured(prompt, schema))
    assert answer == json.loads(offline_structured(prompt, schema))
    assert answer["kind"] == "stale-review"
    assert answer["title"] == "The review of #12 waited nine days."
    assert validate(answer, RiskDetected.SCHEMA, exclude=("meta", "based_on")) == []
    assert offline_completion(prompt).startswith("kind: stale-review The review")


def test_offline_embeddings_are_normalised_and_similar_for_similar_texts() -> None:
    a = offline_embedding("the payments deploy failed", 384)
    b = offline_embedding("payments deploy failed again", 384)
    c = offline_embedding("lunch menu for friday", 384)
    assert len(a) == 384 and abs(sum(x * x for x in a) - 1) < 1e-9

    def dot(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert dot(a, b) > 0.5 > dot(a, c)


def test_memo_keys_are_input_coordinates_never_prompts() -> None:
    class Ctx:
        topic, partition, offset = "events.code", 3, 1200

    class Step:
        idempotency_key = "run-1:summarise"

    assert memo_key(Ctx(), 0) == "events.code|3|1200|0"
    assert memo_key(Step(), 2) == "step|run-1:summarise|2"
    assert memo_key(object(), 0) is None


def test_the_ordinal_counts_calls_of_one_context() -> None:
    from agentstream.llm import LLM, LLMSettings  # noqa: PLC0415

    llm = LLM("ord", settings=LLMSettings(offline=True, memo=False))

    class Ctx:
        topic, partition, offset = "t", 0, 5

    first, second = Ctx(), Ctx()
    assert [llm._next_ordinal(first) for _ in range(3)] == [0, 1, 2]
    assert llm._next_ordinal(second) == 0  # a retry gets a new context: the same keys again
    asyncio.run(llm.aclose())


def test_retry_policy_waits_the_delay_an_error_carries() -> None:
    from agentstream.llm import LLMRateLimitError  # noqa: PLC0415
    from agentstream.runtime import RetryPolicy  # noqa: PLC0415

    class Throttled(Exception):
        retry_after = 2.5

    policy = RetryPolicy(initial_interval=timedelta(seconds=30), jitter=0)
    assert policy.next_delay(Throttled(), 1) == timedelta(seconds=2.5)
    err = LLMRateLimitError("x", next_retry_delay=timedelta(seconds=4))
    assert policy.next_delay(err, 3) == timedelta(seconds=4) == err.retry_after
    assert policy.next_delay(ValueError(), 1) == timedelta(seconds=30)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentstream.llm import LLMSettings  # noqa: PLC0415
    from agentstream.retrieval import RetrievalSettings  # noqa: PLC0415

    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.internal/v1")
    monkeypatch.setenv("AGENTSTREAM_LLM_TIMEOUT", "5")
    monkeypatch.setenv("AGENTSTREAM_LLM_RPM", "600")
    monkeypatch.setenv("AGENTSTREAM_LLM_PRICES", '{"m": {"prompt_per_million": 0.15}}')
    monkeypatch.setenv("AGENTSTREAM_RETRIEVAL_URL", "http://qdrant:6333")
    s = LLMSettings()
    assert (s.base_url, s.timeout, s.rpm, s.is_offline) == (
        "http://llm.internal/v1", timedelta(seconds=5), 600, False)
    assert s.prices["m"].prompt_per_million == 0.15
    assert RetrievalSettings().url == "http://qdrant:6333"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert LLMSettings().is_offline
