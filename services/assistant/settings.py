"""Settings of the assistant (env ``AGENTSTREAM_ASSISTANT_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import register_settings

__all__ = ["AssistantSettings"]


@register_settings
class AssistantSettings(BaseSettings):
    """Where questions come from, where answers go, and what the assistant may read."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_ASSISTANT_", extra="forbid", frozen=True
    )

    slack_base_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (a stub in tests)."
    )
    slack_bot_token: SecretStr = Field(
        default=SecretStr(""), description="Bot token (xoxb-...) for chat.postMessage."
    )
    bot_user_id: str = Field(default="U0ASSIST", description="The bot's Slack user id.")
    chat_topic: str = Field(default="events.chat", description="MessagePosted in.")
    answers_topic: str = Field(default="insights.answers", description="AssistantAnswered out.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected read.")
    repos: list[str] = Field(
        default=["acme/payments", "acme/web", "acme/infra"],
        description="Repositories a question may name by their short name ('payments').",
    )
    indexer_url: str | None = Field(default=None, description="Indexer search endpoint.")
    team_memory_url: str | None = Field(
        default=None,
        description="team-memory's ops endpoint (http://host:port): the review graph; unset = "
        "derived from retrieval.",
    )
    workflow_name: str = Field(default="assistant", description="Workflow name (runs topic).")
    max_sources: int = Field(default=6, description="Sources cited per answer at most.")
