"""Both wire formats without a broker: in-memory schema store and confluent's mock registry."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from agentstream.config import KafkaSettings
from agentstream.errors import DecodeError, EncodeError, SchemaCompatibilityError
from agentstream.events import PullRequestOpened, RiskDetected, RiskSeverity
from agentstream.schemas import Record, fingerprint, new_meta
from agentstream.serde import (
    MAGIC,
    InMemorySchemaStore,
    KafkaSchemaStore,
    RegistrySerde,
    SingleObjectSerde,
    make_serde,
)


def _pr(number: int = 1) -> PullRequestOpened:
    m = new_meta(PullRequestOpened, source="t", subject=f"o/r#{number}")
    return PullRequestOpened(meta=m, repo="o/r", number=number, title="t", url="u", author="a",
                             base_branch="main", head_branch="f", created_at=m.time)


def _risk() -> RiskDetected:
    m = new_meta(RiskDetected, source="agent.risk", subject="o/r")
    return RiskDetected(meta=m, based_on=(str(uuid.uuid4()), m.id), kind="stale-review",
                        severity=RiskSeverity.HIGH, title="t", summary="s", confidence=0.5)


def _v2(cls: type[Record], field: dict[str, Any]) -> type[Record]:
    """A Record class for ``cls``'s schema plus one field (a producer on a newer version)."""
    schema = json.loads(json.dumps(cls.SCHEMA))
    schema["fields"].append(field)

    class V2(Record):
        FULLNAME = cls.FULLNAME
        SCHEMA = schema

        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def to_avro(self) -> dict[str, Any]:
            return self.data

        @classmethod
        def from_avro(cls, data: Any) -> V2:
            return cls(dict(data))

    return V2


TAGS = {"name": "tags", "type": {"type": "array", "items": "string"}, "default": [], "doc": "x"}


@pytest.fixture(params=["single", "registry"])
def serde_pair(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """Two serdes sharing one schema store, as two processes would."""
    if request.param == "single":
        store = InMemorySchemaStore()
        return SingleObjectSerde(store), SingleObjectSerde(store)
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4()}"})
    return RegistrySerde(client), RegistrySerde(client)


def test_round_trip(serde_pair: tuple[Any, Any]) -> None:
    writer, reader = serde_pair
    for ev in (_pr(), _risk()):
        data = writer.encode("events.code", ev)
        assert reader.decode("events.code", data) == ev


def test_new_producer_old_consumer_and_back(serde_pair: tuple[Any, Any]) -> None:
    writer, reader = serde_pair
    V2 = _v2(PullRequestOpened, TAGS)
    old = _pr()
    new = V2({**old.to_avro(), "tags": ["x"]})
    # v2 written, v1 read: the extra field is skipped.
    assert reader.decode("t", writer.encode("t", new)) == old
    # v1 written, v2 read: the new field takes its default.
    v2_reader = type(reader)(
        reader.store if isinstance(reader, SingleObjectSerde) else reader.client,
        reader_records={V2.FULLNAME: V2},
    )
    got = v2_reader.decode("t", writer.encode("t", old))
    assert got.data == {**old.to_avro(), "tags": []}


def test_incompatible_version_is_refused(serde_pair: tuple[Any, Any]) -> None:
    writer, _ = serde_pair
    writer.encode("t", _pr())
    Bad = _v2(PullRequestOpened, {"name": "must", "type": "string", "doc": "x"})
    bad = Bad({**_pr().to_avro(), "must": "x"})
    with pytest.raises(SchemaCompatibilityError, match="must") as info:
        writer.encode("t", bad)
    assert "reader_field_missing_default_value" in str(info.value)


def test_single_object_header_is_the_crc64_fingerprint() -> None:
    data = SingleObjectSerde(InMemorySchemaStore()).encode("t", _pr())
    assert data[:2] == MAGIC
    assert int.from_bytes(data[2:10], "little") == fingerprint(PullRequestOpened)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", "bad-magic"),
        (MAGIC + b"\x01\x02\x03", "truncated"),
        (MAGIC + b"\x00" * 8 + b"\x02", "unknown-fingerprint"),
    ],
)
def test_decode_errors_say_where_and_why(data: bytes, reason: str) -> None:
    serde = SingleObjectSerde(InMemorySchemaStore())
    with pytest.raises(DecodeError) as info:
        serde.decode("events.code", data, partition=3, offset=42)
    err = info.value
    assert (err.topic, err.partition, err.offset, err.reason) == ("events.code", 3, 42, reason)
    assert "'events.code' partition 3 offset 42" in str(err)


def test_a_tombstone_is_a_decode_error_in_both_formats(serde_pair: tuple[Any, Any]) -> None:
    _, reader = serde_pair
    with pytest.raises(DecodeError) as info:
        reader.decode("events.code", None, partition=1, offset=7)
    assert info.value.reason == "tombstone"
    assert "null value" in str(info.value) and "offset 7" in str(info.value)


def test_truncated_and_trailing_bodies() -> None:
    serde = SingleObjectSerde(InMemorySchemaStore())
    good = serde.encode("t", _pr())
    with pytest.raises(DecodeError) as info:
        serde.decode("t", good[:-5])
    assert info.value.reason == "truncated"
    with pytest.raises(DecodeError) as info:
        serde.decode("t", good + b"\x00")
    assert info.value.reason == "corrupt"


def test_unknown_type_when_reader_lacks_the_class() -> None:
    store = InMemorySchemaStore()
    data = SingleObjectSerde(store).encode("t", _pr())
    reader = SingleObjectSerde(store, reader_records={RiskDetected.FULLNAME: RiskDetected})
    with pytest.raises(DecodeError) as info:
        reader.decode("t", data)
    assert info.value.reason == "unknown-type"


def test_encode_error_names_the_field() -> None:
    bad = PullRequestOpened(**{**_pr().__dict__, "number": "seven"})  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="number"):
        SingleObjectSerde(InMemorySchemaStore()).encode("t", bad)


def test_registry_bytes_interoperate_with_confluent_clients() -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4()}"})
    ours = RegistrySerde(client)
    ctx = SerializationContext("events.code", MessageField.VALUE)
    ev = _pr()
    data = ours.encode("events.code", ev)
    theirs = AvroDeserializer(client)(data, ctx)
    assert theirs["repo"] == "o/r" and str(theirs["meta"]["id"]) == ev.meta.id
    assert client.get_latest_version(f"events.code-{PullRequestOpened.FULLNAME}")
    ser = AvroSerializer(client, json.dumps(PullRequestOpened.SCHEMA),
                         conf={"subject.name.strategy": _trns()})
    assert ours.decode("events.code", ser(ev.to_avro(), ctx)) == ev


def _trns() -> Any:
    return topic_record_subject_name_strategy


def test_registry_bad_magic_and_unknown_id() -> None:
    serde = RegistrySerde(f"mock://{uuid.uuid4()}")
    with pytest.raises(DecodeError) as info:
        serde.decode("t", b"\x07\x00\x00\x00\x01\x02", partition=0, offset=1)
    assert info.value.reason == "bad-magic"
    with pytest.raises(DecodeError) as info:
        serde.decode("t", b"\x00\x00\x00\x99\x99\x02", partition=0, offset=1)
    assert info.value.reason == "unknown-schema-id"


def test_make_serde_picks_the_format() -> None:
    assert isinstance(make_serde(KafkaSettings(bootstrap_servers="x:1")), SingleObjectSerde)
    single = make_serde(KafkaSettings(bootstrap_servers="x:1"))
    assert isinstance(single, SingleObjectSerde)
    assert isinstance(single.store, KafkaSchemaStore)
    reg = make_serde(KafkaSettings(bootstrap_servers="x:1", schema_registry_url="mock://m"))
    assert isinstance(reg, RegistrySerde)
