"""Settings of the AI layer: the endpoint (``OPENAI_*``) and ``AGENTSTREAM_LLM_*`` knobs."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import ENV_PREFIX, Duration, register_settings

__all__ = ["EmbeddingSettings", "LLMSettings", "ModelPrice"]



class ModelPrice(BaseSettings):
    """USD per million tokens of one model (prompt and completion priced apart)."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0


@register_settings
class LLMSettings(BaseSettings):
    """How the agent reaches its model and how much it may use it.

    ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` (or ``AGENTSTREAM_LLM_BASE_URL``/``_API_KEY``) name an
    OpenAI-compatible endpoint; with neither set the layer runs the deterministic offline model.
    """

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}LLM_", extra="forbid", frozen=True, populate_by_name=True
    )

    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("base_url", "AGENTSTREAM_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint (…/v1); unset (and no API key) = offline model.",
    )
    api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "AGENTSTREAM_LLM_API_KEY", "OPENAI_API_KEY"),
        repr=False,
    )
    offline: bool = Field(default=False, description="Force the offline model.")
    model: str = Field(default="gpt-4o-mini", description="Chat model.")
    timeout: Duration = Field(default=timedelta(seconds=60), description="Per HTTP request.")
    rate_limit_retries: int = Field(default=8, ge=0, description="Retries of 429 answers.")
    server_retries: int = Field(default=3, ge=0, description="Retries of 5xx and timeouts.")
    backoff_initial: Duration = timedelta(milliseconds=500)
    backoff_max: Duration = timedelta(seconds=30)
    max_retry_after: Duration = Field(
        default=timedelta(minutes=2),
        description="A longer Retry-After is not slept in the call: the error carries it.",
    )
    rpm: int | None = Field(default=None, ge=1, description="Requests per minute (process).")
    tpm: int | None = Field(default=None, ge=1, description="Tokens per minute (process).")
    limiter_wait: Duration = Field(
        default=timedelta(seconds=60), description="Deadline of a wait for limiter room."
    )
    max_tokens: int | None = Field(default=None, ge=1, description="Completion cap per call.")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description='JSON: {"model": {"prompt_per_million": 0.15, "completion_per_million": 0.6}}',
    )
    daily_token_budget: int | None = Field(
        default=None, ge=1, description="Tokens (prompt + completion) per agent per UTC day."
    )
    memo: bool = Field(default=True, description="Memoise calls made with a handler context.")
    memo_partitions: int = Field(default=3, ge=1)
    memo_retention: Duration = Field(default=timedelta(days=7))
    backpressure_min_in_flight: int = Field(
        default=1, ge=1, description="The concurrency floor when the endpoint pushes back."
    )


    @property
    def is_offline(self) -> bool:
        return self.offline or (self.base_url is None and self.api_key is None)


@register_settings
class EmbeddingSettings(BaseSettings):
    """The embeddings model (``AGENTSTREAM_EMBEDDING_*``); the endpoint is the LLM's."""

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}EMBEDDING_", extra="forbid", frozen=True
    )

    model: str = Field(default="text-embedding-3-small")
    dimensions: int = Field(default=384, ge=8, description="Vector size (offline and requested).")
    batch_size: int = Field(default=128, ge=1, description="Texts per embeddings request.")
    offline: bool = Field(default=False, description="Force the offline hashed n-gram embedder.")
