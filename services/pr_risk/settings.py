"""Settings of the pr-risk service (env prefix ``AGENTSTREAM_PR_RISK_``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import Duration, register_settings

__all__ = ["PrRiskSettings"]


@register_settings
class PrRiskSettings(BaseSettings):
    """Thresholds and topics of the pr-risk service; durations in seconds or ISO 8601."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_PR_RISK_", extra="forbid", frozen=True
    )

    agent_name: str = Field(default="pr-risk", description="Agent (and consumer group) name.")
    code_topic: str = Field(default="events.code", description="Semantic code events in.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected out.")
    team: str | None = Field(default=None, description="Team name put on every insight.")
    first_review_within: Duration = Field(
        default=timedelta(hours=24),
        description="The team's agreement: a ready pull request gets a first review within this.",
    )
    replay_grace: Duration = Field(
        default=timedelta(seconds=30),
        description="A stale-review timer that would already be due (events replayed from the "
        "past) fires no sooner than this after its pull request was seen, so reviews later in "
        "the same replay can cancel it.",
    )
    large_pr_lines: int = Field(default=400, ge=1, description="More changed lines is large.")
    large_pr_files: int = Field(default=20, ge=1, description="More changed files is large.")
    reviewer_max_pending: int = Field(
        default=4, ge=1, description="More pending review requests than this is an overload."
    )
    imbalance_ratio: float = Field(
        default=2.0, gt=1.0,
        description="Review load is imbalanced when the busiest reviewer has this many times "
        "the team's mean pending reviews ...",
    )
    imbalance_min_pending: int = Field(
        default=3, ge=1, description="... and at least this many pending reviews."
    )
    default_branches: frozenset[str] = Field(
        default=frozenset({"main", "master"}),
        description="Branches whose failing build is a high risk (JSON list in the env).",
    )

