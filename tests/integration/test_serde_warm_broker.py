"""Warming the schema store on the real broker: a reader that warmed at start decodes a newer
producer's records without reading the schema topic again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from agentstream.config import KafkaSettings
from agentstream.events import PullRequestOpened
from agentstream.schemas import Record, new_meta
from agentstream.serde import KafkaSchemaStore, SingleObjectSerde


class _CountingStore(KafkaSchemaStore):
    refreshes = 0

    def refresh(self, *, timeout: timedelta | None = None) -> None:
        self.refreshes += 1
        super().refresh(timeout=timeout)


def _newer(pr: PullRequestOpened) -> Record:
    schema = json.loads(json.dumps(PullRequestOpened.SCHEMA))
    schema["fields"].append({"name": "labels", "type": {"type": "array", "items": "string"},
                             "default": []})

    class V2(Record):
        FULLNAME = PullRequestOpened.FULLNAME
        SCHEMA = schema

        def to_avro(self) -> dict[str, Any]:
            return {**pr.to_avro(), "labels": ["infra"]}

    return V2()


def test_a_warmed_reader_decodes_a_newer_writer_without_reading_the_topic(
    bootstrap_servers: str, topic_factory
) -> None:
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    topic = topic_factory(config={"cleanup.policy": "compact"}, prefix="schemas")
    m = new_meta(PullRequestOpened, source="t", subject="o/r#1")
    pr = PullRequestOpened(meta=m, repo="o/r", number=1, title="t", url="u", author="a",
                           base_branch="main", head_branch="f", created_at=m.time)
    data = SingleObjectSerde(KafkaSchemaStore(kafka, topic=topic)).encode("events.code",
                                                                          _newer(pr))
    store = _CountingStore(kafka, topic=topic, lookup_timeout=timedelta(seconds=5))
    reader = SingleObjectSerde(store)
    assert reader.needs_lookup(data)
    reader.warm(decodes=[("events.code", PullRequestOpened)])
    after_warm = store.refreshes
    assert after_warm == 1 and not reader.needs_lookup(data)
    assert reader.decode("events.code", data) == pr
    assert store.refreshes == after_warm, "decode read the schema topic again"
