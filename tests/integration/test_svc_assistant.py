"""The assistant on the real broker, replying through a local Slack Web API stub over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.svcproc import get_json, publish, spawn, stop, wait_for

from agentstream.config import KafkaSettings
from agentstream.events import (
    AssistantAnswered,
    BuildFailed,
    MessagePosted,
    PullRequestOpened,
    ReviewRequested,
    ReviewSubmitted,
    RiskDetected,
    RiskSeverity,
)
from agentstream.localkafka import free_port
from agentstream.schemas import new_meta
from agentstream.serde import read_events
from agentstream.testing import SlackWebStub, unique_name

BOT = "U0ASSIST"


def _ask(text: str, ts: str, channel: str = "C0ENG") -> MessagePosted:
    return MessagePosted(
        meta=new_meta(MessagePosted, source="t", subject=channel),
        channel=channel,
        user="U01ANA",
        text=f"<@{BOT}> {text}",
        ts=ts,
        posted_at=datetime.now(UTC),
    )


def _history() -> tuple[list, list, list]:
    now = datetime.now(UTC)
    repo = "acme/payments"

    def m(cls, subject, **kw):
        return cls(meta=new_meta(cls, source="t", subject=subject), **kw)

    code = [
        m(
            PullRequestOpened,
            f"{repo}#42",
            repo=repo,
            number=42,
            title="Idempotent ledger",
            url="u",
            author="ben",
            base_branch="main",
            head_branch="b",
            created_at=now,
        ),
        m(
            ReviewRequested,
            f"{repo}#42",
            repo=repo,
            number=42,
            url="u",
            requested_by="ben",
            reviewer="ana",
        ),
        m(
            ReviewRequested,
            f"{repo}#43",
            repo=repo,
            number=43,
            url="u",
            requested_by="chen",
            reviewer="ana",
        ),
        m(
            ReviewSubmitted,
            f"{repo}#41",
            repo=repo,
            number=41,
            url="u",
            reviewer="dara",
            state="approved",
            submitted_at=now,
        ),
        m(
            ReviewSubmitted,
            f"{repo}#40",
            repo=repo,
            number=40,
            url="u",
            reviewer="ana",
            state="approved",
            submitted_at=now,
        ),
        m(
            BuildFailed,
            repo,
            repo=repo,
            workflow="ci",
            run_id=1,
            url="u",
            commit_sha="abc",
            branch="chen/refunds",
            conclusion="failure",
            actor="chen",
            failed_at=now,
        ),
    ]
    chat = [
        m(
            MessagePosted,
            "C0PAYMENTS",
            channel="C0PAYMENTS",
            user="U03CHEN",
            ts="5.5",
            posted_at=now,
            text="payments release is blocked by the flaky ledger test",
        )
    ]
    risks = [
        m(
            RiskDetected,
            f"{repo}#43",
            based_on=(str(code[5].meta.id),),
            kind="build-failed",
            severity=RiskSeverity.HIGH,
            title="ci keeps failing on acme/payments#43",
            summary="3 failures this week",
        )
    ]
    return code, chat, risks


def test_questions_get_one_cited_thread_reply_each(
    bootstrap_servers: str, topic_factory, tmp_path: Path
) -> None:
    code, chat, risks, answers = (topic_factory() for _ in range(4))
    code_events, chat_events, risk_events = _history()
    port = free_port()
    indexer_env = {
        "AGENTSTREAM_INDEXER_PATH": str(tmp_path / "qdrant"),
        "AGENTSTREAM_INDEXER_SEARCH_PORT": str(port),
        "AGENTSTREAM_INDEXER_CODE_TOPIC": code,
        "AGENTSTREAM_INDEXER_CHAT_TOPIC": chat,
        "AGENTSTREAM_INDEXER_CALENDAR_TOPIC": topic_factory(),
        "AGENTSTREAM_INDEXER_RISKS_TOPIC": risks,
        "AGENTSTREAM_INDEXER_ACTIVITY_TOPIC": topic_factory(),
        "AGENTSTREAM_AGENT_GROUP_ID": unique_name("indexer"),
    }
    publish(bootstrap_servers, code, code_events)
    publish(bootstrap_servers, chat, chat_events)
    publish(bootstrap_servers, risks, risk_events)
    with SlackWebStub(token="xoxb-test", bot_user_id=BOT) as slack:
        env = {
            "AGENTSTREAM_ASSISTANT_SLACK_BASE_URL": slack.base_url,
            "AGENTSTREAM_ASSISTANT_SLACK_BOT_TOKEN": "xoxb-test",
            "AGENTSTREAM_ASSISTANT_BOT_USER_ID": BOT,
            "AGENTSTREAM_ASSISTANT_CHAT_TOPIC": chat,
            "AGENTSTREAM_ASSISTANT_RISKS_TOPIC": risks,
            "AGENTSTREAM_ASSISTANT_ANSWERS_TOPIC": answers,
            "AGENTSTREAM_ASSISTANT_INDEXER_URL": f"http://127.0.0.1:{port}",
            "AGENTSTREAM_ASSISTANT_WORKFLOW_NAME": unique_name("assistant"),
            "AGENTSTREAM_AGENT_GROUP_ID": unique_name("assistant"),
        }
        indexer = spawn("services.indexer", bootstrap_servers, indexer_env, tmp_path / "i.log")
        assistant = None
        try:
            wait_for(
                lambda: get_json(f"http://127.0.0.1:{port}/count")["count"] == 8,
                timeout=timedelta(seconds=90),
                what="the history indexed",
            )
            assistant = spawn("services.assistant", bootstrap_servers, env, tmp_path / "a.log")
            blocking = _ask("what is blocking payments?", "100.000001")
            review = _ask("who could review acme/payments#42?", "100.000002")
            # Slack redelivers the first (same event id), and the same message arrives again
            # under another event id (as the app_mention copy would): still one reply.
            twin = MessagePosted(
                **{**vars(blocking), "meta": new_meta(MessagePosted, source="t", subject="C0ENG")}
            )
            chatter = MessagePosted(
                meta=new_meta(MessagePosted, source="t", subject="C0ENG"),
                channel="C0ENG",
                user="U02BEN",
                text="no mention here",
                ts="100.000003",
                posted_at=datetime.now(UTC),
            )
            publish(bootstrap_servers, chat, [blocking, blocking, twin, review, chatter])
            posts = slack.wait_for_posts(2, timeout=timedelta(seconds=120))
            kafka = KafkaSettings(bootstrap_servers=bootstrap_servers)
            got = wait_for(
                lambda: len(read_events(kafka, answers)) >= 2 and read_events(kafka, answers),
                timeout=timedelta(seconds=60),
                what="two AssistantAnswered",
            )
        finally:
            if assistant is not None:
                stop(assistant)
            stop(indexer)
        assert len(slack.posts) == 2, [p.text for p in slack.posts]
    by_thread = {p.thread_ts: p for p in posts}
    assert set(by_thread) == {"100.000001", "100.000002"}
    first = by_thread["100.000001"].text
    assert str(risk_events[0].meta.id) in first and "ci keeps failing" in first
    second = by_thread["100.000002"].text
    assert second.startswith("For acme/payments#42 I would ask dara"), second
    assert "ana (1 review(s) in acme/payments, 2 pending)" in second and "ben (" not in second
    assert len(got) == 2 and all(isinstance(a, AssistantAnswered) for a in got)
    ids = {str(e.meta.id) for e in [*code_events, *chat_events, *risk_events]}
    for a in got:
        assert a.based_on and set(a.based_on) <= ids
        assert a.posted_ts in {p.ts for p in posts}
        assert a.answer == by_thread[a.thread_ts].text
