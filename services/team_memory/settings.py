"""Settings of team-memory (env prefix ``AGENTSTREAM_TEAM_MEMORY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import register_settings

__all__ = ["TeamMemorySettings"]


@register_settings
class TeamMemorySettings(BaseSettings):
    """Topics, the team's name and how much recent activity each profile keeps."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_TEAM_MEMORY_", extra="forbid", frozen=True
    )

    agent_name: str = Field(default="team-memory", description="Agent (and group) name.")
    code_topic: str = Field(default="events.code", description="Code events in.")
    chat_topic: str = Field(default="events.chat", description="Chat events in.")
    calendar_topic: str = Field(default="events.calendar", description="Calendar events in.")
    team: str = Field(default="team", description="The team every person and repository is in.")
    recent_limit: int = Field(
        default=50, ge=1, description="Recent activity entries kept per profile (newest first)."
    )
