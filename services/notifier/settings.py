"""Settings of the notifier (env prefix ``AGENTSTREAM_NOTIFIER_``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import Duration, register_settings

__all__ = ["NotifierSettings", "Sink"]

Sink = Literal["console", "jsonl", "webhook"]
Severity = Literal["low", "medium", "high", "critical"]


@register_settings
class NotifierSettings(BaseSettings):
    """Where insights go, and which. ``SINKS`` is a JSON list, e.g. ``["console","jsonl"]``."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_NOTIFIER_", extra="forbid", frozen=True
    )

    agent_name: str = Field(default="notifier", description="Agent (and consumer group) name.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected in.")
    activity_topic: str = Field(default="insights.activity", description="ActivitySummary in.")
    briefings_topic: str = Field(default="insights.briefings", description="BriefingReady in.")
    sinks: frozenset[Sink] = Field(default=frozenset({"console"}), description="Outputs.")
    jsonl_path: Path | None = Field(default=None, description="File the jsonl sink appends to.")
    webhook_url: str | None = Field(
        default=None, description="Slack incoming-webhook URL (or any endpoint taking its JSON)."
    )
    webhook_timeout: Duration = Field(
        default=timedelta(seconds=10), description="Per-request timeout of the webhook."
    )
    min_severity: Severity = Field(
        default="low", description="Risks below this severity are not delivered."
    )
    activity: bool = Field(default=True, description="Deliver ActivitySummary insights too.")


    @model_validator(mode="after")
    def _targets(self) -> NotifierSettings:
        if "jsonl" in self.sinks and self.jsonl_path is None:
            raise ValueError("the jsonl sink needs AGENTSTREAM_NOTIFIER_JSONL_PATH")
        if "webhook" in self.sinks and not self.webhook_url:
            raise ValueError("the webhook sink needs AGENTSTREAM_NOTIFIER_WEBHOOK_URL")
        return self
