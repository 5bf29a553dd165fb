"""Settings of the daily-briefing service (env ``AGENTSTREAM_BRIEFING_*``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import register_settings

__all__ = ["BriefingSettings"]


@register_settings
class BriefingSettings(BaseSettings):
    """Where the briefing reads and writes, when it runs, and which model writes it."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_BRIEFING_", extra="forbid", frozen=True
    )

    teams: list[str] = Field(default=["payments-team"], description="Teams briefed daily.")
    audience: str = Field(default="C0ENG", description="Who a scheduled briefing is for.")
    schedule: str = Field(
        default="weekdays 08:30 UTC",
        description="When scheduled briefings run (agentstream.workflow schedule syntax: "
        "'weekdays 09:00 Europe/Berlin', cron, ...). Empty = on request only.",
    )
    workflow_name: str = Field(
        default="daily-briefing",
        description="Workflow name (its runs topic is workflows.<name>.runs).",
    )
    period: timedelta = Field(default=timedelta(days=7), description="Period a briefing covers.")
    requests_topic: str = Field(default="events.assistant", description="BriefingRequested in.")
    briefings_topic: str = Field(default="insights.briefings", description="BriefingReady out.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected gathered.")
    activity_topic: str = Field(
        default="insights.activity", description="ActivitySummary gathered."
    )
    indexer_url: str | None = Field(
        default=None,
        description="The indexer's search endpoint (http://host:port); unset = no retrieval.",
    )
    team_memory_url: str | None = Field(
        default=None,
        description="team-memory's HTTP endpoint, its ops port (http://host:port): open pull "
        "requests, pending reviews and who is overloaded; unset = not used (logged once).",
    )
    overloaded_reviews: int = Field(
        default=3, ge=1, description="Pending reviews from which a person counts as overloaded."
    )
    max_items: int = Field(default=12, description="Evidence items per section in the prompt.")
    pause_before_publish: Path | None = Field(
        default=None,
        description="Drill hook: the publish step waits until this file exists (crash tests).",
    )
