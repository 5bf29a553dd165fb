"""Agent-level declarations of published interfaces and memory stores (no broker)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from agentstream.config import KafkaSettings
from agentstream.errors import ChangelogWriteError, UnknownStoreError
from agentstream.events import BriefingReady, PullRequestOpened, RiskDetected
from agentstream.memory import StoreSpec
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context, _runner
from agentstream.runtime._context import _ID_NAMESPACE, _uuid5
from agentstream.runtime._descriptor import build_descriptor
from agentstream.runtime._memory import ProducerChangelogWriter, collecting


def test_descriptor_groups_consumes_and_emits_by_topic() -> None:
    agent = Agent(
        "risk", version="2.0.0", description="finds risks",
        emits=[RiskDetected, BriefingReady], emits_to={"insights.risks": [RiskDetected]},
    )

    @agent.handler(PullRequestOpened, topic="events.code")
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        return None

    d = build_descriptor(agent, instance="i-1")
    assert (d.name, d.version, d.instance, d.description) == ("risk", "2.0.0", "i-1", "finds risks")
    consumes = [(s.topic, s.types) for s in d.consumes]
    assert consumes == [("events.code", (PullRequestOpened.FULLNAME,))]
    assert [(s.topic, s.types) for s in d.emits] == [
        ("insights.risks", (RiskDetected.FULLNAME,)), ("*", (BriefingReady.FULLNAME,)),
    ]
    assert agent.describe()["emits"] == [RiskDetected.FULLNAME, BriefingReady.FULLNAME]


def test_store_declarations() -> None:
    agent = Agent("mem", stores=[StoreSpec("a")])
    agent.store(StoreSpec("b"))
    assert [s.name for s in agent.stores] == ["a", "b"]
    with pytest.raises(ValueError, match="exists already"):
        agent.store(StoreSpec("a"))
    with pytest.raises(ValueError, match="unique"):
        Agent("dup", stores=[StoreSpec("x"), StoreSpec("x")])


class _Sender:
    def send_record(self, *a: Any, **k: Any) -> asyncio.Future[None]:
        raise AssertionError

    send_raw = send_record


def test_context_without_stores_says_how_to_declare_them() -> None:
    ctx = Context(agent="a", event=None, topic="t", partition=0, offset=0, key=None, attempt=1,
                  dedupe_key="d", sender=_Sender())
    with pytest.raises(UnknownStoreError, match=r"agent\.store"):
        ctx.store("counts")


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, bytes | None]] = []

    def send(self, topic: str, value: bytes | None, *, key: bytes | None = None,
             partition: int | None = None, **_: Any) -> str:
        self.sent.append((topic, partition, value))
        return "ack"


def test_changelog_writes_join_the_current_inputs_acks() -> None:
    producer = _Producer()
    writer = ProducerChangelogWriter(producer)  # type: ignore[arg-type]
    with pytest.raises(ChangelogWriteError, match="outside of an event"):
        writer.produce("memory.a.s", 2, b"k", b"v")
    acks: list[Any] = []
    with collecting(acks):
        writer.produce("memory.a.s", 2, b"k", b"v")
    assert acks == ["ack"] and producer.sent == [("memory.a.s", 2, b"v")]


def _consumer_config(monkeypatch: pytest.MonkeyPatch, **librdkafka: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(_runner, "make_consumer", seen.update)
    agent = Agent("fetcher")

    @agent.handler(PullRequestOpened, topic="events.code")
    async def on_pr(event: PullRequestOpened, ctx: Context) -> None:
        return None

    runner = AgentRunner(
        agent, settings=AgentSettings(group_protocol="classic", ops_port=None),
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1", librdkafka=librdkafka),
    )
    runner._make_consumer("i-1")
    return seen


def test_agent_consumer_fetches_small_chunks_per_partition_unless_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1 MiB per partition let one partition's keys fill the scheduler's buffer (slow handlers
    # then ran below max_in_flight); the pass-through still has the last word.
    conf = _consumer_config(monkeypatch)
    assert conf["max.partition.fetch.bytes"] == 256 * 1024
    assert conf["isolation.level"] == "read_committed"
    assert conf["enable.auto.commit"] is False
    conf = _consumer_config(monkeypatch, **{"max.partition.fetch.bytes": "1048576"})
    assert conf["max.partition.fetch.bytes"] == "1048576"


def test_output_ids_are_uuid5_of_agent_input_and_sequence() -> None:
    for rest in ["a\x001", "@t/0/5\x002", *(f"{uuid.uuid4()}\x00{n}" for n in range(500))]:
        assert _uuid5("risk", rest) == str(uuid.uuid5(_ID_NAMESPACE, f"risk\x00{rest}"))
