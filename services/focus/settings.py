"""Settings of the focus service (env prefix ``AGENTSTREAM_FOCUS_``)."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import Duration, register_settings

__all__ = ["FocusSettings"]


@register_settings
class FocusSettings(BaseSettings):
    """Working hours, thresholds and topics; durations in seconds or ISO 8601."""

    model_config = SettingsConfigDict(env_prefix="AGENTSTREAM_FOCUS_", extra="forbid", frozen=True)

    agent_name: str = Field(default="focus", description="Agent (and consumer group) name.")
    code_topic: str = Field(default="events.code", description="Code activity in.")
    chat_topic: str = Field(default="events.chat", description="Chat activity in.")
    calendar_topic: str = Field(default="events.calendar", description="Meetings in.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected out.")
    activity_topic: str = Field(default="insights.activity", description="ActivitySummary out.")
    team: str = Field(default="team", description="Team name of the team-level insights.")
    timezone: str = Field(default="UTC", description="The team's time zone (IANA name).")
    workday_start: time = Field(default=time(9, 0), description="Working hours start (local).")
    workday_end: time = Field(default=time(18, 0), description="Working hours end (local).")
    workdays: frozenset[int] = Field(
        default=frozenset({0, 1, 2, 3, 4}), description="Working weekdays, Monday = 0."
    )
    deep_work_min: Duration = Field(
        default=timedelta(hours=2), description="A free stretch this long is a deep-work block."
    )
    max_meeting_hours: float = Field(
        default=15.0, gt=0, description="More meeting hours in a week is a meeting overload."
    )
    min_deep_work_blocks: int = Field(
        default=3, ge=0, description="Fewer deep-work blocks in a week (with meetings) is a risk."
    )
    after_hours_min_events: int = Field(
        default=3, ge=1, description="A team week with at least this many events outside "
        "working hours or on weekends ...",
    )
    after_hours_share: float = Field(
        default=0.05, ge=0, le=1, description="... that are at least this share of its events "
        "is reported.",
    )
    summary_delay: Duration = Field(
        default=timedelta(seconds=10),
        description="A week's ActivitySummary is published once its numbers stopped changing "
        "for this long (a durable timer, re-armed by every change).",
    )
    weeks_kept: int = Field(default=8, ge=1, description="Weeks of state kept per entity.")
    evidence_limit: int = Field(default=50, ge=1, description="Event ids cited at most.")


    @model_validator(mode="after")
    def _check(self) -> FocusSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} (use an IANA name)") from exc
        if self.workday_end <= self.workday_start:
            raise ValueError("workday_end must be after workday_start")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
