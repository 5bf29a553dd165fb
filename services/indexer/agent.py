"""The indexer: semantic events and insights in, vectors in Qdrant out, searchable over HTTP.

Run it with ``python -m services.indexer`` (the agent, its search endpoint and the forget
follower in one process). ``agentstream run services.indexer.agent:agent`` runs the same agent;
the search endpoint then starts with the first indexed event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream import events as ev
from agentstream.config import KafkaSettings, register_settings
from agentstream.memory import is_forget
from agentstream.ops import OpsServer
from agentstream.runtime import Agent, Context, RetryPolicy
from services.indexer.store import VectorIndex, make_embedder
from services.indexer.texts import to_indexed

__all__ = ["INDEXED", "SETTINGS", "IndexerSettings", "agent", "close", "state"]

log = logging.getLogger("services.indexer")


@register_settings
class IndexerSettings(BaseSettings):
    """Settings of the indexer (env ``AGENTSTREAM_INDEXER_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_INDEXER_", extra="forbid", frozen=True
    )

    path: Path = Field(
        default=Path.home() / ".agentstream" / "indexer" / "qdrant",
        description="Embedded Qdrant's directory (one process at a time).",
    )
    qdrant_url: str | None = Field(default=None, description="A Qdrant server instead.")
    collection: str = Field(default="team-activity", description="Qdrant collection.")
    embedding_model: str = Field(
        default="text-embedding-3-small", description="Embeddings model (when an endpoint is set)."
    )
    dimensions: int = Field(default=384, description="Vector size of the collection.")
    search_host: str = Field(default="127.0.0.1", description="Search endpoint host.")
    search_port: int = Field(default=8091, description="Search endpoint port (0 = any).")
    code_topic: str = Field(default="events.code", description="Semantic code events.")
    chat_topic: str = Field(default="events.chat", description="Semantic chat events.")
    calendar_topic: str = Field(default="events.calendar", description="Calendar events.")
    risks_topic: str = Field(default="insights.risks", description="RiskDetected insights.")
    activity_topic: str = Field(default="insights.activity", description="ActivitySummary.")
    forget_topics: list[str] = Field(
        default_factory=list,
        description="Memory changelogs whose `agentstream memory forget` tombstones delete the "
        "forgotten entity's vectors too (e.g. memory.team-memory.people).",
    )


SETTINGS = IndexerSettings()
INDEXED: dict[str, list[type[Any]]] = {
    SETTINGS.code_topic: [
        ev.PullRequestOpened,
        ev.ReviewRequested,
        ev.ReviewSubmitted,
        ev.PullRequestMerged,
        ev.PullRequestClosed,
        ev.BuildFailed,
        ev.CommentAdded,
        ev.IssueOpened,
        ev.ReleasePublished,
    ],
    SETTINGS.chat_topic: [ev.MessagePosted],
    SETTINGS.calendar_topic: [ev.MeetingScheduled],
    SETTINGS.risks_topic: [ev.RiskDetected],
    SETTINGS.activity_topic: [ev.ActivitySummary],
}

agent = Agent(
    "indexer",
    version="0.1.0",
    description="Indexes semantic events and insights for retrieval (Qdrant), idempotent by "
    "event id; search over HTTP with entity filters; forgetting an entity drops its vectors.",
)


class _State:
    def __init__(self, settings: IndexerSettings, kafka: KafkaSettings) -> None:
        self.settings = settings
        self.index = VectorIndex(
            collection=settings.collection,
            path=settings.path,
            url=settings.qdrant_url,
            embedder=make_embedder(settings.embedding_model, settings.dimensions),
        )
        self.server = OpsServer(host=settings.search_host, port=settings.search_port)
        self.server.add_json_route("/search", self._search)
        self.server.add_json_route("/count", lambda _r, _q: (200, {"count": self.index.count()}))
        self.server.start()
        self.stop = threading.Event()
        self.follower: threading.Thread | None = None
        if settings.forget_topics:
            self.follower = threading.Thread(
                target=self._follow_forgets, args=(kafka,), name="indexer-forget", daemon=True
            )
            self.follower.start()
        log.info("indexer search on http://%s:%d/search", settings.search_host, self.server.port)

    def _search(self, _rest: str, q: dict[str, list[str]]) -> tuple[int, Any]:
        one = lambda k: (q.get(k) or [None])[0]  # noqa: E731
        query = one("q")
        if not query:
            return 400, {"error": "missing q (the search text)"}
        try:
            limit = int(one("limit") or 8)
            since, until = one("since"), one("until")
            hits = self.index.search(
                query,
                limit=limit,
                repo=one("repo"),
                person=one("person"),
                channel=one("channel"),
                entity=one("entity"),
                types=q.get("type") or (),
                since=_millis(since) if since else None,
                until=_millis(until) if until else None,
            )
        except ValueError as exc:
            return 400, {"error": str(exc)}
        return 200, {
            "hits": [{"event_id": h.event_id, "score": h.score, **h.payload} for h in hits]
        }

    def _follow_forgets(self, kafka: KafkaSettings) -> None:
        consumer = Consumer(
            kafka.client_config(
                **{
                    "group.id": f"{kafka.topic_prefix}indexer.forget",
                    "auto.offset.reset": "latest",
                    "isolation.level": "read_committed",
                }
            )
        )
        consumer.subscribe(list(self.settings.forget_topics))
        try:
            while not self.stop.is_set():
                msg = consumer.poll(0.5)
                if msg is None or msg.error() is not None:
                    continue
                if is_forget(msg.headers() or [], msg.value()) and msg.key():
                    entity = msg.key().decode("utf-8", "replace")
                    n = self.index.forget(entity)
                    log.info("forgot %r: %d vector(s) deleted", entity, n)
        finally:
            consumer.close()

    def close(self) -> None:
        self.stop.set()
        self.server.stop()
        self.index.close()


def _millis(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


_state: _State | None = None
_state_lock = threading.Lock()


def state() -> _State:
    """The process's index and search endpoint (opened on first use)."""
    global _state  # noqa: PLW0603 - one index per process: embedded Qdrant locks its directory
    with _state_lock:
        if _state is None:
            _state = _State(SETTINGS, KafkaSettings())
        return _state


async def _index(event: Any, ctx: Context) -> None:
    item = to_indexed(event)
    s = state()
    await asyncio.to_thread(s.index.upsert, [(item.event_id, item.text, item.payload)])


for _topic, _types in INDEXED.items():
    for _t in _types:
        agent.handler(_t, topic=_topic, retry=RetryPolicy(maximum_attempts=5))(_index)


def close() -> None:
    global _state  # noqa: PLW0603
    with _state_lock, contextlib.suppress(Exception):
        if _state is not None:
            _state.close()
        _state = None
