"""Workflow declarations and step execution, without a broker."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from agentstream.errors import NonRetryableError, StepResultError, WorkflowDefinitionError
from agentstream.schemas import all_records, new_meta
from agentstream.workflow import RetryPolicy, RunCheckpoint, StepContext, StepState, Workflow
from agentstream.workflow._checkpoint import decode_value, encode_value
from agentstream.workflow._engine import derived_id
from agentstream.workflow._workflow import execute_step

FAST = RetryPolicy(initial_interval=timedelta(milliseconds=1), maximum_attempts=3, jitter=0)


async def _noop(ctx: StepContext, inputs: Any) -> None:
    return None


def test_steps_without_after_form_a_chain_in_declaration_order() -> None:
    wf = Workflow("w")
    for name in ("fetch", "think", "post"):
        wf.step(name=name)(_noop)
    assert [s.after for s in wf.steps.values()] == [(), ("fetch",), ("think",)]
    assert wf.order() == ("fetch", "think", "post")


def test_dag_order_respects_dependencies_and_declaration_order() -> None:
    wf = Workflow("w")
    wf.step(name="report", after=("a", "b"))(_noop)
    wf.step(name="b", after=())(_noop)
    wf.step(name="a", after=())(_noop)
    assert wf.order() == ("b", "a", "report")
    assert wf.ready_steps(set(), set()) == ["b", "a"]
    assert wf.ready_steps({"b"}, {"b", "a"}) == []
    assert wf.ready_steps({"a", "b"}, {"a", "b"}) == ["report"]


def test_cycle_is_reported_with_its_steps() -> None:
    wf = Workflow("w")
    wf.step(name="a", after=("c",))(_noop)
    wf.step(name="b", after=("a",))(_noop)
    wf.step(name="c", after=("b",))(_noop)
    with pytest.raises(WorkflowDefinitionError, match="cycle") as exc:
        wf.order()
    assert all(n in str(exc.value) for n in "abc")


def test_unknown_dependency_and_duplicates_and_empty_are_errors() -> None:
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match="no steps"):
        wf.order()
    wf.step(name="a", after=("nope",))(_noop)
    with pytest.raises(WorkflowDefinitionError, match=r"unknown step.*nope"):
        wf.order()
    with pytest.raises(WorkflowDefinitionError, match="already has a step 'a'"):
        wf.step(name="a")(_noop)
    with pytest.raises(WorkflowDefinitionError, match="topic name"):
        Workflow("bad name")


def test_idempotency_key_is_run_and_step() -> None:
    ctx = StepContext("run-1", "w", "post", attempt=3)
    assert ctx.idempotency_key == "run-1:post"
    # Run ids derived from a trigger id are stable across processes.
    assert derived_id("w", "event-1") == derived_id("w", "event-1") != derived_id("w", "event-2")


async def test_retryable_failure_is_retried_until_success() -> None:
    wf = Workflow("w")
    seen: list[int] = []

    @wf.step(retry=FAST)
    async def flaky(ctx: StepContext, inputs: Any) -> dict[str, int]:
        seen.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("llm unavailable")
        return {"n": inputs["n"] + 1}

    state = await execute_step(wf, "r", "flaky", {"n": 1}, {})
    assert seen == [1, 2, 3]
    assert (state.status, state.attempts, state.result, state.error) == (
        "succeeded", 3, {"n": 2}, None
    )


async def test_exhausted_retries_fail_with_the_last_error() -> None:
    wf = Workflow("w")

    @wf.step(retry=FAST)
    async def broken(ctx: StepContext, inputs: Any) -> None:
        raise ValueError(f"bad {ctx.attempt}")

    state = await execute_step(wf, "r", "broken", None, {})
    assert (state.status, state.attempts) == ("failed", 3)
    assert state.error == "ValueError: bad 3"


async def test_non_retryable_errors_fail_at_once() -> None:
    wf = Workflow("w")
    calls = 0

    policy = RetryPolicy(initial_interval=timedelta(0), non_retryable_error_types=["KeyError"])

    @wf.step(retry=policy)
    async def lookup(ctx: StepContext, inputs: Any) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("missing")

    @wf.step(retry=FAST)
    async def refuse(ctx: StepContext, inputs: Any) -> None:
        raise NonRetryableError("no")

    assert (await execute_step(wf, "r", "lookup", None, {})).attempts == 1
    assert calls == 1
    assert (await execute_step(wf, "r", "refuse", None, {})).attempts == 1


async def test_timeout_bounds_each_attempt_and_is_retried() -> None:
    wf = Workflow("w")

    @wf.step(retry=FAST, timeout=timedelta(milliseconds=50))
    async def slow(ctx: StepContext, inputs: Any) -> str:
        if ctx.attempt == 1:
            await asyncio.Event().wait()  # never finishes: only the timeout ends it
        return "done"

    state = await execute_step(wf, "r", "slow", None, {})
    assert (state.status, state.attempts, state.result) == ("succeeded", 2, "done")

    @wf.step(retry=RetryPolicy(maximum_attempts=1), timeout=timedelta(milliseconds=20))
    async def hang(ctx: StepContext, inputs: Any) -> None:
        await asyncio.Event().wait()

    state = await execute_step(wf, "r", "hang", None, {})
    assert state.status == "failed"
    assert "did not finish within" in (state.error or "")


async def test_unstorable_result_fails_without_retry() -> None:
    wf = Workflow("w")

    @wf.step(retry=FAST)
    async def weird(ctx: StepContext, inputs: Any) -> object:
        return object()

    state = await execute_step(wf, "r", "weird", None, {})
    assert (state.status, state.attempts) == ("failed", 1)
    assert "cannot be checkpointed" in (state.error or "")
    with pytest.raises(StepResultError):
        encode_value(float("nan"))


async def test_step_sees_earlier_results_read_only() -> None:
    wf = Workflow("w")

    @wf.step()
    async def second(ctx: StepContext, inputs: Any) -> Any:
        with pytest.raises(TypeError):
            ctx.results["x"] = 1  # type: ignore[index]
        return ctx.results["first"]["v"] * 2

    state = await execute_step(wf, "r", "second", None, {"first": {"v": 21}})
    assert state.result == 42


def test_checkpoint_round_trips_and_finds_first_unfinished() -> None:
    cp = RunCheckpoint(
        run_id="r1",
        workflow="w",
        version="2",
        input=encode_value({"pr": 42, "tags": ("a", "b")}),
        steps={"a": StepState("succeeded", 1, {"x": 1}), "b": StepState(), "c": StepState()},
        trigger_id="ev-1",
    )
    back = RunCheckpoint.from_bytes(cp.to_bytes())
    assert back == cp
    assert back.first_unfinished() == "b"
    assert back.results() == {"a": {"x": 1}}
    assert decode_value(back.input) == {"pr": 42, "tags": ["a", "b"]}
    with pytest.raises(ValueError, match="not a workflow checkpoint"):
        RunCheckpoint.from_bytes(b'{"v": 99}')


def test_avro_records_round_trip_as_their_class() -> None:
    cls = all_records()["agentstream.meta.EventMeta"]
    meta = new_meta("agentstream.events.code.PullRequestOpened", source="t", subject="o/r#1")
    assert isinstance(meta, cls)
    assert decode_value(encode_value(meta)) == meta
