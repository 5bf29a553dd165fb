"""``ConsoleSettings``: where the console listens, who may see it, what it reads."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import ENV_PREFIX, Duration, register_settings
from agentstream.errors import AgentStreamError

__all__ = ["ConsoleAccessError", "ConsoleSettings", "is_loopback"]


class ConsoleAccessError(AgentStreamError):
    """The console would be reachable from other machines without a token: set
    ``AGENTSTREAM_CONSOLE_TOKEN`` (or bind to 127.0.0.1)."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for 0.0.0.0 and every other address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@register_settings
class ConsoleSettings(BaseSettings):
    """Settings of ``agentstream console`` (environment: ``AGENTSTREAM_CONSOLE_*``).

    Kafka itself is reached through ``KafkaSettings`` (``AGENTSTREAM_BOOTSTRAP_SERVERS`` ...).
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}CONSOLE_", extra="forbid", frozen=True
    )

    host: str = Field(default="127.0.0.1", description="Bind address; loopback by default.")
    port: int = Field(default=8700, ge=0, le=65535, description="HTTP port.")
    token: SecretStr | None = Field(
        default=None,
        description="Access token, required when bound to a non-loopback address: sent as "
        "'Authorization: Bearer <token>' or as the password of HTTP basic auth (any user name).",
    )
    ops_urls: list[str] = Field(
        default_factory=list,
        description="Base URLs of agents' ops endpoints to scrape (e.g. http://risk-agent:9400); "
        "metrics are grouped by their 'agent' label.",
    )
    ops_port: int | None = Field(
        default=None,
        description="When set, also scrape http://<descriptor host>:<ops_port> for every live "
        "instance in the topology (the hosts must resolve from the console).",
    )
    briefings_topic: str = Field(default="insights.briefings", description="BriefingReady topic.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected topic.")
    activity_topic: str = Field(default="insights.activity", description="ActivitySummary topic.")
    evidence_topics: list[str] = Field(
        default_factory=lambda: ["events.code", "events.chat", "events.calendar"],
        description="Topics indexed by event id so that evidence links (based_on) resolve; the "
        "insight topics are always indexed.",
    )
    index_limit: int = Field(
        default=200_000, ge=1000, description="Events kept in the evidence index (newest win)."
    )
    teams: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Team name -> glob patterns matched against a risk's or summary's subject "
        "or entity (e.g. {\"payments\": [\"octo/payments*\", \"alice\"]}); a team not listed "
        "sees every risk. Teams are also discovered from briefing audiences.",
    )
    open_risk_window: Duration = Field(
        default=timedelta(days=7), description="A risk counts as open this long after detection."
    )
    request_timeout: Duration = Field(
        default=timedelta(seconds=5), description="Deadline of each Kafka or ops request."
    )


    def require_safe_binding(self) -> None:
        """Raise ``ConsoleAccessError`` when bound beyond loopback without a token."""
        if not is_loopback(self.host) and not (self.token and self.token.get_secret_value()):
            raise ConsoleAccessError(
                f"the console is bound to {self.host}, which other machines can reach, and no "
                "token is set: set AGENTSTREAM_CONSOLE_TOKEN (or use --host 127.0.0.1)"
            )

    @property
    def auth_required(self) -> bool:
        """A token configured is always enforced; beyond loopback one is mandatory."""
        return bool(self.token and self.token.get_secret_value()) or not is_loopback(self.host)
