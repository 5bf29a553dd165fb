"""``MemorySettings``: where an agent process keeps its memory (env ``AGENTSTREAM_MEMORY_``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import ENV_PREFIX, Duration, register_settings

__all__ = ["MemorySettings"]


@register_settings
class MemorySettings(BaseSettings):
    """Memory settings of one agent process.

    Every field reads ``AGENTSTREAM_MEMORY_<FIELD>`` (e.g. ``AGENTSTREAM_MEMORY_STATE_DIR=/var/
    lib/agentstream``); durations accept seconds or ISO 8601.
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}MEMORY_", extra="forbid", frozen=True
    )

    state_dir: Path | None = Field(
        default=None,
        description="Durable state directory: stores with backend='rocksdb' keep each partition "
        "in <state_dir>/<agent>/<store>/<partition> across restarts, and a start reads only the "
        "changelog tail past each partition's local checkpoint. One directory per process "
        "(locked). Default: none (a temporary directory, full restore on every start).",
    )
    checkpoint_max_age: Duration = Field(
        default=timedelta(hours=12),
        description="A local checkpoint older than this, with changelog records after it, is "
        "not trusted (full restore): compaction drops tombstones after the changelog's "
        "delete.retention.ms (Kafka's default 24 h), so a tail that old may miss deletes. Keep "
        "it below the changelogs' delete.retention.ms.",
    )
    prune_after: Duration | None = Field(
        default=None,
        description="On start, remove partition databases in the state directory last used "
        "longer ago than this (partitions this process no longer gets would otherwise keep "
        "their disk space). Default: keep them all.",
    )
    restore_timeout: Duration = Field(
        default=timedelta(minutes=10),
        description="Deadline of one partition's restore (all its stores).",
    )
    restore_concurrency: int = Field(default=4, ge=1, description="Partitions restored at once.")

