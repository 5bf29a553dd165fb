"""Settings of the webhook gateway (``AGENTSTREAM_GATEWAY_*``) and the normalizer
(``AGENTSTREAM_NORMALIZER_*``). Secrets are ``SecretStr``: they print as ``**********`` in
reprs, logs and errors. Durations accept seconds or ISO 8601 (``PT5S``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentstream.config import ENV_PREFIX, register_settings

__all__ = ["GatewaySettings", "NormalizerSettings"]


def _secret_list(value: Any) -> Any:
    """A JSON list, or a comma-separated string (``old,new``), of secrets."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json  # noqa: PLC0415

            return json.loads(text)
        return [s.strip() for s in text.split(",") if s.strip()]
    return value


@register_settings
class GatewaySettings(BaseSettings):
    """The ingestion gateway: where it listens, the webhook secrets, its limits and deadlines.

    ``GITHUB_SECRETS`` / ``SLACK_SIGNING_SECRETS`` take several values (comma-separated or a
    JSON list) so a secret can be rotated: add the new one, switch the source, drop the old one.
    A source with no secret refuses every request (401).
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}GATEWAY_", extra="forbid", frozen=True
    )

    host: str = Field(default="0.0.0.0", description="Address to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on (0 = random).")
    github_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="GitHub webhook secrets accepted (rotation: several)."
    )
    slack_signing_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Slack signing secrets accepted (rotation: several)."
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes sharing the port, each with its own event loop and Kafka "
        "producer (one loop handles a few thousand deliveries/s; add workers to use more cores).",
    )
    max_body_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1,
        description="Largest request body accepted (413 beyond); GitHub caps payloads at 25 MB.",
    )
    ack_timeout: timedelta = Field(
        default=timedelta(seconds=2.5),
        description="How long a request waits for Kafka's acknowledgement before answering 503 "
        "(below Slack's 3 s answer deadline; GitHub waits 10 s).",
    )
    linger: timedelta = Field(
        default=timedelta(milliseconds=2),
        description="How long the producer waits to batch records before sending them to Kafka "
        "(librdkafka linger.ms): longer batches cost the broker less, shorter ones answer sooner.",
    )
    retry_after: timedelta = Field(
        default=timedelta(seconds=10), description="Retry-After sent with a 503."
    )
    slack_max_skew: timedelta = Field(
        default=timedelta(minutes=5),
        description="Slack timestamps further than this from now are refused (replay guard).",
    )
    recent_deliveries: int = Field(
        default=10_000,
        ge=0,
        description="Acknowledged delivery ids remembered per process, so a retry of one "
        "already stored is answered 200 without writing it again (0 = off).",
    )

    @field_validator("github_secrets", "slack_signing_secrets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _secret_list(value)


@register_settings
class NormalizerSettings(BaseSettings):
    """The normalizer: the identity map and the calendar expansion window.

    Recurring meetings are expanded from ``CALENDAR_PAST`` before to ``CALENDAR_FUTURE`` after
    the start of the UTC day the calendar was received (so one record always expands the same
    way); a series with no occurrence in the window is reported once, as its first occurrence.
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}NORMALIZER_", extra="forbid", frozen=True
    )

    identity_map: Path | None = Field(
        default=None, description="TOML identity map (docs/connectors.md); unset = none."
    )
    calendar_past: timedelta = Field(
        default=timedelta(days=30), description="Expansion window before the receive day."
    )
    calendar_future: timedelta = Field(
        default=timedelta(days=180), description="Expansion window after the receive day."
    )
