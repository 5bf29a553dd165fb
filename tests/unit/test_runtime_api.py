"""RetryPolicy, Agent declarations, Context meta filling and settings (no broker)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentstream.config import check_environment
from agentstream.errors import ConfigError, NonRetryableError
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.runtime import Agent, AgentSettings, Context, RetryPolicy
from agentstream.runtime._context import _ID_NAMESPACE, _evolve, _uuid5
from agentstream.schemas import new_meta


def test_retry_backoff_caps_and_jitter() -> None:
    p = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2,
        maximum_interval=timedelta(seconds=5),
        jitter=0,
    )
    assert [p.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    j = RetryPolicy(initial_interval=timedelta(seconds=1), jitter=0.5)
    rng = random.Random(1)
    assert all(0.5 <= j.delay(1, rng=rng).total_seconds() <= 1.5 for _ in range(100))


def test_retry_classification() -> None:
    p = RetryPolicy(maximum_attempts=3, non_retryable_error_types=[KeyError, "ValueError"])
    assert p.is_retryable(RuntimeError("x"))
    assert not p.is_retryable(KeyError("x"))
    assert not p.is_retryable(ValueError("x"))
    assert not p.is_retryable(NonRetryableError("no"))
    assert not p.attempts_exhausted(2) and p.attempts_exhausted(3)
    assert not RetryPolicy(maximum_attempts=0).attempts_exhausted(10_000)
    with pytest.raises(ValueError):
        RetryPolicy(backoff_coefficient=0.5)


def test_agent_declaration() -> None:
    agent = Agent("risk", version="1.2.0", emits=[RiskDetected])

    @agent.handler(PullRequestOpened, topic="events.code", timeout=timedelta(seconds=3))
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        return None

    assert agent.topics == ["events.code"]
    spec = agent.find("events.code", PullRequestOpened.FULLNAME)
    assert spec is not None and spec.timeout == timedelta(seconds=3)
    assert agent.find("events.code", RiskDetected.FULLNAME) is None
    assert agent.describe()["emits"] == [RiskDetected.FULLNAME]
    with pytest.raises(ValueError, match="two handlers"):
        agent.handler(PullRequestOpened, topic="events.code")(on_pr)
    with pytest.raises(TypeError):
        agent.handler(int, topic="x")
    with pytest.raises(ValueError):
        Agent("bad name")


class _Sender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, bytes | None]] = []

    def send_record(self, topic: str, record: Any, *, key: bytes | None, headers: Any) -> Any:
        self.sent.append((topic, record, key))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None, *, headers: Any) -> Any:
        return self.send_record(topic, value, key=key, headers=headers)


def _input() -> PullRequestOpened:
    meta = new_meta(PullRequestOpened, source="gh", subject="octo/r#1", traceparent="00-abc-def-01")
    return PullRequestOpened(
        meta=meta, repo="octo/r", number=1, title="t", url="u", author="a",
        base_branch="main", head_branch="f", created_at=datetime.now(UTC),
    )


async def _emit_twice(event: PullRequestOpened) -> list[Any]:
    out = []
    for _attempt in (1, 2):  # a retry or a redelivery must emit the same ids
        sender = _Sender()
        ctx = Context(agent="risk", event=event, topic="in", partition=0, offset=5, key=b"k",
                      attempt=_attempt, dedupe_key=event.meta.id, sender=sender)
        risk = RiskDetected(meta=ctx.meta(RiskDetected), based_on=(), kind="k",
                            severity=RiskSeverity.LOW, title="x", summary="y")
        await ctx.emit(risk, topic="insights")
        foreign = RiskDetected(meta=new_meta(RiskDetected, source="me", subject="s"),
                               based_on=(), kind="k", severity=RiskSeverity.LOW, title="x",
                               summary="y")
        await ctx.emit(foreign, topic="insights", key="explicit")
        out.append(sender.sent)
    return out


def test_context_fills_meta_deterministically() -> None:
    event = _input()
    first, second = asyncio.run(_emit_twice(event))
    for (_, a, _), (_, b, _) in zip(first, second, strict=True):
        assert a.meta.id == b.meta.id
    (_, risk, key), (_, foreign, fkey) = first
    assert key == b"octo/r#1" and fkey == b"explicit"
    for out in (risk, foreign):
        assert out.meta.causation_id == event.meta.id
        assert out.meta.correlation_id == event.meta.correlation_id
        assert out.meta.traceparent == "00-abc-def-01"
        assert out.meta.type == RiskDetected.FULLNAME
    assert risk.meta.id != foreign.meta.id


def test_agent_settings_from_env_and_unknown_variables() -> None:
    s = AgentSettings(_env_file=None)  # type: ignore[call-arg]
    assert s.mode == "at-least-once" and s.max_in_flight == 64
    check_environment({"AGENTSTREAM_AGENT_MAX_IN_FLIGHT": "3"})
    with pytest.raises(ConfigError, match="AGENTSTREAM_AGENT_MAX_INFLIGHT"):
        check_environment({"AGENTSTREAM_AGENT_MAX_INFLIGHT": "3"})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError
        AgentSettings(mode="sometimes")  # type: ignore[arg-type]


def test_fast_output_ids_equal_uuid5() -> None:
    for agent, rest in (("", ""), ("agent", "input\x001"), ("é" * 300, "ü"), ("agent", "x")):
        assert _uuid5(agent, rest) == str(uuid.uuid5(_ID_NAMESPACE, f"{agent}\0{rest}"))


def test_evolve_copies_without_touching_the_original() -> None:
    meta = new_meta(PullRequestOpened, source="s", subject="acme/x#1")
    changed = _evolve(meta, id="new-id", source="agent.x")
    assert changed == dataclasses.replace(meta, id="new-id", source="agent.x")
    assert meta.id != "new-id" and type(changed) is type(meta)
