"""Retrieval: event texts as vectors in Qdrant, filtered by team, repository, person, source and
time; embedded on disk by default, a Qdrant server when ``AGENTSTREAM_RETRIEVAL_URL`` is set.

    store = RetrievalStore("team-chat")
    store.upsert([Document(event_id=e.meta.id, text=e.text, time=e.meta.time, ...)],
                 await llm.embed([e.text]))
    hits = store.search(vector, person="alice", since=last_week)
    hits = store.search(vector, entity="acme/pay#42", where={"type": ["ReviewRequested"]})
    store.delete_entity("alice")        # what `agentstream memory forget` does

See docs/retrieval.md (and the measurements behind the default embedded engine).
"""

from __future__ import annotations

from agentstream.errors import RetrievalError
from agentstream.retrieval._settings import EmbeddedEngine, RetrievalSettings
from agentstream.retrieval._store import (
    Document,
    Hit,
    RetrievalStore,
    Where,
    forget_entity,
    point_id,
)

__all__ = [
    "Document",
    "EmbeddedEngine",
    "Hit",
    "RetrievalError",
    "RetrievalSettings",
    "RetrievalStore",
    "Where",
    "forget_entity",
    "point_id",
]
