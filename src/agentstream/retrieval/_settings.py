"""Settings of the retrieval store (``AGENTSTREAM_RETRIEVAL_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream.config import ENV_PREFIX, register_settings

__all__ = ["EmbeddedEngine", "RetrievalSettings"]

EmbeddedEngine = Literal["edge", "local"]


@register_settings
class RetrievalSettings(BaseSettings):
    """Where vectors live: a Qdrant server when ``url`` is set, else embedded on disk at
    ``path`` with the ``engine`` chosen (``edge`` = qdrant-edge-py, ``local`` = qdrant-client's
    local mode; see docs/retrieval.md for the figures behind the default)."""

    model_config = SettingsConfigDict(
        env_prefix=f"{ENV_PREFIX}RETRIEVAL_", extra="forbid", frozen=True, populate_by_name=True
    )

    url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("url", "AGENTSTREAM_RETRIEVAL_URL", "QDRANT_URL"),
        description="Qdrant server URL (http://host:6333); unset = embedded on disk.",
    )
    api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "AGENTSTREAM_RETRIEVAL_API_KEY", "QDRANT_API_KEY"),
        repr=False,
    )
    path: Path = Field(default=Path(".agentstream/qdrant"),
                       description="Directory of the embedded store.")
    engine: EmbeddedEngine = Field(default="edge", description="Embedded engine: edge | local.")
    dimensions: int = Field(default=384, ge=1)
    collection_prefix: str = Field(default="", description="Put before every collection name.")
