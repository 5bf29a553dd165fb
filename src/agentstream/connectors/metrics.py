"""Connector metrics (Prometheus default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["GATEWAY_ACK_LATENCY", "GATEWAY_REQUESTS", "NORMALIZER_SKIPPED", "skip_label"]

GATEWAY_REQUESTS = Counter(
    "agentstream_gateway_requests_total",
    "Webhook requests by source, event and outcome (stored, duplicate, ignored, handshake, "
    "unauthorized, too_large, bad_request, unavailable).",
    ["source", "event", "outcome"],
)
GATEWAY_ACK_LATENCY = Histogram(
    "agentstream_gateway_ack_latency_seconds",
    "Time from producing a raw record to Kafka's acknowledgement.",
    ["source"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
NORMALIZER_SKIPPED = Counter(
    "agentstream_normalizer_skipped_total",
    "Raw records that carried nothing of interest, by source and reason.",
    ["source", "reason"],
)


def skip_label(reason: str) -> str:
    """The metric label of a skip reason: the part before ':' (e.g. 'pull_request.labeled')."""
    return reason.split(":", 1)[0].strip()[:80]
