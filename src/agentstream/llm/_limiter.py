"""The per-process rate limiter: requests and tokens per minute, learnt limits, back-pressure.

Two leaky buckets (requests, tokens) refill continuously at the configured (or learnt) rate and
hold at most one second of it, so a burst never outruns the bound. A call takes one request and
its estimated tokens (the estimate is corrected by the answer's usage). A 429 (or a
``x-ratelimit-remaining-*: 0``) closes the limiter until the endpoint's reset time.

Back-pressure: the limiter is a runtime pressure source. The concurrency cap follows AIMD — it
halves on each 429 (down to ``backpressure_min_in_flight``) and grows by one per success — and
while the limiter is closed or callers are queueing for room it asks the consumer to stop
fetching. Every wait has a deadline (``AGENTSTREAM_LLM_LIMITER_WAIT``) and is observed in
``agentstream_llm_limiter_wait_seconds``.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parsedate_to_datetime

from agentstream.errors import LLMSaturatedError
from agentstream.llm import _metrics

__all__ = ["RateLimiter", "parse_reset", "retry_delay"]

_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PRESSURE_HOLD = 2.0  # seconds fetching stays paused after the last sign of pressure


def parse_reset(value: str | None) -> float | None:
    """Seconds in an ``x-ratelimit-reset-*`` value (``"1s"``, ``"6m0s"``, ``"20ms"``, ``"0.5"``)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = list(_DURATION.finditer(value))
    if not parts:
        return None
    return sum(float(m["n"]) * _UNIT[m["unit"]] for m in parts)


def retry_delay(headers: Mapping[str, str]) -> float | None:
    """How long the endpoint asked to wait: ``retry-after-ms``, ``retry-after`` (seconds or HTTP
    date), else the later of ``x-ratelimit-reset-requests``/``-tokens``."""
    h = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in h:
        try:
            return max(0.0, float(h["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    if "retry-after" in h:
        raw = h["retry-after"].strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    resets = [parse_reset(h.get(f"x-ratelimit-reset-{k}")) for k in ("requests", "tokens")]
    known = [r for r in resets if r is not None]
    return max(known) if known else None


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` can be taken (a cost above capacity waits for a full bucket
        and leaves it in debt)."""
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class RateLimiter:
    """Shared by every call of one process (and one agent); see the module docstring."""

    def __init__(
        self,
        *,
        agent: str,
        rpm: int | None = None,
        tpm: int | None = None,
        wait_deadline: timedelta = timedelta(seconds=60),
        min_in_flight: int = 1,
    ) -> None:
        self.agent = agent
        self.configured = (rpm, tpm)
        self._requests = _Bucket(rpm) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self.wait_deadline = wait_deadline.total_seconds()
        self.min_in_flight = min_in_flight
        self.closed_until = 0.0
        self.pressure_until = 0.0
        self.in_flight = 0
        self.waiting = 0
        self.cap: float | None = None  # None: no cap (nothing pushed back yet)
        self.latency: float | None = None  # moving average of call latency, seconds
        self.rate_limited = 0
        self._lock = asyncio.Lock()
        self._wait_hist = _metrics.LIMITER_WAIT.labels(agent)
        self._in_flight_gauge = _metrics.IN_FLIGHT_CALLS.labels(agent)
        self._cap_gauge = _metrics.CONCURRENCY_CAP.labels(agent)

    # -- the runtime pressure source --------------------------------------------------------
    def concurrency_cap(self) -> int | None:
        """AIMD cap after 429s; while callers queue for bucket room, also the concurrency the
        bound can use (rate x latency, with a margin), so handlers do not pile up waiting."""
        caps = []
        if self.cap is not None:
            caps.append(int(self.cap))
        if self.waiting and self._requests is not None and self.latency is not None:
            caps.append(math.ceil(self._requests.rate * self.latency * 1.25) + 2)
        return max(self.min_in_flight, min(caps)) if caps else None

    def fetch_paused(self) -> bool:
        """True while the endpoint pushes back (a 429, or remaining requests at 0)."""
        return time.monotonic() < self.pressure_until

    @property
    def bound_per_second(self) -> float | None:
        """The configured request bound per second (None: unbounded)."""
        return self._requests.rate if self._requests else None

    # -- acquiring ----------------------------------------------------------------------------
    async def acquire(self, tokens: int) -> float:
        """Wait for room for one request of ``tokens``; the seconds waited. Raises
        ``LLMSaturatedError`` when no room comes within the wait deadline."""
        start = time.monotonic()
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_deadline):
                async with self._lock:  # FIFO: the first waiter is served first
                    await self._wait_room(start + self.wait_deadline, tokens)
        except TimeoutError:
            self._observe(start)
            raise self._saturated(1.0) from None
        finally:
            self.waiting -= 1
        self.in_flight += 1
        self._in_flight_gauge.set(self.in_flight)
        return self._observe(start)

    async def _wait_room(self, deadline: float, tokens: int) -> None:
        while True:
            now = time.monotonic()
            wait = self._wait(now, tokens)
            if wait <= 0:
                self._take(tokens)
                return
            if now + wait > deadline:
                raise self._saturated(wait)
            await asyncio.sleep(wait)

    def _saturated(self, wait: float) -> LLMSaturatedError:
        return LLMSaturatedError(
            f"agent {self.agent}: no room in the LLM rate limiter within "
            f"{self.wait_deadline:g}s (rpm/tpm {self.configured}, closed for "
            f"{max(0.0, self.closed_until - time.monotonic()):.1f}s more)",
            next_retry_delay=timedelta(seconds=max(wait, 1.0)),
        )

    def _observe(self, start: float) -> float:
        waited = time.monotonic() - start
        self._wait_hist.observe(waited)
        return waited

    def _wait(self, now: float, tokens: int) -> float:
        wait = self.closed_until - now
        for bucket, cost in ((self._requests, 1), (self._tokens, tokens)):
            if bucket is not None:
                bucket.refill(now)
                wait = max(wait, bucket.wait_for(cost))
        return wait

    def _take(self, tokens: int) -> None:
        if self._requests is not None:
            self._requests.level -= 1
        if self._tokens is not None:
            self._tokens.level -= tokens

    # -- outcomes -------------------------------------------------------------------------------
    def release(self, latency: float | None = None) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if latency is not None:
            self.latency = latency if self.latency is None else 0.9 * self.latency + 0.1 * latency
        self._in_flight_gauge.set(self.in_flight)

    def succeeded(self, *, estimated: int, used: int | None, headers: Mapping[str, str]) -> None:
        if self._tokens is not None and used is not None:
            self._tokens.level -= used - estimated
        self.learn(headers)
        if self.cap is not None:
            self.cap += 1.0
            if self.cap > 4 * max(self.in_flight, 1) + 64:
                self.cap = None  # recovered: no cap
            self._cap_gauge.set(self.cap or 0)

    def rate_limited_for(self, delay: float) -> None:
        """A 429: close until the endpoint's reset, halve the concurrency cap, pause fetching."""
        self.rate_limited += 1
        now = time.monotonic()
        self.closed_until = max(self.closed_until, now + delay)
        self.pressure_until = max(self.pressure_until, now + delay + _PRESSURE_HOLD)
        base = self.cap if self.cap is not None else max(self.in_flight, 1)
        self.cap = max(float(self.min_in_flight), base / 2)
        self._cap_gauge.set(self.cap)

    def learn(self, headers: Mapping[str, str]) -> None:
        """Adopt the endpoint's limits (``x-ratelimit-limit-*``) when none are configured, and
        close the limiter until reset when ``x-ratelimit-remaining-*`` reaches 0."""
        h = {k.lower(): v for k, v in headers.items()}
        for kind, configured in (("requests", self.configured[0]), ("tokens", self.configured[1])):
            limit = _int(h.get(f"x-ratelimit-limit-{kind}"))
            if limit and configured is None:
                bucket = self._requests if kind == "requests" else self._tokens
                if bucket is None or abs(bucket.rate * 60 - limit) > 0.5:
                    fresh = _Bucket(limit)
                    if kind == "requests":
                        self._requests = fresh
                    else:
                        self._tokens = fresh
            if _int(h.get(f"x-ratelimit-remaining-{kind}")) == 0:
                reset = parse_reset(h.get(f"x-ratelimit-reset-{kind}"))
                if reset:
                    until = time.monotonic() + reset
                    self.closed_until = max(self.closed_until, until)
                    self.pressure_until = max(self.pressure_until, until)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
