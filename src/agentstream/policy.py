"""Policy types shared by the runtime and workflows: ``RetryPolicy`` and ``DeliveryMode``.

They sit below both ``agentstream.runtime`` and ``agentstream.workflow`` (as temporal keeps its
``RetryPolicy`` in ``common``), so neither imports the other for them; ``agentstream.runtime`` and
``agentstream.workflow`` re-export them. Retries are data, declared where a handler or a step is
declared.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from agentstream.errors import NonRetryableError, RetryAfterError

__all__ = ["DEFAULT_RETRY", "DeliveryMode", "RetryPolicy"]

DeliveryMode = Literal["at-least-once", "exactly-once"]
"""How an agent delivers: ``"at-least-once"`` (idempotent producer + dedupe on event id) or
``"exactly-once"`` (outputs, dedupe markers, memory changelogs and input offsets in one Kafka
transaction per commit)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing handler is retried before its input goes to the dead-letter topic.

    Attempt ``n`` (1-based) that fails waits ``initial_interval * backoff_coefficient**(n-1)``,
    capped at ``maximum_interval`` (default ``100 * initial_interval``), then spread by ``±jitter``
    (a fraction, default 0.2) so that many keys failing together do not retry in lock step.
    ``maximum_attempts`` counts the first try (default 5; 1 = no retry; 0 = unlimited, which
    blocks the key until it succeeds). Errors whose type (or a base type) is named in
    ``non_retryable_error_types`` (class or class name), and every ``NonRetryableError``, go to
    the dead-letter topic at once. A waiting retry blocks only its own key, never the partition.
    """

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    maximum_attempts: int = 5
    jitter: float = 0.2
    non_retryable_error_types: Sequence[type[BaseException] | str] = field(default=())

    def __post_init__(self) -> None:
        if self.initial_interval < timedelta(0):
            raise ValueError("RetryPolicy.initial_interval must be >= 0")
        if self.backoff_coefficient < 1:
            raise ValueError("RetryPolicy.backoff_coefficient must be >= 1")
        if self.maximum_attempts < 0:
            raise ValueError("RetryPolicy.maximum_attempts must be >= 0 (0 = unlimited)")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be within [0, 1]")

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, NonRetryableError):
            return False
        names = {c.__name__ for c in type(exc).__mro__} | {
            f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__
        }
        for t in self.non_retryable_error_types:
            if isinstance(t, str):
                if t in names:
                    return False
            elif isinstance(exc, t):
                return False
        return True

    def attempts_exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` (1-based, just failed) was the last one allowed."""
        return self.maximum_attempts != 0 and attempt >= self.maximum_attempts

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> timedelta:
        """The wait after failed attempt ``attempt`` (1-based), jitter included."""
        cap = self.maximum_interval or self.initial_interval * 100
        base = self.initial_interval.total_seconds() * self.backoff_coefficient ** (attempt - 1)
        base = min(base, cap.total_seconds())
        spread = (rng or random).uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return timedelta(seconds=max(0.0, base * (1 + spread)))

    def next_delay(self, exc: BaseException, attempt: int) -> timedelta:
        """The wait before the next attempt after ``exc`` ended attempt ``attempt``.

        A ``RetryAfterError`` with a ``retry_after`` is waited exactly (a 429's ``Retry-After``
        is the endpoint's word, so neither ``maximum_interval`` nor jitter applies). Other errors
        may carry the same hint duck-typed, as ``next_retry_delay`` or ``retry_after`` (a
        ``timedelta`` or seconds); without one, ``delay(attempt)``.
        """
        own: object
        if isinstance(exc, RetryAfterError):
            own = exc.retry_after
        else:
            own = getattr(exc, "next_retry_delay", None)
            if own is None:
                own = getattr(exc, "retry_after", None)
        if isinstance(own, timedelta):
            return max(own, timedelta(0))
        if isinstance(own, int | float) and not isinstance(own, bool) and own >= 0:
            return timedelta(seconds=own)
        return self.delay(attempt)


DEFAULT_RETRY = RetryPolicy()
"""The policy of a handler or step declared without one."""
