"""The vector index: Qdrant (embedded on disk, or a server by URL) and the embedder.

- Point id = the event id (a UUID), so re-indexing a redelivered event overwrites the same
  point: indexing is idempotent by event id.
- ``search(query, repo=..., person=..., channel=..., types=..., since=..., until=...)``: the
  payload filters the assistant and the briefing use.
- ``forget(entity)`` deletes every point whose ``entities`` contain it.

Embeddings: the OpenAI-compatible embeddings endpoint when ``OPENAI_BASE_URL`` (or an API key)
is configured, otherwise a deterministic offline embedder (feature hashing of word unigrams and
bigrams; lexical, but stable across runs and machines), said once in the log.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

__all__ = ["Hit", "OfflineEmbedder", "OpenAIEmbedder", "VectorIndex", "make_embedder"]

log = logging.getLogger("services.indexer")
_WORD = re.compile(r"[a-z0-9#/_.-]+")


class OfflineEmbedder:
    """Feature hashing of unigrams and bigrams into ``dim`` signed buckets, L2-normalised."""

    model = "offline-hash-384"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim

    def _one(self, text: str) -> list[float]:
        words = [w.strip(".-") for w in _WORD.findall(text.lower())]
        words = [w for w in words if w]
        grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        v = [0.0] * self.dim
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]


class OpenAIEmbedder:
    """The embeddings endpoint of an OpenAI-compatible server (``openai`` client, batched)."""

    def __init__(self, model: str, dim: int) -> None:
        from openai import OpenAI  # noqa: PLC0415

        self.client = OpenAI()
        self.model = model
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), 64):
            r = self.client.embeddings.create(
                model=self.model, input=list(texts[i : i + 64]), dimensions=self.dim
            )
            out.extend(list(d.embedding) for d in r.data)
        return out


def make_embedder(model: str, dim: int) -> OfflineEmbedder | OpenAIEmbedder:
    if os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"):
        return OpenAIEmbedder(model, dim)
    log.warning("no embeddings endpoint configured (OPENAI_BASE_URL): using the offline embedder")
    return OfflineEmbedder(dim)


@dataclass(frozen=True)
class Hit:
    event_id: str
    score: float
    payload: dict[str, Any]


class VectorIndex:
    """One Qdrant collection of event vectors (see the module docstring). Thread-safe."""

    def __init__(
        self,
        *,
        collection: str,
        embedder: OfflineEmbedder | OpenAIEmbedder,
        path: Path | None = None,
        url: str | None = None,
    ) -> None:
        self.collection = collection
        self.embedder = embedder
        self._lock = threading.Lock()
        if url:
            self.client = QdrantClient(url=url)
        else:
            if path is None:
                raise ValueError("VectorIndex needs a path (embedded) or a url (server)")
            path.mkdir(parents=True, exist_ok=True)
            self.client = QdrantClient(path=str(path))
        if not self.client.collection_exists(collection):
            self.client.create_collection(
                collection,
                vectors_config=models.VectorParams(
                    size=embedder.dim, distance=models.Distance.COSINE
                ),
            )
            for field_name in ("entities", "repo", "channel", "people", "type"):
                self.client.create_payload_index(
                    collection, field_name, models.PayloadSchemaType.KEYWORD
                )

    def upsert(self, items: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Index ``(event_id, text, payload)`` triples; the same event id replaces its point."""
        if not items:
            return
        vectors = self.embedder.embed([t for _, t, _ in items])
        points = [
            models.PointStruct(id=eid, vector=v, payload=p)
            for (eid, _, p), v in zip(items, vectors, strict=True)
        ]
        with self._lock:
            self.client.upsert(self.collection, points=points, wait=True)

    def search(
        self,
        query: str,
        *,
        limit: int = 8,
        repo: str | None = None,
        person: str | None = None,
        channel: str | None = None,
        entity: str | None = None,
        types: Sequence[str] = (),
        since: int | None = None,
        until: int | None = None,
    ) -> list[Hit]:
        must: list[Any] = []
        for key, value in (
            ("repo", repo),
            ("people", person),
            ("channel", channel),
            ("entities", entity),
        ):
            if value:
                must.append(models.FieldCondition(key=key, match=models.MatchValue(value=value)))
        if types:
            must.append(models.FieldCondition(key="type", match=models.MatchAny(any=list(types))))
        if since is not None or until is not None:
            must.append(models.FieldCondition(key="time", range=models.Range(gte=since, lte=until)))
        vector = self.embedder.embed([query])[0]
        with self._lock:
            found = self.client.query_points(
                self.collection,
                query=vector,
                limit=limit,
                query_filter=models.Filter(must=must) if must else None,
                with_payload=True,
            ).points
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in found]

    def forget(self, entity: str) -> int:
        """Delete every vector about ``entity``; returns how many there were."""
        flt = models.Filter(
            must=[models.FieldCondition(key="entities", match=models.MatchValue(value=entity))]
        )
        with self._lock:
            n = self.client.count(self.collection, count_filter=flt, exact=True).count
            self.client.delete(self.collection, points_selector=models.FilterSelector(filter=flt))
        return int(n)

    def count(self) -> int:
        with self._lock:
            return int(self.client.count(self.collection, exact=True).count)

    def close(self) -> None:
        with self._lock:
            self.client.close()
