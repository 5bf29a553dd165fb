"""Embeddings: the endpoint's ``/embeddings`` or the offline hashed n-gram embedder, batched."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agentstream.errors import EmbeddingError
from agentstream.llm import _metrics
from agentstream.llm._offline import offline_embedding
from agentstream.llm._settings import EmbeddingSettings

__all__ = ["Embedder"]

OFFLINE_EMBEDDING_MODEL = "offline-hashed-ngrams"


class Embedder:
    """Embeds texts in batches of ``batch_size``; every vector has ``dimensions`` entries.

    With an endpoint (``client``) the model is asked for ``dimensions`` (OpenAI's
    ``text-embedding-3-*`` accept it); a vector of another size is an ``EmbeddingError``.
    Offline, vectors are hashed word and character-3-gram features (deterministic).
    """

    def __init__(
        self, settings: EmbeddingSettings | None = None, *, client: Any = None,
        offline: bool | None = None,
    ) -> None:
        self.settings = s = settings or EmbeddingSettings()
        self.offline = s.offline or client is None if offline is None else offline or s.offline
        self._client = client
        self.model = OFFLINE_EMBEDDING_MODEL if self.offline else s.model
        self.dimensions = s.dimensions
        self._requests = _metrics.EMBEDDING_REQUESTS.labels(self.model)
        self._inputs = _metrics.EMBEDDING_INPUTS.labels(self.model)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        size = self.settings.batch_size
        for i in range(0, len(texts), size):
            batch = list(texts[i : i + size])
            out.extend(await self._batch(batch))
            self._requests.inc()
            self._inputs.inc(len(batch))
        return out

    def embed_offline(self, texts: Sequence[str]) -> list[list[float]]:
        """The offline vectors, synchronously (benchmarks, bulk loads)."""
        return [offline_embedding(t, self.dimensions) for t in texts]

    async def _batch(self, batch: list[str]) -> list[list[float]]:
        if self.offline:
            if len(batch) > 16:
                return await asyncio.to_thread(self.embed_offline, batch)
            return self.embed_offline(batch)
        assert self._client is not None
        try:
            resp = await self._client.embeddings.create(
                model=self.model, input=batch, dimensions=self.dimensions
            )
        except Exception as exc:
            raise EmbeddingError(f"embedding {len(batch)} text(s) with {self.model} failed: "
                                 f"{exc}") from exc
        vectors = [list(d.embedding) for d in sorted(resp.data, key=lambda d: d.index)]
        bad = [len(v) for v in vectors if len(v) != self.dimensions]
        if bad or len(vectors) != len(batch):
            raise EmbeddingError(
                f"{self.model} answered {len(vectors)} vector(s) of size {bad[:1] or 'ok'} for "
                f"{len(batch)} text(s); expected {self.dimensions} dimensions "
                "(AGENTSTREAM_EMBEDDING_DIMENSIONS)"
            )
        return vectors
