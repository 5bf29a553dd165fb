"""``agentstream.policy``: the shared retry policy, and errors that say how long to wait."""

from __future__ import annotations

import ast
import random
from datetime import timedelta
from pathlib import Path

import pytest

import agentstream.policy as policy_module
from agentstream import runtime, workflow
from agentstream.errors import (
    LLMRateLimitError,
    LLMRequestError,
    LLMSaturatedError,
    NonRetryableError,
    RetryAfterError,
)
from agentstream.llm import LLM, LLMSettings
from agentstream.policy import DEFAULT_RETRY, DeliveryMode, RetryPolicy
from agentstream.testing import OpenAIServer, Reply

SRC = Path(__file__).resolve().parents[2] / "src" / "agentstream"


def test_runtime_and_workflow_re_export_the_same_types() -> None:
    assert runtime.RetryPolicy is workflow.RetryPolicy is RetryPolicy
    assert runtime.DeliveryMode is DeliveryMode
    assert runtime.RetryAfterError is RetryAfterError


def test_workflow_does_not_import_runtime_and_policy_imports_neither() -> None:
    """The policy types sit below both packages: no cycle through them."""

    def imported(path: Path) -> set[str]:
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.add(node.module)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        return out

    for path in (SRC / "workflow").glob("*.py"):
        bad = {m for m in imported(path) if m.startswith("agentstream.runtime")}
        assert not bad, f"{path.name} imports {bad}"
    mods = imported(Path(policy_module.__file__))
    assert not {m for m in mods if m.startswith(("agentstream.runtime", "agentstream.workflow"))}


def test_retry_after_error_is_waited_exactly_beyond_the_backoff_cap() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(
        seconds=2), jitter=0.5)
    err = RetryAfterError("quota resets in 90 s", timedelta(seconds=90))
    assert policy.next_delay(err, 1) == timedelta(seconds=90)
    assert policy.next_delay(err, 4) == timedelta(seconds=90)
    assert err.next_retry_delay == timedelta(seconds=90)
    assert policy.is_retryable(err)


def test_retry_after_none_or_negative() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=3), jitter=0)
    assert policy.next_delay(RetryAfterError("no hint", None), 2) == timedelta(seconds=6)
    clamped = RetryAfterError("clock skew", timedelta(seconds=-5))
    assert clamped.retry_after == timedelta(0)
    assert policy.next_delay(clamped, 1) == timedelta(0)


def test_subclass_of_retry_after_error_counts_attempts() -> None:
    class Throttled(RetryAfterError):
        pass

    policy = RetryPolicy(maximum_attempts=3)
    assert policy.next_delay(Throttled("slow down", timedelta(seconds=7)), 2) == timedelta(
        seconds=7)
    assert not policy.attempts_exhausted(2)
    assert policy.attempts_exhausted(3)


def test_llm_errors_are_retry_after_errors_and_refusals_stay_non_retryable() -> None:
    limited = LLMRateLimitError("429", model="m", next_retry_delay=timedelta(seconds=4))
    saturated = LLMSaturatedError("full", next_retry_delay=timedelta(seconds=2))
    assert isinstance(limited, RetryAfterError) and isinstance(saturated, RetryAfterError)
    assert limited.retry_after == timedelta(seconds=4) == DEFAULT_RETRY.next_delay(limited, 1)
    refused = LLMRequestError("401", model="m")
    assert isinstance(refused, NonRetryableError) and isinstance(refused, RetryAfterError)
    assert not DEFAULT_RETRY.is_retryable(refused)


def test_duck_typed_hints_still_honoured() -> None:
    class SlackSaysWait(Exception):
        retry_after = 2.5

    assert DEFAULT_RETRY.next_delay(SlackSaysWait(), 1) == timedelta(seconds=2.5)


def test_plain_errors_back_off_with_jitter_within_bounds() -> None:
    policy = RetryPolicy(initial_interval=timedelta(seconds=1), jitter=0.2)
    rng = random.Random(7)
    for attempt in (1, 2, 3):
        got = policy.delay(attempt, rng=rng).total_seconds()
        base = 2 ** (attempt - 1)
        assert base * 0.8 <= got <= base * 1.2


async def test_a_429_with_retry_after_reaches_the_policy_as_retry_after_error() -> None:
    with OpenAIServer() as server:
        server.enqueue(Reply.rate_limited(retry_after=3))
        llm = LLM("retry-after", settings=LLMSettings(
            base_url=server.base_url, api_key="test", memo=False, rate_limit_retries=0,
            timeout=timedelta(seconds=2)))
        with pytest.raises(RetryAfterError) as info:
            await llm.complete("x")
        await llm.aclose()
    assert isinstance(info.value, LLMRateLimitError)
    assert info.value.retry_after == timedelta(seconds=3)
    assert RetryPolicy(maximum_interval=timedelta(seconds=1)).next_delay(
        info.value, 1) == timedelta(seconds=3)
