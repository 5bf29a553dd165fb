"""Operations: Prometheus metrics and the per-process HTTP endpoints (/metrics, /healthz, /readyz).

Every AgentStream process serves these on its ops port so that Prometheus scrapes it and an
orchestrator probes it. Metric names follow Prometheus conventions (``_total`` counters,
``_seconds`` histograms) and carry the ``agent`` label, so one dashboard covers every agent.
"""

from __future__ import annotations

from agentstream.ops import metrics
from agentstream.ops._health import broker_check
from agentstream.ops._server import OpsServer

__all__ = ["OpsServer", "broker_check", "metrics"]
