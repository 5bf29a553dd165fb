"""team-memory as its own process: profiles and the bi-temporal team graph, read through the
SDK (``agentstream.memory.read_key``), the CLI (``agentstream memory get``) and HTTP (the
agent's ops port), including "as of" questions, and kept across a restart."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from agents.harness import spawn_agent, wait_for
from services.team_memory.query import cli as query_cli
from services.team_memory.query import relations
from svc.events import joined, left, meeting, merged, message, opened, publish, requested, reviewed
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.config import KafkaSettings
from agentstream.errors import ChangelogPartitionError
from agentstream.memory import Fact, as_of, read_key
from agentstream.serde import make_serde
from agentstream.testing import unique_name

TARGET = "services.team_memory.agent:agent"
REPO = "acme/payments"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(settings: KafkaSettings, agent: str, store: str, key: str) -> Any:
    try:
        entry = read_key(settings, agent, store, key, timeout=timedelta(seconds=20))
    except ChangelogPartitionError:  # the agent has not created its changelogs yet
        return None
    return None if entry is None or entry.value is None else json.loads(entry.value)


def test_profiles_and_graph_through_sdk_cli_and_http(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    code, chat, cal = (topic_factory(partitions=3) for _ in range(3))
    name, prefix, port = unique_name("team-memory"), unique_name("p") + ".", _free_port()
    log = tmp_path / "agent.log"
    env = {
        "AGENTSTREAM_TOPIC_PREFIX": prefix,
        "AGENTSTREAM_TEAM_MEMORY_AGENT_NAME": name,
        "AGENTSTREAM_TEAM_MEMORY_CODE_TOPIC": code,
        "AGENTSTREAM_TEAM_MEMORY_CHAT_TOPIC": chat,
        "AGENTSTREAM_TEAM_MEMORY_CALENDAR_TOPIC": cal,
        "AGENTSTREAM_TEAM_MEMORY_TEAM": "payments",
        "AGENTSTREAM_AGENT_OPS_PORT": str(port),
        "AGENT_STDERR": str(log),
    }
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=prefix)
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    pr1, pr2 = opened(REPO, 1, "alice", at=T0), opened(REPO, 2, "alice", at=T0)
    ask = requested(REPO, 2, "carol")
    review = reviewed(REPO, 1, "bob", at=T0 + timedelta(hours=3))
    code_events = [pr1, pr2, ask, review, merged(REPO, 1, "alice", at=T0 + timedelta(hours=4))]
    chat_events = [
        joined("C-pay", "dave", at=T0),
        message("C-pay", "dave", at=T0 + timedelta(hours=1)),
        left("C-pay", "dave", at=T0 + timedelta(days=2)),
    ]
    standup = meeting("standup-1", "Standup", T0 + timedelta(days=1),
                      T0 + timedelta(days=1, minutes=15), ["alice", "bob"])

    ev = {"pr1": pr1, "pr2": pr2, "ask": ask, "review": review, "standup": standup}
    child = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        publish(bootstrap_servers, serde, code, code_events)
        publish(bootstrap_servers, serde, chat, chat_events)
        publish(bootstrap_servers, serde, cal, [standup])

        def settled() -> bool:
            if child.poll() is not None:
                raise AssertionError(log.read_text()[-3000:])
            dave = _value(settings, name, "people", "dave")
            alice = _value(settings, name, "people", "alice")
            return bool(dave and dave["channels"] == [] and alice and alice["meetings"]
                        and list(alice["open_prs"]) == [f"{REPO}#2"])

        wait_for(settled, timeout=timedelta(seconds=90), what="profiles to settle", poll=0.5)

        _check_sdk(settings, name, ev)
        _check_cli_and_http(bootstrap_servers, prefix, name, port, ev)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            assert child.wait(timeout=60) == 0, log.read_text()[-3000:]
        except subprocess.TimeoutExpired:
            child.kill()
            raise

    # Restarted, it restores its stores and folds new events on top of them.
    child = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        publish(bootstrap_servers, serde, code, [reviewed(REPO, 2, "carol")])

        def carol_done() -> bool:
            c = _value(settings, name, "people", "carol")
            return bool(c and c["pending_reviews"] == {} and c["reviews_given"] == 1)

        wait_for(carol_done, timeout=timedelta(seconds=90), what="carol's review", poll=0.5)
        # Who wrote #2 came from the restored repository profile, not from this event.
        edge = _value(settings, name, "graph", "reviews|carol|alice")
        assert edge is not None and edge[0]["value"]["from"] == "carol"
        got = httpx.get(f"http://127.0.0.1:{port}/memory/people/alice", timeout=10).json()
        assert "standup-1" in got["value"]["meetings"]
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)


def _check_sdk(settings: KafkaSettings, name: str, ev: dict[str, Any]) -> None:
    pr1, pr2, ask, review = ev["pr1"], ev["pr2"], ev["ask"], ev["review"]
    # SDK: profiles.
    alice = _value(settings, name, "people", "alice")
    assert alice["open_prs"][f"{REPO}#2"]["opened_id"] == pr2.meta.id
    assert alice["repos"] == [REPO] and "standup-1" in alice["meetings"]
    carol = _value(settings, name, "people", "carol")
    assert carol["pending_reviews"] == {f"{REPO}#2": ask.meta.id}
    repo = _value(settings, name, "repos", REPO)
    assert list(repo["open_prs"]) == [f"{REPO}#2"] and repo["contributors"] == ["alice"]
    assert {e["id"] for e in repo["recent"]} >= {pr1.meta.id, review.meta.id}
    team = _value(settings, name, "teams", "payments")
    assert set(team["people"]) >= {"alice", "bob", "carol", "dave"}
    assert team["repos"] == [REPO] and team["channels"] == ["C-pay"]

    # SDK: the graph, "as of" in valid time and in record time.
    facts = [Fact.from_json(f) for f in _value(settings, name, "graph", "reviews|bob|alice")]
    assert as_of(facts, T0 + timedelta(hours=2)) is None  # before the review
    fact = as_of(facts, T0 + timedelta(hours=5))
    assert fact is not None and fact.value["evidence"] == review.meta.id
    chan = [Fact.from_json(f) for f in _value(settings, name, "graph", "in_channel|dave|C-pay")]
    assert as_of(chan, T0 + timedelta(days=1)) is not None  # a member on Tuesday
    assert as_of(chan, T0 + timedelta(days=3)) is None  # left on Wednesday
    # What we believed before the leave was recorded: still a member on Thursday.
    first_recorded = min(f.recorded_at for f in chan)
    assert as_of(chan, T0 + timedelta(days=3), known_at=first_recorded) is not None


    # The query module: relations of a person as of a time, and what was known when.
    day1 = T0 + timedelta(days=1, minutes=5)
    assert [(r["relation"], r["from"], r["to"]) for r in relations(settings, "alice",
                                                                   valid_at=day1, agent=name)] == [
        ("attends", "alice", "standup-1"), ("reviews", "bob", "alice"),
        ("works_on", "alice", REPO)]
    early = relations(settings, "alice", valid_at=T0 + timedelta(hours=2), agent=name)
    assert [r["relation"] for r in early] == ["works_on"]
    assert relations(settings, "dave", valid_at=T0 + timedelta(days=3), agent=name) == []
    out = CliRunner().invoke(query_cli, ["relations", "dave", "--valid-at", day1.isoformat(),
                                         "--agent", name],
                             env={"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                                  "AGENTSTREAM_TOPIC_PREFIX": settings.topic_prefix})
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["to"] == "C-pay"


def _check_cli_and_http(bootstrap_servers: str, prefix: str, name: str, port: int,
                        ev: dict[str, Any]) -> None:
    ask, standup = ev["ask"], ev["standup"]
    # CLI.
    result = CliRunner().invoke(
        app, ["memory", "get", name, "people", "carol"],
        env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "AGENTSTREAM_TOPIC_PREFIX": prefix},
    )
    assert result.exit_code == 0, result.output
    assert ask.meta.id in result.output

    # HTTP on the ops port: a profile, and a fact as of a time.
    base = f"http://127.0.0.1:{port}/memory"
    got = httpx.get(f"{base}/people/alice", timeout=10).json()
    assert f"{REPO}#2" in got["value"]["open_prs"]
    at = (T0 + timedelta(days=1, minutes=5)).isoformat()
    got = httpx.get(f"{base}/graph/attends|alice|standup-1",
                    params={"valid_at": at}, timeout=10).json()
    assert got["fact"]["value"]["evidence"] == standup.meta.id
    missing = httpx.get(f"{base}/graph/attends|alice|standup-1",
                        params={"valid_at": (T0 + timedelta(days=2)).isoformat()},
                        timeout=10)
    assert missing.status_code == 404  # the meeting was over
