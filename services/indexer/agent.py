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
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentstream import events as ev
from agentstream import shadow
from agentstream.bus import make_consumer
from agentstream.config import KafkaSettings, register_settings
from agentstream.llm import LLM, EmbeddingError, EmbeddingSettings
from agentstream.memory import is_forget
from agentstream.ops import OpsServer
from agentstream.retrieval import Document, RetrievalError, RetrievalSettings, RetrievalStore
from agentstream.runtime import Agent, Context, RetryPolicy
from services.indexer.texts import as_hit, to_document

__all__ = ["INDEXED", "SETTINGS", "IndexerSettings", "agent", "close", "state"]

log = logging.getLogger("services.indexer")
_T = TypeVar("_T")


@register_settings
class IndexerSettings(BaseSettings):
    """Settings of the indexer (env ``AGENTSTREAM_INDEXER_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_INDEXER_", extra="forbid", frozen=True
    )

    path: Path = Field(
        default=Path.home() / ".agentstream" / "indexer" / "qdrant",
        description="Directory of the embedded retrieval store (one process at a time).",
    )
    qdrant_url: str | None = Field(default=None, description="A Qdrant server instead.")
    collection: str = Field(default="team-activity", description="Retrieval collection.")
    embedding_model: str = Field(
        default="text-embedding-3-small",
        description="Embeddings model on the LLM endpoint (OPENAI_BASE_URL); without an "
        "endpoint agentstream.llm's offline embedder is used.",
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
        self.store = RetrievalStore(
            settings.collection,
            settings=RetrievalSettings(
                path=settings.path, url=settings.qdrant_url, dimensions=settings.dimensions
            ),
        )
        self.embedder = LLM(
            agent.name,
            embedding=EmbeddingSettings(
                model=settings.embedding_model, dimensions=settings.dimensions
            ),
        ).embedder
        # The embeddings client lives on one event loop: the handlers' and the search
        # endpoint's embeddings both run on this thread's loop.
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="indexer-embed", daemon=True).start()
        self.lock = threading.Lock()  # one writer/reader of the store at a time
        self.server = OpsServer(host=settings.search_host, port=settings.search_port)
        self.server.add_json_route("/search", self._search)
        self.server.add_json_route("/count", lambda _r, _q: (200, {"count": self.count()}))
        self.server.start()
        self.stop = threading.Event()
        self.follower: threading.Thread | None = None
        if settings.forget_topics:
            self.follower = threading.Thread(
                target=self._follow_forgets, args=(kafka,), name="indexer-forget", daemon=True
            )
            self.follower.start()
        log.info("indexer search on http://%s:%d/search", settings.search_host, self.server.port)

    def _on_loop(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def index(self, docs: Sequence[Document]) -> None:
        vectors = await self._on_loop(self.embedder.embed([d.text for d in docs]))
        await asyncio.to_thread(self._locked, self.store.upsert, docs, vectors)

    def _locked(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return fn(*args, **kwargs)

    def count(self) -> int:
        return int(self._locked(self.store.count))

    def forget(self, entity: str) -> int:
        return int(self._locked(self.store.delete_entity, entity))

    def _search(self, _rest: str, q: dict[str, list[str]]) -> tuple[int, Any]:
        def one(key: str) -> str | None:
            values = q.get(key)
            return values[0] if values else None

        query = one("q")
        if not query:
            return 400, {"error": "missing q (the search text)"}
        try:
            limit = int(one("limit") or 8)
            since, until = one("since"), one("until")
            where: dict[str, str | list[str]] = {}
            if q.get("type"):
                where["type"] = list(q["type"])
            channel = one("channel")
            if channel:
                where["channel"] = channel
            vector = asyncio.run_coroutine_threadsafe(
                self.embedder.embed([query]), self.loop
            ).result(timeout=60)[0]
            hits = self._locked(
                self.store.search,
                vector,
                limit=limit,
                repository=one("repo"),
                person=one("person"),
                entity=one("entity"),
                where=where,
                since=_time(since) if since else None,
                until=_time(until) if until else None,
            )
        except (ValueError, RetrievalError) as exc:
            return 400, {"error": str(exc)}
        except EmbeddingError as exc:
            return 503, {"error": str(exc)}
        return 200, {"hits": [as_hit(h) for h in hits]}

    def _follow_forgets(self, kafka: KafkaSettings) -> None:
        consumer = make_consumer(
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
                    n = self.forget(entity)
                    log.info("forgot %r: %d vector(s) deleted", entity, n)
        finally:
            consumer.close()

    def close(self) -> None:
        self.stop.set()
        self.server.stop()
        self._locked(self.store.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _time(value: str) -> datetime:
    """An instant given as epoch milliseconds or ISO 8601."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


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
    if shadow.active():
        # A shadow run (agentstream shadow) writes no vectors, opens no store, pays for no
        # embedding: the indexer has no Kafka outputs to compare.
        return
    await state().index([to_document(event)])


for _topic, _types in INDEXED.items():
    for _t in _types:
        agent.handler(_t, topic=_topic, retry=RetryPolicy(maximum_attempts=5))(_index)


def close() -> None:
    global _state  # noqa: PLW0603
    with _state_lock, contextlib.suppress(Exception):
        if _state is not None:
            _state.close()
        _state = None
