"""Workflow declarations: typed async steps, their dependencies, retries and timeouts.

A ``Workflow`` is data (like temporal's declarations): steps are registered with ``@wf.step`` and
the engine (``WorkflowEngine``) runs them. Nothing here talks to Kafka, so a workflow can be
declared, validated and unit tested without a broker.
"""

from __future__ import annotations

import asyncio
import graphlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, TypeVar

from agentstream.clock import clock
from agentstream.errors import WorkflowDefinitionError
from agentstream.policy import RetryPolicy
from agentstream.workflow._checkpoint import StepState, encode_value, now

__all__ = ["Step", "StepContext", "StepFn", "Workflow", "execute_step"]

StepFn = Callable[["StepContext", Any], Awaitable[Any]]
F = TypeVar("F", bound=StepFn)

log = logging.getLogger("agentstream.workflow")

# A step inherits this when it declares no retry: three tries, 1 s then 2 s apart.
DEFAULT_STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)


@dataclass(frozen=True)
class StepContext:
    """What a running step knows about its run.

    ``results`` holds the results of the steps that already finished in this run (restored from
    the checkpoint after a crash, exactly as they were recorded). ``attempt`` is 1-based.
    ``idempotency_key`` (``"<run id>:<step>"``) is the same on every attempt and after every
    restart: pass it to whatever the step changes in the outside world (an API's
    ``Idempotency-Key`` header, a row's primary key) so that a step interrupted after its side
    effect but before its checkpoint does not act twice when it runs again.
    """

    run_id: str
    workflow: str
    step: str
    attempt: int
    results: Mapping[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return f"{self.run_id}:{self.step}"


@dataclass(frozen=True)
class Step:
    """One declared step: its function, the steps it waits for, and its failure handling.

    ``timeout`` bounds each attempt (temporal's start-to-close timeout); ``None`` = no limit.
    """

    name: str
    fn: StepFn
    after: tuple[str, ...]
    retry: RetryPolicy
    timeout: timedelta | None



class Workflow:
    """A named, versioned chain or small DAG of steps, started by an event or an input.

    Steps run when every step they depend on has succeeded; independent steps run concurrently.
    Without ``after=`` a step depends on the step declared just before it, so a plain chain needs
    no wiring; ``after=()`` makes a step a root. Each step gets ``(ctx, inputs)`` where
    ``inputs`` is the run's input (the trigger) and ``ctx.results`` the finished steps' results.
    ``version`` (default ``"1"``) is stored in every checkpoint so that an operator can tell runs
    of an older definition apart.
    """

    def __init__(self, name: str, *, version: str = "1") -> None:
        if not name or any(c in name for c in " /\\:"):
            raise WorkflowDefinitionError(
                f"workflow name {name!r} is not usable in a topic name; use letters, digits, "
                "'.', '_' or '-'"
            )
        self.name = name
        self.version = version
        self._steps: dict[str, Step] = {}
        self._order: tuple[str, ...] | None = None

    def step(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        after: str | Sequence[str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: timedelta | None = None,
    ) -> Any:
        """Decorator registering an ``async def step(ctx, inputs)``; returns the function as is.

        ``retry`` defaults to 3 attempts with 1 s → 2 s backoff; ``timeout`` (per attempt)
        defaults to none. The step's result must be JSON-serialisable or an Avro ``Record``.
        """

        def register(f: F) -> F:
            step_name = name or f.__name__
            if step_name in self._steps:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r} already has a step {step_name!r}; give one of them "
                    "another name (name=...)"
                )
            if timeout is not None and timeout <= timedelta(0):
                raise WorkflowDefinitionError(
                    f"step {step_name!r}: timeout must be positive, got {timeout}"
                )
            if after is None:
                deps: tuple[str, ...] = (next(reversed(self._steps)),) if self._steps else ()
            else:
                deps = (after,) if isinstance(after, str) else tuple(after)
            self._steps[step_name] = Step(
                step_name, f, deps, retry or DEFAULT_STEP_RETRY, timeout
            )
            self._order = None
            return f

        return register(fn) if fn is not None else register

    @property
    def steps(self) -> Mapping[str, Step]:
        return dict(self._steps)

    def order(self) -> tuple[str, ...]:
        """The steps in a valid execution order (declaration order among independent steps).

        Raises ``WorkflowDefinitionError`` for an empty workflow, an unknown dependency or a
        cycle, naming the steps involved.
        """
        if self._order is not None:
            return self._order
        if not self._steps:
            raise WorkflowDefinitionError(
                f"workflow {self.name!r} has no steps; declare some with @workflow.step"
            )
        for step in self._steps.values():
            unknown = [d for d in step.after if d not in self._steps]
            if unknown:
                raise WorkflowDefinitionError(
                    f"step {step.name!r} of workflow {self.name!r} runs after unknown step(s) "
                    f"{unknown}; known steps: {list(self._steps)}"
                )
        sorter = graphlib.TopologicalSorter({s.name: s.after for s in self._steps.values()})
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise WorkflowDefinitionError(
                f"workflow {self.name!r} has a dependency cycle: {cycle}; remove one of these "
                "after= links"
            ) from None
        rank = {n: i for i, n in enumerate(self._steps)}
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=rank.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        self._order = tuple(order)
        return self._order

    def ready_steps(self, succeeded: set[str], started: set[str]) -> list[str]:
        """Steps not yet started whose dependencies have all succeeded, in execution order."""
        return [
            n
            for n in self.order()
            if n not in started and all(d in succeeded for d in self._steps[n].after)
        ]

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, version={self.version!r}, steps={list(self._steps)})"


async def execute_step(
    workflow: Workflow, run_id: str, name: str, inputs: Any, results: dict[str, Any]
) -> StepState:
    """Run one step to its end: every attempt under the step's timeout, retried per its policy.

    Never raises for a step failure (the returned state says ``failed`` with the reason); only
    cancellation propagates. The result is stored in ``encode_value`` form.
    """
    step = workflow.steps[name]
    started = now()
    attempt = 0
    view = MappingProxyType(results)
    while True:
        attempt += 1
        ctx = StepContext(run_id, workflow.name, name, attempt, view)
        try:
            if step.timeout is None:
                value = await step.fn(ctx, inputs)
            else:
                async with asyncio.timeout(step.timeout.total_seconds()):
                    value = await step.fn(ctx, inputs)
            stored = encode_value(value, what=f"the result of step {name!r}")
            return StepState("succeeded", attempt, stored, None, started, now())
        except Exception as exc:  # every step failure is retried or recorded
            error = _describe(exc, step.timeout)
            if not step.retry.is_retryable(exc) or step.retry.attempts_exhausted(attempt):
                return StepState("failed", attempt, None, error, started, now())
            delay = step.retry.next_delay(exc, attempt)
            log.warning(
                "run %s step %s attempt %d failed (%s); retrying in %s",
                run_id, name, attempt, error, delay,
            )
            await clock().sleep(delay.total_seconds())


def _describe(exc: BaseException, timeout: timedelta | None) -> str:
    if isinstance(exc, TimeoutError) and not str(exc) and timeout is not None:
        return f"TimeoutError: attempt did not finish within {timeout}"
    return f"{type(exc).__name__}: {exc}"
