"""Scrape agents' ``/metrics`` and ``/readyz`` and sum them per agent (the ``agent`` label).

Rates are the change between this scrape and the previous one the console made (per process),
so the first page load shows totals and the next ones show rates as well.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["AgentMetrics", "Scraper", "TargetStatus"]


@dataclass
class AgentMetrics:
    """What the console shows of one agent, summed over the instances scraped."""

    events_in: dict[tuple[str, str], float] = field(default_factory=dict)  # (topic, type)
    events_out: dict[tuple[str, str], float] = field(default_factory=dict)
    dead_letters: dict[str, float] = field(default_factory=dict)  # stage
    retries: float = 0.0
    in_flight: float = 0.0
    lag: dict[tuple[str, str], float] = field(default_factory=dict)  # (topic, partition)
    latency_sum: float = 0.0
    latency_count: float = 0.0
    in_rate: float | None = None
    out_rate: float | None = None

    @property
    def total_in(self) -> float:
        return sum(self.events_in.values())

    @property
    def total_out(self) -> float:
        return sum(self.events_out.values())

    @property
    def total_dead(self) -> float:
        return sum(self.dead_letters.values())

    @property
    def total_lag(self) -> float:
        return sum(self.lag.values())

    @property
    def mean_latency(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count else None


@dataclass(frozen=True)
class TargetStatus:
    url: str
    ok: bool
    ready: bool | None
    detail: str


def _add(into: dict[Any, float], key: Any, value: float) -> None:
    into[key] = into.get(key, 0.0) + value


def parse_metrics(text: str, into: dict[str, AgentMetrics]) -> None:
    """Fold one Prometheus text exposition into per-agent totals."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            agent = s.labels.get("agent")
            if agent is None:
                continue
            m = into.setdefault(agent, AgentMetrics())
            name, lb, v = s.name, s.labels, float(s.value)
            if name == "agentstream_events_in_total":
                _add(m.events_in, (lb.get("topic", ""), lb.get("type", "")), v)
            elif name == "agentstream_events_out_total":
                _add(m.events_out, (lb.get("topic", ""), lb.get("type", "")), v)
            elif name == "agentstream_dead_letters_total":
                _add(m.dead_letters, lb.get("stage", ""), v)
            elif name == "agentstream_retries_total":
                m.retries += v
            elif name == "agentstream_in_flight":
                m.in_flight += v
            elif name == "agentstream_consumer_lag":
                _add(m.lag, (lb.get("topic", ""), lb.get("partition", "")), v)
            elif name == "agentstream_handler_latency_seconds_sum":
                m.latency_sum += v
            elif name == "agentstream_handler_latency_seconds_count":
                m.latency_count += v


class Scraper:
    """Scrapes a set of ops base URLs concurrently, with a deadline per request."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._previous: dict[str, tuple[float, float, float]] = {}  # agent -> (t, in, out)

    async def scrape(
        self, urls: list[str]
    ) -> tuple[dict[str, AgentMetrics], list[TargetStatus]]:
        by_agent: dict[str, AgentMetrics] = defaultdict(AgentMetrics)
        statuses: list[TargetStatus] = []
        if urls:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                results = await asyncio.gather(*(self._one(client, u) for u in urls))
            for status, text in results:
                statuses.append(status)
                if text:
                    parse_metrics(text, by_agent)
        now = time.monotonic()
        for agent, m in by_agent.items():
            prev = self._previous.get(agent)
            if prev is not None and now - prev[0] > 0.5:
                dt = now - prev[0]
                m.in_rate = max(0.0, (m.total_in - prev[1]) / dt)
                m.out_rate = max(0.0, (m.total_out - prev[2]) / dt)
            if prev is None or now - prev[0] > 0.5:
                self._previous[agent] = (now, m.total_in, m.total_out)
        return dict(by_agent), statuses

    @staticmethod
    async def _one(client: httpx.AsyncClient, url: str) -> tuple[TargetStatus, str | None]:
        base = url.rstrip("/")
        try:
            resp = await client.get(f"{base}/metrics")
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            return TargetStatus(base, False, None, f"unreachable: {type(exc).__name__}"), None
        ready: bool | None
        try:
            ready = (await client.get(f"{base}/readyz")).status_code == 200
        except httpx.HTTPError:
            ready = None
        return TargetStatus(base, True, ready, "ok"), resp.text
