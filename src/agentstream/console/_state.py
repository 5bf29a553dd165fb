"""``ConsoleState``: what the pages read — topology, topics, metrics, dead letters, the index.

Everything comes from Kafka (descriptors, dead-letter topics, insight and event topics) and from
the agents' ops endpoints; blocking Kafka calls run on worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream.bus import make_admin
from agentstream.config import KafkaSettings
from agentstream.console._index import EventIndex
from agentstream.console._scrape import AgentMetrics, Scraper, TargetStatus
from agentstream.console._settings import ConsoleSettings
from agentstream.discovery import AgentView, agents_topic, read_topology
from agentstream.ops.dlq import (
    DeadLetterEntry,
    read_dead_letters,
    replay_dead_letters,
    select_dead_letters,
)
from agentstream.serde import Serde, make_serde

__all__ = ["ConsoleState"]

_TOPOLOGY_TTL = 2.0


class ConsoleState:
    """Shared by every request of one console process."""

    def __init__(self, settings: ConsoleSettings, kafka: KafkaSettings) -> None:
        self.settings = settings
        self.kafka = kafka
        self.serde: Serde = make_serde(kafka)
        self.timeout = settings.request_timeout.total_seconds()
        self.index = EventIndex(
            kafka,
            insight_topics={
                settings.briefings_topic: "briefings",
                settings.risks_topic: "risks",
                settings.activity_topic: "activity",
            },
            evidence_topics=settings.evidence_topics,
            limit=settings.index_limit,
            serde=self.serde,
        )
        self.scraper = Scraper(timeout=self.timeout)
        self._topology: tuple[float, list[AgentView]] | None = None
        self._admin: AdminClient | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self.index.start()

    def stop(self) -> None:
        self.index.stop()

    # -- topology ---------------------------------------------------------------------------------
    async def topology(self) -> list[AgentView]:
        async with self._lock:
            cached = self._topology
            if cached is not None and time.monotonic() - cached[0] < _TOPOLOGY_TTL:
                return cached[1]
            views = await asyncio.to_thread(
                read_topology,
                self.kafka,
                serde=self.serde,
                timeout=timedelta(seconds=max(self.timeout, 10)),
            )
            self._topology = (time.monotonic(), views)
            return views

    async def agent(self, name: str) -> AgentView | None:
        return next((a for a in await self.topology() if a.name == name), None)

    # -- topics -----------------------------------------------------------------------------------
    def _admin_client(self) -> AdminClient:
        if self._admin is None:
            self._admin = make_admin(self.kafka.client_config())
        return self._admin

    async def topics(self) -> dict[str, int]:
        """Topic name -> partition count (Kafka-internal topics left out)."""

        def list_() -> dict[str, int]:
            md = self._admin_client().list_topics(timeout=self.timeout)
            return {
                name: len(t.partitions)
                for name, t in md.topics.items()
                if not name.startswith("__") and t.error is None
            }

        return await asyncio.to_thread(list_)

    def descriptor_topic(self) -> str:
        return agents_topic(self.kafka)

    # -- metrics ----------------------------------------------------------------------------------
    async def ops_urls(self) -> list[str]:
        urls = list(self.settings.ops_urls)
        if self.settings.ops_port is not None:
            for view in await self.topology():
                for host in view.live_hosts:
                    urls.append(f"http://{host}:{self.settings.ops_port}")
        return sorted(set(urls))

    async def metrics(self) -> tuple[dict[str, AgentMetrics], list[TargetStatus]]:
        return await self.scraper.scrape(await self.ops_urls())

    # -- dead letters -----------------------------------------------------------------------------
    async def dead_letters(self, agent: str) -> list[DeadLetterEntry]:
        return await asyncio.to_thread(
            read_dead_letters, self.kafka, agent, timeout=max(self.timeout, 10)
        )

    async def replay(self, agent: str, refs: list[str]) -> list[tuple[str, str]]:
        entries = await self.dead_letters(agent)
        chosen = select_dead_letters(entries, refs=refs)
        return await asyncio.to_thread(
            replay_dead_letters, self.kafka, chosen, timeout=max(self.timeout, 10)
        )

    def health(self) -> dict[str, Any]:
        return {
            "indexed_events": self.index.size(),
            "index_caught_up": self.index.caught_up(),
            "index_topics": self.index.topics,
        }
