"""The daily briefing on the real broker: cited evidence, and no repeated LLM call or post
when its process is SIGKILLed between the LLM step and the publish step."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.daily_briefing.agent import briefing_id, request
from tests.integration.svcproc import publish, spawn, stop, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import ActivitySummary, BriefingReady, RiskDetected, RiskSeverity
from agentstream.schemas import new_meta
from agentstream.serde import read_events
from agentstream.testing import OpenAIServer, unique_name
from agentstream.workflow import read_runs


def _risk(kind: str, subject: str, title: str, sev: RiskSeverity) -> RiskDetected:
    return RiskDetected(
        meta=new_meta(RiskDetected, source="t", subject=subject),
        based_on=(str(new_meta(RiskDetected, source="t", subject="x").id),),
        kind=kind,
        severity=sev,
        title=title,
        summary="details",
    )


def _answer(messages: list[dict]) -> str:
    # Cite evidence 1 and 3 (which exist) and 99 (which does not: it must be dropped).
    return json.dumps(
        {
            "attention": [{"text": "Review of #42 is stale", "cites": [1, 99]}],
            "went_well": [
                {"text": "Payments was busy", "cites": [3]},
                {"text": "uncited claim", "cites": [99]},
            ],
        }
    )


def test_briefing_killed_between_llm_and_publish_publishes_once(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    requests, briefings, risks, activity = (topic_factory() for _ in range(4))
    wf = unique_name("briefing")
    now = datetime.now(UTC)
    evidence_risks = [
        _risk(
            "stale-review", "acme/pay#42", "acme/pay#42 waits for a first review", RiskSeverity.HIGH
        ),
        _risk("build-failed", "acme/pay#43", "ci failed on #43", RiskSeverity.MEDIUM),
    ]
    summary = ActivitySummary(
        meta=new_meta(ActivitySummary, source="t", subject="acme/pay"),
        based_on=(),
        entity="acme/pay",
        period_start=now - timedelta(days=1),
        period_end=now,
        counts={"PullRequestOpened": 3},
        summary="acme/pay: 3 pull requests opened",
    )
    publish(bootstrap_servers, risks, evidence_risks)
    publish(bootstrap_servers, activity, [summary])
    gate = tmp_path / "gate"
    with OpenAIServer(responder=_answer) as llm:
        env = {
            "AGENTSTREAM_BRIEFING_REQUESTS_TOPIC": requests,
            "AGENTSTREAM_BRIEFING_BRIEFINGS_TOPIC": briefings,
            "AGENTSTREAM_BRIEFING_RISKS_TOPIC": risks,
            "AGENTSTREAM_BRIEFING_ACTIVITY_TOPIC": activity,
            "AGENTSTREAM_BRIEFING_WORKFLOW_NAME": wf,
            "AGENTSTREAM_BRIEFING_SCHEDULE": "",
            "AGENTSTREAM_BRIEFING_PAUSE_BEFORE_PUBLISH": str(gate),
            "AGENTSTREAM_AGENT_GROUP_ID": unique_name("briefing"),
            "OPENAI_BASE_URL": llm.base_url,
            "OPENAI_API_KEY": "test-key",
        }
        end = datetime.now(UTC)  # after the evidence was made
        trigger = request("payments", audience="C0ENG", start=now - timedelta(days=7), end=end)
        proc = spawn("services.daily_briefing", bootstrap_servers, env, tmp_path / "b.log")
        try:
            publish(bootstrap_servers, requests, [trigger])
            kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)

            def written() -> bool:
                runs = read_runs(wf, kafka, timeout=timedelta(seconds=10))
                return bool(runs) and runs[0].steps["write"].status == "succeeded"

            wait_for(written, timeout=timedelta(seconds=90), what="the write step checkpointed")
            assert len(llm.prompts()) == 1
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        run = read_runs(wf, kafka, timeout=timedelta(seconds=10))[0]
        assert run.status == "running" and run.steps["publish"].status != "succeeded"
        gate.touch()
        proc = spawn("services.daily_briefing", bootstrap_servers, env, tmp_path / "b.log")
        try:
            wait_for(
                lambda: (
                    read_runs(wf, kafka, timeout=timedelta(seconds=10))[0].status == "succeeded"
                ),
                timeout=timedelta(seconds=90),
                what="the run finished",
            )
        finally:
            stop(proc)
        assert len(llm.prompts()) == 1, "the finished LLM step was not repeated"
        assert "acme/pay#42 waits for a first review" in llm.prompts()[0], llm.prompts()[0]
    out = read_events(kafka, briefings)
    assert len(out) == 1, f"published {len(out)} times"
    b = out[0]
    assert isinstance(b, BriefingReady)
    assert str(b.meta.id) == briefing_id(run.run_id)
    assert b.model and b.team == "payments"
    assert set(b.based_on) == {str(evidence_risks[0].meta.id), str(summary.meta.id)}, (
        b.body,
        evidence_risks,
        summary,
    )
    assert "## What needs attention" in b.body and str(evidence_risks[0].meta.id) in b.body
    assert "uncited claim" not in b.body
