"""``RetrievalStore``: one Qdrant collection of event texts with the payload agents filter on."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentstream.errors import RetrievalError
from agentstream.retrieval._engines import (
    Conditions,
    EdgeEngine,
    Engine,
    QdrantClientEngine,
    RawHit,
)
from agentstream.retrieval._settings import EmbeddedEngine, RetrievalSettings

__all__ = ["RESERVED_KEYS", "Document", "Hit", "RetrievalStore", "Where", "forget_entity",
           "point_id"]

# Point ids for event ids that are not UUIDs: uuid5 in this namespace (stable across runs).
_POINT_NAMESPACE = uuid.UUID("0b7b5f6e-3c1d-4e55-9a7e-2d3c4b5a6f70")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# Payload keys a Document writes itself; ``keywords`` may not reuse them.
RESERVED_KEYS = frozenset({"event_id", "text", "time", "source", "team", "repository", "person",
                           "entity", "data"})

Where = Mapping[str, str | Sequence[str]]
"""Keyword filters on payload keys: a string must equal the value (or be one of the values of
a list-valued key); a sequence matches when the key holds any of them. Keys are payload paths:
``channel``, or ``data.kind`` for a key inside ``Document.data``."""


def point_id(event_id: str) -> str:
    """The Qdrant point id of an event: its id when that is a UUID, else a stable uuid5."""
    try:
        return str(uuid.UUID(event_id))
    except ValueError:
        return str(uuid.uuid5(_POINT_NAMESPACE, event_id))


@dataclass(frozen=True)
class Document:
    """What is indexed for one event: its id (the idempotency key), its text and who/what it
    is about. ``entities`` are extra keys that ``delete_entity`` matches (people, repositories
    and the team are entities already); ``keywords`` are extra top-level payload keys (strings
    or lists of strings: an event type, a channel, ...) that ``search(where=...)`` filters on;
    ``data`` is kept as is and returned with hits."""

    event_id: str
    text: str
    time: datetime
    source: str = ""
    team: str | None = None
    repository: str | None = None
    people: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    keywords: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.keywords.items():
            if key in RESERVED_KEYS or not _KEY.match(key) or "." in key:
                raise RetrievalError(
                    f"keyword {key!r} of event {self.event_id}: use a plain name (letters, digits, "
                    f"_) other than {', '.join(sorted(RESERVED_KEYS))}")
            if not isinstance(value, str) and not (
                    isinstance(value, Sequence) and all(isinstance(v, str) for v in value)):
                raise RetrievalError(f"keyword {key!r} of event {self.event_id} must be a string "
                                     f"or a list of strings, not {value!r}")

    def payload(self) -> dict[str, Any]:
        entity = sorted({*self.entities, *self.people,
                         *(x for x in (self.team, self.repository) if x)})
        out: dict[str, Any] = {"event_id": self.event_id, "text": self.text,
                               "time": self.time.timestamp(), "source": self.source,
                               "person": list(self.people), "entity": entity, "data": self.data}
        if self.team is not None:
            out["team"] = self.team
        if self.repository is not None:
            out["repository"] = self.repository
        for key, value in self.keywords.items():
            out[key] = value if isinstance(value, str) else list(value)
        return out


@dataclass(frozen=True)
class Hit:
    event_id: str
    score: float
    text: str
    payload: dict[str, Any]


class RetrievalStore:
    """A collection: ``upsert`` documents with their vectors (idempotent: a point per event id),
    ``search`` the nearest with payload filters, ``delete_entity`` for ``memory forget``.

    Embedded on disk under ``settings.path/<collection>`` (engine ``edge`` or ``local``) unless
    ``settings.url`` names a Qdrant server. One process opens an embedded collection at a time.
    The methods block (embedded calls take milliseconds); ``a``-prefixed twins run them on a
    worker thread for handlers talking to a server.
    """

    def __init__(
        self,
        collection: str,
        *,
        settings: RetrievalSettings | None = None,
        engine: EmbeddedEngine | None = None,
    ) -> None:
        s = self.settings = settings or RetrievalSettings()
        if not _NAME.match(collection):
            raise RetrievalError(f"collection name {collection!r} must match {_NAME.pattern}")
        self.collection = f"{s.collection_prefix}{collection}"
        self.dimensions = s.dimensions
        self.engine_name = "server" if s.url else (engine or s.engine)
        try:
            self._engine: Engine = self._open()
        except RetrievalError:
            raise
        except Exception as exc:
            where = s.url or str(s.path / self.collection)
            raise RetrievalError(
                f"cannot open retrieval collection {self.collection!r} ({self.engine_name} at "
                f"{where}): {exc}; an embedded store is held by one process at a time"
            ) from exc

    def _open(self) -> Engine:
        s = self.settings
        if s.url:
            return QdrantClientEngine(self.collection, self.dimensions, url=s.url,
                                      api_key=s.api_key)
        path = s.path / self.collection
        if self.engine_name == "edge":
            return EdgeEngine(path / "edge", self.dimensions)
        return QdrantClientEngine(self.collection, self.dimensions, path=path / "local")

    # -- writing ------------------------------------------------------------------------------
    def upsert(self, docs: Sequence[Document], vectors: Sequence[Sequence[float]]) -> None:
        """Store ``docs`` with their vectors; a document whose event id is stored already
        replaces it (so re-indexing a redelivered event adds nothing)."""
        if len(docs) != len(vectors):
            raise RetrievalError(f"{len(docs)} documents but {len(vectors)} vectors")
        for d, v in zip(docs, vectors, strict=True):
            if len(v) != self.dimensions:
                raise RetrievalError(
                    f"vector of event {d.event_id} has {len(v)} dimensions; collection "
                    f"{self.collection} holds {self.dimensions} (AGENTSTREAM_RETRIEVAL_DIMENSIONS)"
                )
        if docs:
            self._engine.upsert([point_id(d.event_id) for d in docs], vectors,
                                [d.payload() for d in docs])

    def delete_entity(self, entity: str) -> int:
        """Remove every vector about ``entity`` (a person, repository, team or explicit
        entity); returns how many were removed. ``agentstream memory forget`` calls this."""
        where = Conditions(any_of={"entity": [entity]})
        n = self._engine.count(where)
        if n:
            self._engine.delete(where)
        return n

    def delete_events(self, event_ids: Iterable[str]) -> int:
        ids = list(event_ids)
        if not ids:
            return 0
        where = Conditions(any_of={"event_id": ids})
        n = self._engine.count(where)
        if n:
            self._engine.delete(where)
        return n

    # -- reading ------------------------------------------------------------------------------
    def search(
        self,
        vector: Sequence[float],
        *,
        limit: int = 10,
        team: str | None = None,
        repository: str | None = None,
        person: str | Sequence[str] | None = None,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        entity: str | Sequence[str] | None = None,
        where: Where | None = None,
    ) -> list[Hit]:
        """The ``limit`` nearest documents (cosine) matching every filter given: ``person``
        matches documents naming that person (any of several); ``entity`` documents about that
        entity (what ``delete_entity`` would remove; any of several); ``where`` filters other
        payload keys (see ``Where``: ``{"type": ["ReviewRequested", "ReviewSubmitted"],
        "channel": "C0PAY"}``); ``since``/``until`` bound the event time (inclusive)."""
        cond = Conditions()
        for name, value in (("team", team), ("repository", repository), ("source", source)):
            if value is not None:
                cond.equals[name] = value
        if person is not None:
            cond.any_of["person"] = [person] if isinstance(person, str) else list(person)
        if entity is not None:
            cond.any_of["entity"] = [entity] if isinstance(entity, str) else list(entity)
        for key, match in (where or {}).items():
            if not _KEY.match(key) or key in ("text", "time", "data"):
                raise RetrievalError(f"cannot filter on payload key {key!r}: name a keyword "
                                     "key (a Document field, a keyword or data.<key>)")
            if key in cond.equals or key in cond.any_of:
                raise RetrievalError(f"payload key {key!r} is filtered twice (a keyword "
                                     "argument and where)")
            if isinstance(match, str):
                cond.equals[key] = match
            elif isinstance(match, Sequence) and all(isinstance(v, str) for v in match):
                cond.any_of[key] = list(match)
            else:
                raise RetrievalError(f"filter on {key!r} must be a string or a list of strings, "
                                     f"not {match!r}")
        if since is not None or until is not None:
            cond.ranges["time"] = (since.timestamp() if since else None,
                                   until.timestamp() if until else None)
        return [_hit(h) for h in self._engine.search(vector, limit, cond)]

    def count(self) -> int:
        return self._engine.count()

    def optimize(self) -> None:
        """Index what was upserted since the last call (the ``edge`` engine only: it builds its
        HNSW graph in this call, blocking; until then new points are searched by a scan). Call
        it after a bulk load and from time to time (a timer, an idle moment); a Qdrant server
        and the ``local`` engine need nothing."""
        self._engine.optimize()

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> RetrievalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- async twins ------------------------------------------------------------------------------
    async def aupsert(self, docs: Sequence[Document], vectors: Sequence[Sequence[float]]) -> None:
        await asyncio.to_thread(self.upsert, docs, vectors)

    async def asearch(self, vector: Sequence[float], **filters: Any) -> list[Hit]:
        return await asyncio.to_thread(lambda: self.search(vector, **filters))

    async def adelete_entity(self, entity: str) -> int:
        return await asyncio.to_thread(self.delete_entity, entity)


def _hit(raw: RawHit) -> Hit:
    return Hit(str(raw.payload.get("event_id", raw.id)), raw.score,
               str(raw.payload.get("text", "")), raw.payload)


def forget_entity(
    collection: str, entity: str, *, settings: RetrievalSettings | None = None
) -> int:
    """Delete every vector about ``entity`` from ``collection`` (``memory forget --vectors``);
    returns how many. An embedded collection must not be open in another process meanwhile."""
    with RetrievalStore(collection, settings=settings) as store:
        return store.delete_entity(entity)
