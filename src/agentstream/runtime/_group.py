"""Which consumer group protocol an agent's consumer speaks: KIP-848 ``consumer`` or ``classic``.

``AgentSettings.group_protocol`` (env ``AGENTSTREAM_AGENT_GROUP_PROTOCOL``):

- ``"consumer"``: librdkafka's ``group.protocol=consumer`` (KIP-848, Apache Kafka >= 4.0). The
  broker's group coordinator assigns partitions and members reconcile incrementally: a joining
  process takes partitions without a stop-the-world rebalance of the others. The classic-only
  client properties (``partition.assignment.strategy``, ``session.timeout.ms``,
  ``heartbeat.interval.ms``, ``group.protocol.type``) are refused by librdkafka under it, so they
  are dropped from the configuration with a warning; the session timeout and heartbeat interval
  are broker-side then (``group.consumer.session.timeout.ms``, default 45 s, and
  ``group.consumer.heartbeat.interval.ms``, default 5 s, or per group
  ``consumer.session.timeout.ms``), and the assignor is ``group.remote.assignor``.
- ``"classic"``: the JoinGroup/SyncGroup protocol, as before; ``group.remote.assignor`` is dropped.
- ``"auto"`` (default): ``consumer`` when the broker supports it, else ``classic``. Support is
  read from the brokers' ApiVersions answer (librdkafka's own ``debug=feature`` log of it, on a
  short-lived admin client with the agent's security settings, one metadata round trip, cached
  per process): every broker that answered must advertise ``ConsumerGroupHeartbeat`` (API key 68).
  A broker that does not answer within the probe's deadline means ``classic``. When the
  pass-through ``librdkafka`` settings name a classic-only property, ``auto`` keeps ``classic``:
  whoever tuned the session timeout or the assignor relies on that protocol's behaviour (a
  SIGKILLed member's partitions move after ``session.timeout.ms``, not after the broker's 45 s);
  a raw ``group.protocol`` there is followed too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal

from agentstream.bus import MEMORY_SCHEME, make_admin
from agentstream.config import KafkaSettings
from agentstream.runtime._settings import GroupProtocol

__all__ = [
    "CLASSIC_ONLY_PROPERTIES",
    "CONSUMER_ONLY_PROPERTIES",
    "GroupProtocol",
    "broker_supports_consumer_protocol",
    "group_consumer_config",
    "resolve_group_protocol",
]

log = logging.getLogger("agentstream.runtime")

CLASSIC_ONLY_PROPERTIES = (
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "group.protocol.type",
)
CONSUMER_ONLY_PROPERTIES = ("group.remote.assignor",)

_CONSUMER_GROUP_HEARTBEAT = 68  # the KIP-848 API key
_API_LIST = re.compile(r"(?P<broker>\S+): Broker API support:")
_API_KEY = re.compile(r"(?P<broker>\S+):\s+ApiKey \S+ \((?P<key>\d+)\) Versions")
_PROBE_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], bool | None] = {}
_PROBE_LOCK = threading.Lock()


class _Collect:
    """A librdkafka ``logger``: keeps the lines of the ApiVersions answers."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, _level: int, fmt: str, *args: Any) -> None:
        self.lines.append(fmt % args if args else fmt)


def _parse(lines: list[str]) -> bool | None:
    listed: set[str] = set()
    with_api: set[str] = set()
    for line in lines:
        if m := _API_LIST.search(line):
            listed.add(m["broker"])
        elif (m := _API_KEY.search(line)) and int(m["key"]) == _CONSUMER_GROUP_HEARTBEAT:
            with_api.add(m["broker"])
    if not listed:
        return None
    return listed <= with_api


def broker_supports_consumer_protocol(
    kafka: KafkaSettings, *, timeout: timedelta = timedelta(seconds=5)
) -> bool | None:
    """True when the brokers advertise KIP-848's ``ConsumerGroupHeartbeat``; False when one that
    answered does not; None when none answered within ``timeout``. Cached per process for the
    same bootstrap servers and pass-through settings (a successful answer only)."""
    if kafka.bootstrap_servers.startswith(MEMORY_SCHEME):
        return False  # the in-memory bus runs the classic (eager) protocol
    key = (kafka.bootstrap_servers, tuple(sorted((k, str(v)) for k, v in kafka.librdkafka.items())))
    with _PROBE_LOCK:
        if _PROBE_CACHE.get(key) is not None:
            return _PROBE_CACHE[key]
    collect = _Collect()
    conf = kafka.client_config(**{"debug": "feature", "logger": collect})
    deadline = time.monotonic() + timeout.total_seconds()
    admin = make_admin(conf)
    try:
        admin.list_topics(timeout=max(timeout.total_seconds(), 0.1))
    except Exception as exc:  # unreachable, unauthorised: the caller falls back to classic
        log.info("group protocol probe: no metadata from %s (%s)", kafka.bootstrap_servers, exc)
    # Logs are served by poll(); the answers were logged before the metadata request was sent.
    found = None
    while found is None and time.monotonic() < deadline:
        admin.poll(0.05)
        found = _parse(collect.lines)
    admin.poll(0.05)  # the other brokers' answers already queued
    found = _parse(collect.lines)
    if found is not None:
        with _PROBE_LOCK:
            _PROBE_CACHE[key] = found
    return found


def resolve_group_protocol(
    protocol: GroupProtocol,
    kafka: KafkaSettings,
    *,
    probe: Callable[[KafkaSettings], bool | None] = broker_supports_consumer_protocol,
) -> Literal["consumer", "classic"]:
    """``consumer`` or ``classic`` for ``protocol`` (``auto`` asks ``probe``, see the module)."""
    raw = str(kafka.librdkafka.get("group.protocol", "")).lower()
    if protocol != "auto":
        if raw and raw != protocol:
            log.warning("group_protocol=%s overrides librdkafka group.protocol=%s", protocol, raw)
        return protocol
    if raw in ("consumer", "classic"):
        return "consumer" if raw == "consumer" else "classic"
    tuned = [k for k in CLASSIC_ONLY_PROPERTIES if k in kafka.librdkafka]
    if tuned:
        log.info("group protocol auto: classic, because the librdkafka settings name %s",
                 ", ".join(tuned))
        return "classic"
    supported = probe(kafka)
    chosen: Literal["consumer", "classic"] = "consumer" if supported else "classic"
    log.info("group protocol auto: %s (broker %s KIP-848)", chosen,
             {True: "supports", False: "does not support", None: "did not answer about"}[supported])
    return chosen


def group_consumer_config(
    protocol: GroupProtocol,
    kafka: KafkaSettings,
    conf: Mapping[str, Any],
    *,
    probe: Callable[[KafkaSettings], bool | None] = broker_supports_consumer_protocol,
) -> dict[str, Any]:
    """``conf`` (a consumer's librdkafka configuration) with ``group.protocol`` set for
    ``protocol`` and the properties that protocol refuses removed (a warning names them)."""
    chosen = resolve_group_protocol(protocol, kafka, probe=probe)
    refused = CLASSIC_ONLY_PROPERTIES if chosen == "consumer" else CONSUMER_ONLY_PROPERTIES
    out = {k: v for k, v in conf.items() if k not in refused}
    dropped = sorted(set(conf) - set(out))
    if dropped:
        log.warning(
            "group.protocol=%s: ignoring %s (%s)", chosen, ", ".join(dropped),
            "broker-side under KIP-848: group.consumer.* broker or consumer.* group configs"
            if chosen == "consumer" else "only the consumer protocol has a remote assignor",
        )
    out["group.protocol"] = chosen
    return out
