"""The platform's Prometheus metrics, registered once per process in the default registry."""

from __future__ import annotations

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
