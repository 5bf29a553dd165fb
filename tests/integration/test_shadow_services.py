"""A shadow run of a service with effects outside Kafka has none: the notifier, configured to
post every insight to a webhook and append it to a JSONL file, shadowed over two insights, posts
nothing and writes nothing (and stdout stays the report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agents.harness import ROOT
from svc.events import publish, risk
from svc.webhook_stub import webhook_stub

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name


def test_a_shadowed_notifier_posts_nothing_and_writes_no_file(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    risks, activity, briefings = (topic_factory(partitions=1) for _ in range(3))
    serde = make_serde(KafkaSettings(bootstrap_servers=bootstrap_servers))
    out = tmp_path / "insights.jsonl"
    publish(bootstrap_servers, serde, risks, [
        risk("stale-review", "o/r#1", ("11111111-1111-4111-8111-111111111111",), severity="high"),
        risk("build-failing", "o/r#2", ("22222222-2222-4222-8222-222222222222",)),
    ])  # fmt: skip
    with webhook_stub() as hook:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
            "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers,
            "PYTHONPATH": str(ROOT),
            "AGENTSTREAM_TOPIC_PREFIX": unique_name("p") + ".",
            "AGENTSTREAM_NOTIFIER_AGENT_NAME": unique_name("notifier"),
            "AGENTSTREAM_NOTIFIER_RISKS_TOPIC": risks,
            "AGENTSTREAM_NOTIFIER_ACTIVITY_TOPIC": activity,
            "AGENTSTREAM_NOTIFIER_BRIEFINGS_TOPIC": briefings,
            "AGENTSTREAM_NOTIFIER_SINKS": '["console", "jsonl", "webhook"]',
            "AGENTSTREAM_NOTIFIER_JSONL_PATH": str(out),
            "AGENTSTREAM_NOTIFIER_WEBHOOK_URL": hook.url,
        }
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        run = subprocess.run(
            [sys.executable, "-m", "agentstream.cli", "shadow", "services.notifier.agent:agent",
             "--json", "--deadline", "90s", "--cleanup"],
            cwd=ROOT, env=env, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr.decode()[-3000:]
        report = json.loads(run.stdout)  # the console sink printed nothing in between
        assert report["complete"] and report["window"]["inputs"] == 2
        assert report["dead_letters"] == {"production": 0, "shadow": 0}
        assert hook.posts == []
    assert not out.exists()
