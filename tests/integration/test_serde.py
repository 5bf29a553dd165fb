"""Both wire formats over the real broker: evolution both ways, decode errors, refused versions.

Each test uses its own event topic and its own schema topic, and each "process" gets a fresh
serde (fresh caches), so a consumer really has to fetch a writer schema it has never seen.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient

from agentstream.config import KafkaSettings
from agentstream.errors import DecodeError, SchemaCompatibilityError
from agentstream.events import PullRequestOpened
from agentstream.schemas import Record, new_meta
from agentstream.serde import KafkaSchemaStore, RegistrySerde, SingleObjectSerde
from agentstream.testing import consume_until, consumer, produce, unique_name


def _pr(n: int) -> PullRequestOpened:
    m = new_meta(PullRequestOpened, source="test", subject=f"o/r#{n}")
    return PullRequestOpened(meta=m, repo="o/r", number=n, title=f"PR {n}", url="u",
                             author="octocat", base_branch="main", head_branch="f",
                             created_at=m.time)


def _v2_class(extra: dict[str, Any]) -> type[Record]:
    schema = json.loads(json.dumps(PullRequestOpened.SCHEMA))
    schema["fields"].append(extra)

    class PullRequestOpenedV2(Record):
        FULLNAME = PullRequestOpened.FULLNAME
        SCHEMA = schema

        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def to_avro(self) -> dict[str, Any]:
            return self.data

        @classmethod
        def from_avro(cls, data: Any) -> PullRequestOpenedV2:
            return cls(dict(data))

    return PullRequestOpenedV2


V2 = _v2_class({"name": "labels", "type": {"type": "array", "items": "string"}, "default": [],
                "doc": "Labels (added in v2)."})

SerdeFactory = Callable[..., Any]


@pytest.fixture(params=["single-object", "registry"])
def new_serde(request: pytest.FixtureRequest, bootstrap_servers: str) -> SerdeFactory:
    """A factory of independent serdes (one per simulated process) sharing one schema store."""
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    schema_topic = unique_name("_agentstream.schemas")
    # confluent's mock registry keeps its state per client: one client plays the server, each
    # simulated process gets its own RegistrySerde (own serializer/deserializer caches).
    registry = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4()}"})

    def make(reader_records: dict[str, type[Record]] | None = None) -> Any:
        if request.param == "registry":
            return RegistrySerde(registry, reader_records=reader_records)
        store = KafkaSchemaStore(settings, topic=schema_topic)
        return SingleObjectSerde(store, reader_records=reader_records)

    return make


def _read(bootstrap_servers: str, topic: str, count: int) -> list[Message]:
    with consumer(bootstrap_servers) as c:
        c.subscribe([topic])
        return consume_until(c, count=count)


def test_v2_producer_and_v1_consumer_interoperate_both_ways(
    bootstrap_servers: str, topic_factory: Callable[..., str], new_serde: SerdeFactory
) -> None:
    topic = topic_factory(partitions=2)
    v1, v2 = _pr(1), _pr(2)
    v2_record = V2({**v2.to_avro(), "labels": ["bug"]})
    produce(bootstrap_servers, topic, [
        (v1.meta.subject, new_serde().encode(topic, v1)),
        (v2.meta.subject, new_serde(reader_records={V2.FULLNAME: V2}).encode(topic, v2_record)),
    ])
    msgs = sorted(_read(bootstrap_servers, topic, 2), key=lambda m: m.key())

    v1_reader = new_serde()
    got = [v1_reader.decode(topic, m.value(), partition=m.partition(), offset=m.offset())
           for m in msgs]
    assert got == [v1, v2]  # v2's extra field is skipped by the v1 reader

    v2_reader = new_serde(reader_records={V2.FULLNAME: V2})
    got2 = [v2_reader.decode(topic, m.value()).data for m in msgs]
    assert got2[0] == {**v1.to_avro(), "labels": []}  # v1 data gets v2's default
    assert got2[1] == {**v2.to_avro(), "labels": ["bug"]}


def test_corrupt_and_unknown_bytes_raise_decode_error_with_position(
    bootstrap_servers: str, topic_factory: Callable[..., str], new_serde: SerdeFactory
) -> None:
    topic = topic_factory()
    good = new_serde().encode(topic, _pr(1))
    unknown = (good[:2] + b"\x13" * 8 + good[10:]) if good[0] == 0xC3 else (
        good[:1] + b"\x7f\xff\xff\x01" + good[5:])
    produce(bootstrap_servers, topic, [(b"k", good[:-4]), (b"k", b"garbage!!!!"), (b"k", unknown)])
    msgs = _read(bootstrap_servers, topic, 3)
    serde = new_serde()
    reasons = []
    for m in msgs:
        with pytest.raises(DecodeError) as info:
            serde.decode(topic, m.value(), partition=m.partition(), offset=m.offset())
        err = info.value
        assert (err.topic, err.partition, err.offset) == (topic, 0, m.offset())
        assert f"offset {m.offset()}" in str(err)
        reasons.append(err.reason)
    assert reasons[0] == "truncated"
    assert reasons[1] == "bad-magic"
    assert reasons[2] in ("unknown-fingerprint", "unknown-schema-id")


def test_incompatible_v2_registration_is_refused(
    bootstrap_servers: str, topic_factory: Callable[..., str], new_serde: SerdeFactory
) -> None:
    topic = topic_factory()
    new_serde().encode(topic, _pr(1))  # v1 registered by one process
    bad_cls = _v2_class({"name": "priority", "type": "int", "doc": "No default: breaks BACKWARD."})
    bad = bad_cls({**_pr(2).to_avro(), "priority": 1})
    with pytest.raises(SchemaCompatibilityError, match="priority"):
        new_serde(reader_records={bad_cls.FULLNAME: bad_cls}).encode(topic, bad)


def test_schema_topic_is_compacted_and_keyed_by_fingerprint(
    bootstrap_servers: str, kafka_admin: Any
) -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers)
    schema_topic = unique_name("_agentstream.schemas")
    store = KafkaSchemaStore(settings, topic=schema_topic)
    fp = store.register(PullRequestOpened.SCHEMA)
    res = ConfigResource(ConfigResource.Type.TOPIC, schema_topic)
    conf = kafka_admin.describe_configs([res])[res].result(timeout=30)
    assert conf["cleanup.policy"].value == "compact"
    msgs = _read(bootstrap_servers, schema_topic, 1)
    assert msgs[0].key() == f"{fp:016x}".encode()
    assert json.loads(msgs[0].value()) == PullRequestOpened.SCHEMA
    # A fresh store finds it by reading the topic.
    assert KafkaSchemaStore(settings, topic=schema_topic).lookup(fp) == PullRequestOpened.SCHEMA
