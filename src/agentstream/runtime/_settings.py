"""``AgentSettings``: how one agent process runs (env prefix ``AGENTSTREAM_AGENT_``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import ENV_PREFIX, Duration, register_settings
from agentstream.policy import DeliveryMode

__all__ = ["AgentSettings", "DeliveryMode", "GroupProtocol"]

GroupProtocol = Literal["auto", "consumer", "classic"]
"""The consumer group protocol of an agent (``AgentSettings.group_protocol``)."""


@register_settings
class AgentSettings(BaseSettings):
    """Runtime settings of one agent process; Kafka access itself is ``KafkaSettings``.

    Every field reads ``AGENTSTREAM_AGENT_<FIELD>`` (e.g. ``AGENTSTREAM_AGENT_MAX_IN_FLIGHT=32``);
    durations accept seconds or ISO 8601 (``PT30S``).
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}AGENT_", extra="forbid", frozen=True
    )

    group_id: str | None = Field(
        default=None, description="Consumer group; default: the agent's name."
    )
    mode: DeliveryMode = Field(
        default="at-least-once",
        description="at-least-once (idempotent producer + dedupe on event id) or exactly-once "
        "(one Kafka transaction per commit: outputs, dedupe markers, memory changelogs + input "
        "offsets).",
    )
    max_in_flight: int = Field(default=64, ge=1, description="Handlers running at once.")
    max_pending: int | None = Field(
        default=None, ge=1,
        description="Accepted but unfinished records before fetching pauses "
        "(default max(2000, 16 x max_in_flight)).",
    )
    commit_interval: Duration = Field(
        default=timedelta(seconds=1), description="How often offsets (or transactions) commit."
    )
    shutdown_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="On SIGTERM or revocation, how long running handlers may finish.",
    )
    dedupe_window: Duration = Field(
        default=timedelta(minutes=10),
        description="How long handled event ids are remembered (across restarts), in both "
        "modes: a redelivery, an upstream duplicate or a repeated dead-letter replay within it "
        "is handled once; exactly-once writes the markers in the transaction. 0 disables dedupe.",
    )
    ops_host: str = Field(default="0.0.0.0", description="Bind address of /metrics, /healthz.")
    ops_port: int | None = Field(
        default=0, description="Port of /metrics, /healthz, /readyz; 0 = random, None or -1 = off."
    )
    instance_id: str | None = Field(
        default=None,
        description="Stable id of this process among its group (e.g. a StatefulSet pod name); "
        "exactly-once uses it in transactional.id so a restarted process fences its "
        "predecessor at once. Default: random per start.",
    )
    batch_size: int = Field(default=500, ge=1, description="Max records fetched per poll.")
    group_protocol: GroupProtocol = Field(
        default="auto",
        description="Consumer group protocol: consumer (KIP-848: the broker assigns partitions, "
        "members reconcile incrementally, no stop-the-world rebalance; Apache Kafka >= 4.0), "
        "classic (JoinGroup/SyncGroup), or auto: consumer when the brokers advertise it and no "
        "classic-only librdkafka property (session.timeout.ms, heartbeat.interval.ms, "
        "partition.assignment.strategy) is set, else classic. See docs/runtime.md.",
    )
    gc_tuning: bool = Field(
        default=True,
        description="While the agent runs: freeze start-up objects out of Python's cyclic "
        "garbage collector and raise its generation-0 threshold (a busy agent otherwise spends "
        "~15% of its CPU in collections). False keeps the interpreter's settings.",
    )

