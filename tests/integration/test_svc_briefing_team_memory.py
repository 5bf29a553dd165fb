"""The briefing's gather step against a real team-memory process over its ops port: the team's
overloaded reviewer, failing build, pending reviews and open pull requests come back citing the
events team-memory folded them from."""

from __future__ import annotations

import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from agents.harness import spawn_agent, wait_for
from services.daily_briefing.gather import team_state
from services.daily_briefing.settings import BriefingSettings
from svc.events import build_failed, opened, publish, requested

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name

REPO = "acme/payments"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gather_reads_team_memory_over_http(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    code, chat, cal = (topic_factory() for _ in range(3))
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
    prs = [opened(REPO, n, "alice", at=T0) for n in (1, 2, 3)]
    asks = [requested(REPO, n, "carol") for n in (1, 2, 3)]
    build = build_failed(REPO, [1], branch="main")
    base = f"http://127.0.0.1:{port}"
    child = spawn_agent("services.team_memory.agent:agent", bootstrap_servers, env)
    try:
        publish(bootstrap_servers, make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers)),
                code, [*prs, *asks, build])

        def folded() -> bool:
            if child.poll() is not None:
                raise AssertionError(log.read_text()[-3000:])
            try:
                carol = httpx.get(f"{base}/memory/people/carol", timeout=5)
                repo = httpx.get(f"{base}/memory/repos/{REPO.replace('/', '%2F')}", timeout=5)
            except httpx.HTTPError:
                return False
            return (carol.status_code == 200 and repo.status_code == 200
                    and len(carol.json()["value"]["pending_reviews"]) == 3
                    and bool(repo.json()["value"]["failing"]))

        wait_for(folded, timeout=timedelta(seconds=90), what="team-memory to fold", poll=0.5)
        items = team_state(BriefingSettings(team_memory_url=base, overloaded_reviews=3),
                           "payments")
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    ask_ids = {str(a.meta.id) for a in asks}
    [over] = by_kind["memory:overloaded"]
    assert over["person"] == "carol" and set(over["evidence"]) == ask_ids
    assert [b["id"] for b in by_kind["memory:failing_build"]] == [str(build.meta.id)]
    assert {i["id"] for i in by_kind["memory:pending_review"]} == ask_ids
    open_prs = {i["id"]: i["text"] for i in by_kind["memory:open_pr"]}
    assert set(open_prs) == {str(p.meta.id) for p in prs}
    assert all("waiting on carol" in t for t in open_prs.values()), open_prs
