"""Metrics of the AI layer (Prometheus default registry), next to ``agentstream.ops.metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from agentstream.ops.metrics import LLM_LATENCY, LLM_REQUESTS, LLM_TOKENS

__all__ = [
    "BUDGET_REMAINING",
    "CONCURRENCY_CAP",
    "COST",
    "EMBEDDING_INPUTS",
    "EMBEDDING_REQUESTS",
    "ERRORS",
    "IN_FLIGHT_CALLS",
    "LIMITER_WAIT",
    "LLM_LATENCY",
    "LLM_REQUESTS",
    "LLM_TOKENS",
    "MEMO_HITS",
    "MEMO_WAIT",
]

_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)

COST = Counter("agentstream_llm_cost_usd_total", "LLM spend from the price table.",
               ["agent", "model"])
ERRORS = Counter("agentstream_llm_errors_total",
                 "Failed LLM requests by kind (rate_limit, server, timeout, connection, request, "
                 "invalid_output).", ["agent", "model", "kind"])
BUDGET_REMAINING = Gauge("agentstream_llm_budget_remaining_tokens",
                         "Tokens left in the agent's daily budget.", ["agent"])
LIMITER_WAIT = Histogram("agentstream_llm_limiter_wait_seconds",
                         "Time a call waited for rate-limiter room or a retry (429 pauses and "
                         "5xx/timeout backoff included).",
                         ["agent"], buckets=_WAIT_BUCKETS)
MEMO_HITS = Counter("agentstream_llm_memo_hits_total",
                    "LLM calls answered from the memo (a redelivered or retried input).",
                    ["agent"])
EMBEDDING_REQUESTS = Counter("agentstream_embedding_requests_total",
                             "Embedding requests (batches).", ["model"])
EMBEDDING_INPUTS = Counter("agentstream_embedding_inputs_total", "Texts embedded.", ["model"])
IN_FLIGHT_CALLS = Gauge("agentstream_llm_in_flight", "LLM requests awaiting an answer.",
                        ["agent"])
CONCURRENCY_CAP = Gauge("agentstream_llm_concurrency_cap",
                        "Handler concurrency allowed by LLM back-pressure (0: no cap).",
                        ["agent"])
MEMO_WAIT = Histogram("agentstream_llm_memo_wait_seconds",
                      "Time a call's memo lookup took (catching up with the memo topic).",
                      ["agent"], buckets=_WAIT_BUCKETS)
