"""The engines behind ``RetrievalStore``: qdrant-edge-py (embedded), qdrant-client (local mode
on disk, or a Qdrant server). One shape: upsert points, query with a filter, delete by filter,
count. Filters arrive as ``Conditions`` (exact matches, any-of matches, float ranges)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Conditions", "EdgeEngine", "Engine", "QdrantClientEngine", "RawHit"]

KEYWORD_FIELDS = ("team", "repository", "person", "source", "entity", "event_id")
FLOAT_FIELDS = ("time",)


@dataclass
class Conditions:
    """AND of: field equals value, field (a list) holds any of values, lo <= field <= hi."""

    equals: dict[str, str] = field(default_factory=dict)
    any_of: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.equals or self.any_of or self.ranges)


@dataclass(frozen=True)
class RawHit:
    id: str
    score: float
    payload: dict[str, Any]


class Engine(Protocol):
    def upsert(self, ids: Sequence[str], vectors: Sequence[Sequence[float]],
               payloads: Sequence[dict[str, Any]]) -> None: ...

    def search(self, vector: Sequence[float], limit: int, where: Conditions) -> list[RawHit]: ...

    def delete(self, where: Conditions) -> None: ...

    def count(self, where: Conditions | None = None) -> int: ...

    def optimize(self) -> None: ...

    def close(self) -> None: ...


class EdgeEngine:
    """qdrant-edge-py: an in-process shard in a directory (created on first open)."""

    def __init__(self, path: Path, dimensions: int) -> None:
        import qdrant_edge as q  # noqa: PLC0415 - optional engine

        self.q = q
        path.mkdir(parents=True, exist_ok=True)
        config = q.EdgeConfig(vectors=q.EdgeVectorParams(size=dimensions,
                                                         distance=q.Distance.Cosine))
        fresh = not any(path.iterdir())
        self.shard = q.EdgeShard.create(str(path), config) if fresh else q.EdgeShard.load(
            str(path))
        if fresh:
            for name in KEYWORD_FIELDS:
                self.shard.update(q.UpdateOperation.create_field_index(
                    name, q.PayloadSchemaType.Keyword))
            for name in FLOAT_FIELDS:
                self.shard.update(q.UpdateOperation.create_field_index(
                    name, q.PayloadSchemaType.Float))

    def _filter(self, where: Conditions) -> Any:
        q = self.q
        must: list[Any] = [q.FieldCondition(k, match=q.MatchValue(v))
                           for k, v in where.equals.items()]
        must += [q.FieldCondition(k, match=q.MatchAny(list(v))) for k, v in where.any_of.items()]
        must += [q.FieldCondition(k, range=q.RangeFloat(gte=lo, lte=hi))
                 for k, (lo, hi) in where.ranges.items()]
        return q.Filter(must=must) if must else None

    def upsert(self, ids: Sequence[str], vectors: Sequence[Sequence[float]],
               payloads: Sequence[dict[str, Any]]) -> None:
        points = [self.q.Point(uuid.UUID(i), list(v), p)
                  for i, v, p in zip(ids, vectors, payloads, strict=True)]
        self.shard.update(self.q.UpdateOperation.upsert_points(points))

    def search(self, vector: Sequence[float], limit: int, where: Conditions) -> list[RawHit]:
        found = self.shard.query(self.q.QueryRequest(
            limit=limit, query=self.q.Query.Nearest(list(vector)), with_payload=True,
            filter=self._filter(where)))
        return [RawHit(str(p.id), float(p.score), dict(p.payload or {})) for p in found]

    def delete(self, where: Conditions) -> None:
        flt = self._filter(where)
        if flt is None:
            raise ValueError("refusing to delete without a condition")
        self.shard.update(self.q.UpdateOperation.delete_points_by_filter(flt))

    def count(self, where: Conditions | None = None) -> int:
        flt = self._filter(where) if where else None
        return int(self.shard.count(self.q.CountRequest(filter=flt, exact=True)))

    def optimize(self) -> None:
        """Build the HNSW index of the shard's new segments (blocks; edge has no background
        optimizer)."""
        self.shard.optimize()

    def close(self) -> None:
        self.shard.flush()
        self.shard.close()


class QdrantClientEngine:
    """qdrant-client: a Qdrant server (``url``) or its local mode on disk (``path``)."""

    def __init__(self, collection: str, dimensions: int, *, path: Path | None = None,
                 url: str | None = None, api_key: str | None = None) -> None:
        from qdrant_client import QdrantClient, models  # noqa: PLC0415 - optional extra

        self.m = models
        self.collection = collection
        if url is not None:
            self.client = QdrantClient(url=url, api_key=api_key)
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            self.client = QdrantClient(path=str(path))
        if not self.client.collection_exists(collection):
            self.client.create_collection(collection, vectors_config=models.VectorParams(
                size=dimensions, distance=models.Distance.COSINE))
            if url is not None:  # local mode has no payload indexes (it filters in Python)
                for name in KEYWORD_FIELDS:
                    self.client.create_payload_index(collection, name,
                                                     models.PayloadSchemaType.KEYWORD)
                for name in FLOAT_FIELDS:
                    self.client.create_payload_index(collection, name,
                                                     models.PayloadSchemaType.FLOAT)

    def _filter(self, where: Conditions) -> Any:
        m = self.m
        must: list[Any] = [m.FieldCondition(key=k, match=m.MatchValue(value=v))
                           for k, v in where.equals.items()]
        must += [m.FieldCondition(key=k, match=m.MatchAny(any=list(v)))
                 for k, v in where.any_of.items()]
        must += [m.FieldCondition(key=k, range=m.Range(gte=lo, lte=hi))
                 for k, (lo, hi) in where.ranges.items()]
        return m.Filter(must=must) if must else None

    def upsert(self, ids: Sequence[str], vectors: Sequence[Sequence[float]],
               payloads: Sequence[dict[str, Any]]) -> None:
        points = [self.m.PointStruct(id=i, vector=list(v), payload=p)
                  for i, v, p in zip(ids, vectors, payloads, strict=True)]
        self.client.upsert(self.collection, points=points, wait=True)

    def search(self, vector: Sequence[float], limit: int, where: Conditions) -> list[RawHit]:
        res = self.client.query_points(self.collection, query=list(vector), limit=limit,
                                       query_filter=self._filter(where), with_payload=True)
        return [RawHit(str(p.id), float(p.score), dict(p.payload or {})) for p in res.points]

    def delete(self, where: Conditions) -> None:
        flt = self._filter(where)
        if flt is None:
            raise ValueError("refusing to delete without a condition")
        self.client.delete(self.collection, points_selector=self.m.FilterSelector(filter=flt),
                           wait=True)

    def count(self, where: Conditions | None = None) -> int:
        flt = self._filter(where) if where else None
        return int(self.client.count(self.collection, count_filter=flt, exact=True).count)

    def optimize(self) -> None:
        """Nothing to do: a server optimises in the background; local mode has no index."""

    def close(self) -> None:
        self.client.close()
