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

import pytest
from agents.harness import ROOT
from svc.events import publish, risk
from svc.webhook_stub import webhook_stub

from agentstream.config import KafkaSettings
from agentstream.serde import make_serde
from agentstream.testing import unique_name

# Service-level shadow checks (notifier, assistant, baseline) run with `make test-slow`; the
# acceptance replay of a day (test_shadow_pr_risk.py) runs by default.
pytestmark = pytest.mark.slow


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


def test_a_shadowed_assistant_never_calls_slack_and_answers_as_production_did(
    bootstrap_servers: str, topic_factory: Any, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from tests.integration.svcproc import spawn, stop, wait_for  # noqa: PLC0415

    from agentstream.events import MessagePosted  # noqa: PLC0415
    from agentstream.schemas import new_meta  # noqa: PLC0415
    from agentstream.serde import read_events  # noqa: PLC0415
    from agentstream.testing import SlackWebStub  # noqa: PLC0415

    bot = "U0ASSIST"
    chat, risks, answers = (topic_factory(partitions=1) for _ in range(3))
    question = MessagePosted(
        meta=new_meta(MessagePosted, source="t", subject="C0ENG"), channel="C0ENG",
        user="U01ANA", text=f"<@{bot}> what is blocking payments?", ts="100.000001",
        posted_at=datetime.now(UTC),
    )  # fmt: skip
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    with SlackWebStub(token="xoxb-test", bot_user_id=bot) as slack:
        env = {
            "AGENTSTREAM_TOPIC_PREFIX": unique_name("p") + ".",
            "AGENTSTREAM_ASSISTANT_SLACK_BASE_URL": slack.base_url,
            "AGENTSTREAM_ASSISTANT_SLACK_BOT_TOKEN": "xoxb-test",
            "AGENTSTREAM_ASSISTANT_BOT_USER_ID": bot,
            "AGENTSTREAM_ASSISTANT_CHAT_TOPIC": chat,
            "AGENTSTREAM_ASSISTANT_RISKS_TOPIC": risks,
            "AGENTSTREAM_ASSISTANT_ANSWERS_TOPIC": answers,
            "AGENTSTREAM_ASSISTANT_WORKFLOW_NAME": unique_name("assistant"),
            "AGENTSTREAM_AGENT_GROUP_ID": unique_name("assistant"),
        }
        publish(bootstrap_servers, make_serde(kafka), chat, [question])
        production = spawn("services.assistant", bootstrap_servers, env, tmp_path / "a.log")
        try:
            wait_for(lambda: len(read_events(kafka, answers)) == 1, timeout=timedelta(seconds=90),
                     what="production's answer")  # fmt: skip
        finally:
            stop(production)
        calls = len(slack.calls)
        assert len(slack.posts) == 1

        full = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
            "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers, "PYTHONPATH": str(ROOT), **env}
        full.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        run = subprocess.run(
            [sys.executable, "-m", "agentstream.cli", "shadow", "services.assistant.agent:agent",
             "--json", "--deadline", "90s", "--ignore", "posted_ts", "--cleanup"],
            cwd=ROOT, env=full, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr.decode()[-3000:]
        assert len(slack.calls) == calls and len(slack.posts) == 1  # not even a lookup
    report = json.loads(run.stdout)
    assert report["complete"] and report["window"]["inputs"] == 1
    # The baseline (production's version against itself) answers as production did.
    assert report["types"] == {"agentstream.insights.AssistantAnswered": {
        "same": 1, "changed": 0, "only_production": 0, "only_shadow": 0}}, report["differences"]
    assert len(read_events(kafka, answers)) == 1


def test_a_baseline_run_marks_the_noise_floor(
    bootstrap_servers: str, topic_factory: Any
) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from agents.clocked import make  # noqa: PLC0415
    from agents.harness import running, wait_for  # noqa: PLC0415
    from test_shadow_basic import _pr, _publish  # noqa: PLC0415

    from agentstream.serde import read_events  # noqa: PLC0415

    src, out = topic_factory(partitions=2), topic_factory(partitions=1)
    name = unique_name("clocked")
    prs = [_pr(n, lines) for n, lines in enumerate([10, 150, 300, 600], start=1)]
    _publish(bootstrap_servers, src, prs)
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
    with running(make(name, src, out, 200), bootstrap_servers):
        wait_for(lambda: len(read_events(kafka, out)) == 2, timeout=timedelta(seconds=60),
                 what="production's two risks")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")} | {
        "AGENTSTREAM_BOOTSTRAP_SERVERS": bootstrap_servers, "PYTHONPATH": str(ROOT),
        "AGENTSTREAM_AGENT_OPS_PORT": "-1",
        "CLOCKED_NAME": name, "CLOCKED_SRC": src, "CLOCKED_OUT": out}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    run = subprocess.run(
        [sys.executable, "-m", "agentstream.cli", "shadow",
         "tests.integration.agents.clocked:agent",
         "--candidate", "tests.integration.agents.clocked:candidate", "--baseline",
         "--json", "--deadline", "90s", "--cleanup", "--fail-on-diff"],
        cwd=ROOT, env=env, capture_output=True, timeout=240, check=False,
    )  # fmt: skip
    report = json.loads(run.stdout)
    # The clock makes both of production's risks "changed" in the baseline already: noise. The
    # risk of the 150-line pull request is the candidate's own doing: signal (exit code 1).
    assert run.returncode == 1, run.stderr.decode()[-3000:]
    assert report["baseline"]["types"][RISK_TYPE]["changed"] == 2
    assert report["types"][RISK_TYPE] == {"same": 0, "changed": 2, "only_production": 0,
                                          "only_shadow": 1, "noise": 2}  # fmt: skip
    signal = [d for d in report["differences"] if not d["noise"]]
    assert [(d["kind"], d["causation_id"]) for d in signal] == [("only-shadow", prs[1].meta.id)]


RISK_TYPE = "agentstream.insights.RiskDetected"
