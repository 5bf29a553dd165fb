"""notifier as its own process: insights to a JSONL file and a Slack-format webhook (a local
HTTP stub), once per insight id — across a restart without the runtime's dedupe window."""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from agents.harness import spawn_agent, wait_for
from svc.events import publish, risk
from svc.webhook_stub import webhook_stub

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name

TARGET = "services.notifier.agent:agent"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_notifier_delivers_each_insight_once_to_jsonl_and_webhook(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    risks, activity, briefings = (topic_factory(partitions=3) for _ in range(3))
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    out, log = tmp_path / "insights.jsonl", tmp_path / "agent.log"
    a = risk("stale-review", "o/r#1", ("11111111-1111-4111-8111-111111111111",), severity="high")
    b = risk("build-failing", "o/r#2", ("22222222-2222-4222-8222-222222222222",))
    low = risk("large-pull-request", "o/r#3", (), severity="low")
    with webhook_stub() as hook:
        hook.fail_next = 1  # the first delivery is retried
        env = {
            "AGENTSTREAM_TOPIC_PREFIX": unique_name("p") + ".",
            "AGENTSTREAM_NOTIFIER_AGENT_NAME": unique_name("notifier"),
            "AGENTSTREAM_NOTIFIER_RISKS_TOPIC": risks,
            "AGENTSTREAM_NOTIFIER_ACTIVITY_TOPIC": activity,
            "AGENTSTREAM_NOTIFIER_BRIEFINGS_TOPIC": briefings,
            "AGENTSTREAM_NOTIFIER_SINKS": '["jsonl", "webhook"]',
            "AGENTSTREAM_NOTIFIER_JSONL_PATH": str(out),
            "AGENTSTREAM_NOTIFIER_WEBHOOK_URL": hook.url,
            "AGENTSTREAM_NOTIFIER_MIN_SEVERITY": "medium",
            # Off, so that the notifier's own store is what keeps deliveries unique.
            "AGENTSTREAM_AGENT_DEDUPE_WINDOW": "0",
            "AGENT_STDERR": str(log),
        }
        child = spawn_agent(TARGET, bootstrap_servers, env)
        try:
            publish(bootstrap_servers, serde, risks, [a, b, a, low])
            wait_for(lambda: len(hook.posts) >= 2 and len(_lines(out)) >= 2,
                     timeout=timedelta(seconds=90), what="two deliveries")
        finally:
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=60) == 0, log.read_text()[-3000:]

        # Restarted, it reads the same insights again (and a new one) and delivers only the new.
        # c and d share a's and b's keys, so they are handled after the repeated a and b.
        c = risk("reviewer-overload", "o/r#1", ("33333333-3333-4333-8333-333333333333",))
        d = risk("review-imbalance", "o/r#2", ("44444444-4444-4444-8444-444444444444",))
        child = spawn_agent(TARGET, bootstrap_servers, env)
        try:
            publish(bootstrap_servers, serde, risks, [a, b, c, d])
            wait_for(lambda: len(hook.posts) >= 4, timeout=timedelta(seconds=90),
                     what="the deliveries of c and d")
        finally:
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=60) == 0, log.read_text()[-3000:]

    lines = _lines(out)
    assert sorted(x["id"] for x in lines) == sorted(r.meta.id for r in (a, b, c, d))
    assert {x["kind"] for x in lines} == {
        "stale-review", "build-failing", "reviewer-overload", "review-imbalance"
    }
    assert [p for p in hook.posts if "large-pull-request" in p["text"]] == []  # below medium
    assert len(hook.posts) == 4
    first = next(p for p in hook.posts if a.meta.id in json.dumps(p))
    assert "stale-review" in first["text"] and first["blocks"][0]["type"] == "section"
    assert "11111111-1111-4111-8111-111111111111" in json.dumps(first["blocks"])
