"""The platform's Prometheus metrics, registered once per process in the default registry."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BROKER_UP",
    "COMMIT_LATENCY",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "EVENTS_IN",
    "EVENTS_OUT",
    "HANDLER_LATENCY",
    "IN_FLIGHT",
    "LLM_LATENCY",
    "LLM_REQUESTS",
    "LLM_TOKENS",
    "RESTORE_RECORDS",
    "RESTORE_SECONDS",
    "RETRIES",
    "TIMERS_FIRED",
    "WORKFLOW_CHECKPOINT_LATENCY",
    "WORKFLOW_RUNS",
    "WORKFLOW_STEPS",
    "observe_commit",
    "observe_many",
]

_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

EVENTS_IN = Counter(
    "agentstream_events_in_total", "Events consumed by an agent.", ["agent", "topic", "type"]
)
EVENTS_OUT = Counter(
    "agentstream_events_out_total", "Events emitted by an agent.", ["agent", "topic", "type"]
)
HANDLER_LATENCY = Histogram(
    "agentstream_handler_latency_seconds",
    "Time from handler start to finish, retries included.",
    ["agent", "type"],
    buckets=_LATENCY_BUCKETS,
)
RETRIES = Counter("agentstream_retries_total", "Handler retries.", ["agent", "type"])
DEAD_LETTERS = Counter(
    "agentstream_dead_letters_total", "Events sent to the dead-letter topic.", ["agent", "stage"]
)
IN_FLIGHT = Gauge("agentstream_in_flight", "Events being handled right now.", ["agent"])
CONSUMER_LAG = Gauge(
    "agentstream_consumer_lag",
    "High watermark minus committed offset.",
    ["agent", "topic", "partition"],
)
LLM_REQUESTS = Counter(
    "agentstream_llm_requests_total", "LLM calls by outcome.", ["agent", "model", "outcome"]
)
LLM_TOKENS = Counter("agentstream_llm_tokens_total", "LLM tokens used.", ["agent", "model", "kind"])
LLM_LATENCY = Histogram(
    "agentstream_llm_latency_seconds",
    "LLM call latency.",
    ["agent", "model"],
    buckets=_LATENCY_BUCKETS,
)
WORKFLOW_CHECKPOINT_LATENCY = Histogram(
    "agentstream_workflow_checkpoint_seconds",
    "Time to write and have acknowledged one workflow run checkpoint.",
    ["workflow"],
    buckets=_LATENCY_BUCKETS,
)
WORKFLOW_STEPS = Counter(
    "agentstream_workflow_steps_total",
    "Workflow steps finished, by outcome.",
    ["workflow", "step", "outcome"],
)
TIMERS_FIRED = Counter(
    "agentstream_timers_fired_total",
    "Durable timers fired (a re-fire after a crash counts).",
    ["service"],
)
BROKER_UP = Gauge(
    "agentstream_broker_up",
    "1 while the agent's consumer reaches a broker of its cluster, 0 while none is reachable.",
    ["agent"],
)

# -- operations additions: commits, restores, workflow outcomes ----------------------------------
COMMIT_LATENCY = Histogram(
    "agentstream_commit_latency_seconds",
    "Time of one offset commit (or one transaction commit) that committed something.",
    ["agent"],
    buckets=_LATENCY_BUCKETS,
)
RESTORE_RECORDS = Counter(
    "agentstream_restore_records_total",
    "Changelog records read back into local memory state on partition assignment.",
    ["store"],
)
RESTORE_SECONDS = Histogram(
    "agentstream_restore_seconds",
    "Time to restore one partition's memory stores, from assignment to ACTIVE.",
    buckets=_LATENCY_BUCKETS,
)
WORKFLOW_RUNS = Counter(
    "agentstream_workflow_runs_total",
    "Workflow runs that ended, by outcome (succeeded | failed).",
    ["workflow", "outcome"],
)


def observe_commit(agent: str, outcome: str, seconds: float) -> None:
    """Record one commit's latency when it committed something (the pump calls it)."""
    if outcome == "committed":
        COMMIT_LATENCY.labels(agent).observe(seconds)


def observe_many(child: Any, amounts: Iterable[float]) -> None:
    """``child.observe(a)`` for every amount, with one increment per bucket instead of one per
    amount (the runtime observes every input's handler latency; it sums them between flushes).

    ``child`` is a labelled ``Histogram``; its buckets are read from prometheus-client's
    ``_upper_bounds``, ``_buckets`` and ``_sum`` (a unit test pins the result to ``observe``).
    """
    bounds = child._upper_bounds
    counts = [0] * len(bounds)
    total = 0.0
    for amount in amounts:
        counts[bisect_left(bounds, amount)] += 1  # the first bound >= amount, as observe
        total += amount
    child._sum.inc(total)
    for bucket, n in zip(child._buckets, counts, strict=True):
        if n:
            bucket.inc(n)
