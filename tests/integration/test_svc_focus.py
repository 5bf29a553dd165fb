"""focus as its own process: meeting overload and low focus time per person-week, after-hours
work at team level, each citing events on its input topics, and debounced summaries."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agents.harness import spawn_agent
from svc.events import alive, meeting, message, publish, read_records

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name

TARGET = "services.focus.agent:agent"
MON = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W48


def test_focus_risks_and_summaries(bootstrap_servers: str, topic_factory: Any,
                                   tmp_path: Path) -> None:
    code, chat, cal = (topic_factory(partitions=3) for _ in range(3))
    risks, activity = topic_factory(partitions=1), topic_factory(partitions=1)
    log = tmp_path / "agent.log"
    env = {
        "AGENTSTREAM_TOPIC_PREFIX": unique_name("p") + ".",
        "AGENTSTREAM_FOCUS_AGENT_NAME": unique_name("focus"),
        "AGENTSTREAM_FOCUS_CODE_TOPIC": code,
        "AGENTSTREAM_FOCUS_CHAT_TOPIC": chat,
        "AGENTSTREAM_FOCUS_CALENDAR_TOPIC": cal,
        "AGENTSTREAM_FOCUS_RISKS_TOPIC": risks,
        "AGENTSTREAM_FOCUS_ACTIVITY_TOPIC": activity,
        "AGENTSTREAM_FOCUS_TEAM": "payments",
        "AGENTSTREAM_FOCUS_MAX_MEETING_HOURS": "5",
        "AGENTSTREAM_FOCUS_MIN_DEEP_WORK_BLOCKS": "6",
        "AGENTSTREAM_FOCUS_AFTER_HOURS_MIN_EVENTS": "3",
        "AGENTSTREAM_FOCUS_AFTER_HOURS_SHARE": "0.5",
        "AGENTSTREAM_FOCUS_SUMMARY_DELAY": "2",
        "AGENT_STDERR": str(log),
    }
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    # alice: Monday and Tuesday 9-12 (6 h of meetings; 5 deep-work blocks); bob only Monday.
    meetings = [
        meeting("plan", "Planning", MON + timedelta(hours=9), MON + timedelta(hours=12),
                ["alice", "bob"]),
        meeting("arch", "Architecture", MON + timedelta(days=1, hours=9),
                MON + timedelta(days=1, hours=12), ["alice"]),
    ]
    late = [message("C1", u, at=MON + timedelta(days=d, hours=22))
            for u, d in (("alice", 0), ("bob", 1), ("alice", 2))]
    weekend = message("C1", "carol", at=MON + timedelta(days=5, hours=11))
    day = message("C1", "bob", at=MON + timedelta(hours=10))
    chat_events = [day, *late, weekend]

    child = spawn_agent(TARGET, bootstrap_servers, env)
    try:
        publish(bootstrap_servers, serde, cal, meetings)
        publish(bootstrap_servers, serde, chat, chat_events)

        def all_risks(rs: list[Any]) -> bool:
            return {r.kind for r in rs} >= {"meeting-overload", "low-focus-time",
                                            "after-hours-work"}

        found = read_records(bootstrap_servers, serde, risks, until=alive(child, log, all_risks),
                             timeout=timedelta(seconds=90))

        def settled(ss: list[Any]) -> bool:
            latest = {s.entity: s for s in ss}
            a, t = latest.get("person:alice"), latest.get("team:payments")
            return bool(a and a.counts.get("meetings") == 2 and t
                        and t.counts.get("events") == len(chat_events))

        summaries = read_records(bootstrap_servers, serde, activity,
                                 until=alive(child, log, settled), timeout=timedelta(seconds=90))
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)

    by_kind = {r.kind: r for r in found}
    overload = by_kind["meeting-overload"]
    assert overload.person == "alice" and overload.team == "payments"
    assert set(overload.based_on) == {m.meta.id for m in meetings}
    # Both have five deep-work blocks, fewer than six.
    assert sorted(r.person for r in found if r.kind == "low-focus-time") == ["alice", "bob"]
    assert [r.person for r in found if r.kind == "meeting-overload"] == ["alice"]  # not bob
    team = by_kind["after-hours-work"]
    assert team.person is None and team.meta.subject == "team:payments"
    assert set(team.based_on) <= {e.meta.id for e in (*late, weekend)}
    assert len(team.based_on) >= 3

    latest = {s.entity: s for s in summaries}
    alice = latest["person:alice"]
    assert alice.counts["meeting_minutes"] == 360 and alice.counts["deep_work_blocks"] == 5
    assert alice.period_start == MON and alice.period_end == MON + timedelta(days=7)
    assert set(alice.based_on) == {m.meta.id for m in meetings}
    t = latest["team:payments"]
    assert (t.counts["after_hours_events"], t.counts["weekend_events"]) == (3, 1)
