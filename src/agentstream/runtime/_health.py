"""``BrokerHealth``: whether an agent process reaches its Kafka cluster, from its producer's own
statistics (librdkafka's ``statistics.interval.ms``, every second), so no extra request is made.

The clients reconnect by themselves; what a process owes its operators is to say so once per
change — one log line when the cluster becomes unreachable and one when it is back, with how long
it was away — and to report not-ready on ``/readyz`` meanwhile (gauge ``agentstream_broker_up``).
"""

from __future__ import annotations

import json
import logging
import threading
import time

from agentstream.ops import metrics

__all__ = ["BrokerHealth"]

log = logging.getLogger("agentstream.runtime")

# librdkafka broker states that mean "connected and usable".
_UP = {"UP"}


class BrokerHealth:
    """Tracks reachability of the cluster for one agent (thread-safe reads)."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self._up = True  # until the first statistics say otherwise
        self._changed = time.monotonic()
        self._lock = threading.Lock()
        self._gauge = metrics.BROKER_UP.labels(agent)
        self._gauge.set(1)

    @property
    def up(self) -> bool:
        return self._up

    def on_stats(self, raw: str) -> None:
        """The producer's ``stats_cb`` (called on its poll thread)."""
        try:
            brokers = json.loads(raw).get("brokers", {})
        except ValueError:
            return
        if not brokers:
            return
        self.set_up(any(b.get("state") in _UP for b in brokers.values()))

    def set_up(self, up: bool) -> None:
        with self._lock:
            if up == self._up:
                return
            away = time.monotonic() - self._changed
            self._up, self._changed = up, time.monotonic()
        self._gauge.set(1 if up else 0)
        if up:
            log.warning("agent %s: broker reachable again after %.1fs; resuming", self.agent, away)
        else:
            log.warning(
                "agent %s: broker unreachable; the clients reconnect by themselves, inputs wait "
                "(not ready until it is back)", self.agent,
            )

    def readiness(self) -> tuple[bool, str]:
        if self._up:
            return True, "broker reachable"
        return False, f"broker unreachable for {time.monotonic() - self._changed:.0f}s"
