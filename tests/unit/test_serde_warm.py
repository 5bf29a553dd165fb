"""Schema I/O off the event loop: warming at start, misses on a worker thread with a deadline."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from agentstream.errors import SchemaStoreError
from agentstream.events import DeadLetter, PullRequestOpened, RiskDetected
from agentstream.runtime import Agent, Context
from agentstream.runtime._warm import warm_codec
from agentstream.schemas import Record, fingerprint, new_meta
from agentstream.serde import (
    InMemorySchemaStore,
    RegistrySerde,
    SingleObjectSerde,
    decode_off_loop,
    warm,
)

TAGS = {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []}


def _pr(number: int = 1) -> PullRequestOpened:
    m = new_meta(PullRequestOpened, source="t", subject=f"o/r#{number}")
    return PullRequestOpened(meta=m, repo="o/r", number=number, title="t", url="u", author="a",
                             base_branch="main", head_branch="f", created_at=m.time)


def _v2() -> type[Record]:
    """``PullRequestOpened`` plus a defaulted field: what a producer on a newer version writes."""
    schema = json.loads(json.dumps(PullRequestOpened.SCHEMA))
    schema["fields"].append(TAGS)

    class V2(Record):
        FULLNAME = PullRequestOpened.FULLNAME
        SCHEMA = schema

        def __init__(self, data: dict[str, Any]) -> None:
            self.data = data

        def to_avro(self) -> dict[str, Any]:
            return self.data

    return V2


class CountingStore(InMemorySchemaStore):
    """An in-memory store whose ``lookup`` counts calls, notes the thread and may be held."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.threads: list[threading.Thread] = []
        self.gate: threading.Event | None = None

    def lookup(self, fp: int) -> dict[str, Any] | None:
        self.lookups += 1
        self.threads.append(threading.current_thread())
        if self.gate is not None and not self.gate.wait(10):
            raise AssertionError("the gate was never opened")
        return super().lookup(fp)


def _newer_bytes(store: InMemorySchemaStore) -> bytes:
    """Bytes a newer producer wrote (its writer schema registered in the shared store)."""
    v2 = _v2()
    old = _pr()
    return SingleObjectSerde(store).encode("events.code", v2({**old.to_avro(), "tags": ["x"]}))


def test_warm_resolves_stored_versions_so_decode_needs_no_lookup() -> None:
    store = CountingStore()
    data = _newer_bytes(store)
    reader = SingleObjectSerde(store)
    assert reader.needs_lookup(data)
    reader.warm(decodes=[("events.code", PullRequestOpened)])
    assert not reader.needs_lookup(data)
    before = store.lookups
    assert reader.decode("events.code", data).number == 1
    assert store.lookups == before, "a warmed serde decodes without asking the store"


def test_warm_registers_what_will_be_encoded() -> None:
    store = InMemorySchemaStore()
    serde = SingleObjectSerde(store)
    serde.warm(encodes=[("insights.risks", RiskDetected), (None, DeadLetter)])
    assert store.lookup(fingerprint(RiskDetected)) is not None
    assert store.lookup(fingerprint(DeadLetter)) is not None


async def test_a_miss_decodes_on_a_worker_thread_while_the_loop_runs() -> None:
    store = CountingStore()
    data = _newer_bytes(store)
    reader = SingleObjectSerde(store)
    store.gate = threading.Event()
    loop = asyncio.get_running_loop()
    # The lookup waits for the loop to open the gate: it finishes only if it is not on the loop.
    loop.call_later(0.05, store.gate.set)
    got = await decode_off_loop(reader, "events.code", data, timeout=timedelta(seconds=5))
    assert got.number == 1
    assert store.threads and threading.main_thread() not in store.threads
    # Cached now: the next one decodes inline.
    assert not reader.needs_lookup(data)
    assert (await decode_off_loop(reader, "events.code", data)).number == 1


async def test_a_miss_past_its_deadline_is_a_clear_error() -> None:
    store = CountingStore()
    data = _newer_bytes(store)
    reader = SingleObjectSerde(store)
    store.gate = threading.Event()
    try:
        with pytest.raises(SchemaStoreError, match="took longer than"):
            await decode_off_loop(reader, "events.code", data, partition=3, offset=7,
                                  timeout=timedelta(milliseconds=100))
    finally:
        store.gate.set()


async def test_a_cached_record_decodes_inline() -> None:
    store = CountingStore()
    serde = SingleObjectSerde(store)
    data = serde.encode("events.code", _pr(5))
    assert not serde.needs_lookup(data)
    assert (await decode_off_loop(serde, "events.code", data)).number == 5
    assert store.lookups == 0


def test_registry_warm_fetches_the_latest_version_and_registers_outputs() -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4()}"})
    v2 = _v2()
    newer = RegistrySerde(client).encode("events.code", v2({**_pr().to_avro(), "tags": []}))
    reader = RegistrySerde(client)
    assert reader.needs_lookup(newer)
    reader.warm(encodes=[("insights.risks", RiskDetected), (None, DeadLetter)],
                decodes=[("events.code", PullRequestOpened), ("events.none", RiskDetected)])
    assert not reader.needs_lookup(newer)
    assert client.get_latest_version(f"insights.risks-{RiskDetected.FULLNAME}") is not None


def test_warm_codec_covers_the_agents_declared_types() -> None:
    agent = Agent("warm-agent", emits=[RiskDetected])

    @agent.handler(PullRequestOpened, topic="events.code")
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        """Not run here."""

    store = CountingStore()
    data = _newer_bytes(store)
    serde = SingleObjectSerde(store)
    warm_codec(serde, agent, dlq_topic="dlq.warm-agent")
    assert not serde.needs_lookup(data)
    assert store.versions(RiskDetected.FULLNAME) and store.versions(DeadLetter.FULLNAME)
    warm(object(), encodes=[(None, RiskDetected)])  # a codec without warm: nothing to do


def test_an_unreachable_registry_is_a_bounded_clear_error() -> None:
    """Nothing listens on the port: each request fails fast, then a SchemaStoreError says so."""
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serde = RegistrySerde(f"http://127.0.0.1:{port}", timeout=timedelta(seconds=1))
    serde.client.max_retries = 0  # confluent's own backoff between tries is not under test
    data = b"\x00\x00\x00\x00\x07" + b"\x00" * 4
    with pytest.raises(SchemaStoreError, match="did not answer for schema id 7"):
        serde.decode("events.code", data, partition=1, offset=2)
    with pytest.raises(SchemaStoreError, match="did not answer"):
        serde.encode("events.code", _pr())
