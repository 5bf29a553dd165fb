"""Settings of the activity app (env prefix ``AGENTSTREAM_ACTIVITY_``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import Duration, register_settings

__all__ = ["ActivitySettings"]


@register_settings
class ActivitySettings(BaseSettings):
    """Topics, windows and when a window's summary is published; durations in seconds or ISO."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_ACTIVITY_", extra="forbid", frozen=True
    )

    app_id: str = Field(default="activity", description="Faust app id (group, table topics).")
    instance_id: str | None = Field(
        default=None, description="Consumer client.id and topology instance (default random)."
    )
    code_topic: str = Field(default="events.code", description="Code events in.")
    chat_topic: str = Field(default="events.chat", description="Chat events in.")
    activity_topic: str = Field(default="insights.activity", description="ActivitySummary out.")
    partitions: int = Field(
        default=3, ge=1, description="Partitions of the inputs (tables and repartition topics "
        "get as many)."
    )
    state_dir: Path = Field(
        default=Path(".agentstream/faust"), description="Faust's local table data directory."
    )
    team: str | None = Field(default=None, description="Team name put on every summary.")
    grace: Duration = Field(
        default=timedelta(minutes=1),
        description="A window is summarised once it ended this long ago (wall clock) ...",
    )
    idle: Duration = Field(
        default=timedelta(seconds=3),
        description="... and got no event for this long; a late event publishes a revision.",
    )
    flush_interval: Duration = Field(
        default=timedelta(seconds=2), description="How often finished windows are looked for."
    )
    evidence_limit: int = Field(default=100, ge=1, description="Event ids cited per window.")

