"""The AI layer: LLM calls that never lose or repeat paid work, and embeddings.

``LLM(agent)`` talks to any OpenAI-compatible endpoint (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``;
``AGENTSTREAM_LLM_*`` for models, timeouts, retry budgets, rpm/tpm limits, prices and the daily
token budget) or, with no endpoint, a deterministic offline model. ``complete`` returns text;
``structured`` returns a typed record filled from JSON validated against the record's Avro
schema (one repair request, then ``LLMOutputError``). Calls made with a handler context are
memoised under (input topic, partition, offset, call ordinal) in ``_agentstream.llm.<agent>``.
See docs/llm.md.
"""

from __future__ import annotations

from agentstream.errors import (
    EmbeddingError,
    LLMBudgetExhaustedError,
    LLMError,
    LLMOutputError,
    LLMRateLimitError,
    LLMRequestError,
    LLMSaturatedError,
    LLMServerError,
    LLMTimeoutError,
)
from agentstream.llm._client import LLM, Completion, Prompt
from agentstream.llm._embed import OFFLINE_EMBEDDING_MODEL, Embedder
from agentstream.llm._limiter import RateLimiter, parse_reset, retry_delay
from agentstream.llm._memo import MemoStore, memo_key, memo_topic
from agentstream.llm._meter import Meter
from agentstream.llm._offline import offline_completion, offline_embedding, offline_structured
from agentstream.llm._schema import json_schema, validate
from agentstream.llm._settings import EmbeddingSettings, LLMSettings, ModelPrice

__all__ = [
    "LLM",
    "OFFLINE_EMBEDDING_MODEL",
    "Completion",
    "Embedder",
    "EmbeddingError",
    "EmbeddingSettings",
    "LLMBudgetExhaustedError",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMRequestError",
    "LLMSaturatedError",
    "LLMServerError",
    "LLMSettings",
    "LLMTimeoutError",
    "MemoStore",
    "Meter",
    "ModelPrice",
    "Prompt",
    "RateLimiter",
    "json_schema",
    "memo_key",
    "memo_topic",
    "offline_completion",
    "offline_embedding",
    "offline_structured",
    "parse_reset",
    "retry_delay",
    "validate",
]
