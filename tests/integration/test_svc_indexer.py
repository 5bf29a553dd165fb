"""The indexer on the real broker: idempotent by event id, entity filters, forget drops vectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from confluent_kafka import Producer
from tests.integration.svcproc import get_json, publish, spawn, stop, wait_for

from agentstream.events import BuildFailed, MessagePosted, PullRequestOpened, ReviewRequested
from agentstream.localkafka import free_port
from agentstream.schemas import new_meta
from agentstream.testing import unique_name


def _events() -> tuple[list, list]:
    now = datetime.now(UTC)
    code = [
        PullRequestOpened(
            meta=new_meta(PullRequestOpened, source="t", subject="acme/pay#42"),
            repo="acme/pay",
            number=42,
            title="Idempotent ledger writes",
            url="u",
            author="ben",
            base_branch="main",
            head_branch="b",
            created_at=now,
            additions=10,
            deletions=1,
            changed_files=1,
        ),
        ReviewRequested(
            meta=new_meta(ReviewRequested, source="t", subject="acme/pay#42"),
            repo="acme/pay",
            number=42,
            url="u",
            requested_by="ben",
            reviewer="ana",
        ),
        BuildFailed(
            meta=new_meta(BuildFailed, source="t", subject="acme/web"),
            repo="acme/web",
            workflow="ci",
            run_id=1,
            url="u",
            commit_sha="abc",
            branch="main",
            conclusion="failure",
            actor="eli",
            failed_at=now,
        ),
    ]
    chat = [
        MessagePosted(
            meta=new_meta(MessagePosted, source="t", subject="C0PAY"),
            channel="C0PAY",
            user="U02BEN",
            ts="1.1",
            posted_at=now,
            text="the flaky ledger test blocks the payments release",
        )
    ]
    return code, chat


def test_index_search_redeliver_and_forget(bootstrap_servers: str, topic_factory,
                                           tmp_path: Path) -> None:  # fmt: skip
    code, chat, forget = topic_factory(), topic_factory(), topic_factory()
    port = free_port()
    env = {
        "AGENTSTREAM_INDEXER_PATH": str(tmp_path / "qdrant"),
        "AGENTSTREAM_INDEXER_SEARCH_PORT": str(port),
        "AGENTSTREAM_INDEXER_CODE_TOPIC": code,
        "AGENTSTREAM_INDEXER_CHAT_TOPIC": chat,
        "AGENTSTREAM_INDEXER_CALENDAR_TOPIC": topic_factory(),
        "AGENTSTREAM_INDEXER_RISKS_TOPIC": topic_factory(),
        "AGENTSTREAM_INDEXER_ACTIVITY_TOPIC": topic_factory(),
        "AGENTSTREAM_INDEXER_FORGET_TOPICS": f'["{forget}"]',
        "AGENTSTREAM_AGENT_GROUP_ID": unique_name("indexer"),
    }
    base = f"http://127.0.0.1:{port}"
    code_events, chat_events = _events()
    proc = spawn("services.indexer", bootstrap_servers, env, tmp_path / "indexer.log")
    try:
        wait_for(
            lambda: get_json(f"{base}/count")["count"] == 0,
            timeout=timedelta(seconds=60),
            what="the search endpoint",
        )
        publish(bootstrap_servers, code, code_events)
        publish(bootstrap_servers, chat, chat_events)
        wait_for(
            lambda: get_json(f"{base}/count")["count"] == 4,
            timeout=timedelta(seconds=60),
            what="4 vectors",
        )
        # Redelivering the same events (same ids) leaves one vector per event.
        publish(bootstrap_servers, code, code_events)
        marker = MessagePosted(
            meta=new_meta(MessagePosted, source="t", subject="C0X"),
            channel="C0X",
            user="U1",
            ts="2.2",
            posted_at=datetime.now(UTC),
            text="marker",
        )
        publish(bootstrap_servers, chat, [marker])
        wait_for(
            lambda: get_json(f"{base}/count")["count"] == 5,
            timeout=timedelta(seconds=60),
            what="the marker after the redelivery",
        )

        def search(**q: str) -> list[dict]:
            return get_json(f"{base}/search?{urlencode(q)}")["hits"]

        hits = search(q="what is blocking payments ledger")
        assert hits[0]["event_id"] == str(chat_events[0].meta.id)
        assert hits[0]["text"].endswith("blocks the payments release")
        only_pay = search(q="build failed", repo="acme/pay")
        assert {h["event_id"] for h in only_pay} == {str(e.meta.id) for e in code_events[:2]}
        ana = search(q="review", person="ana")
        assert [h["event_id"] for h in ana] == [str(code_events[1].meta.id)]
        pr42 = search(q="x", entity="acme/pay#42")
        assert len(pr42) == 2
        # `agentstream memory forget ... ben` writes this tombstone: ben's vectors go.
        tomb = Producer({"bootstrap.servers": bootstrap_servers})
        tomb.produce(forget, key=b"ben", value=None, headers=[("agentstream-forget", b"1")])
        assert tomb.flush(30) == 0
        wait_for(
            lambda: get_json(f"{base}/count")["count"] == 3,
            timeout=timedelta(seconds=60),
            what="ben's 2 vectors deleted",
        )
        assert search(q="x", person="ben") == []
    finally:
        stop(proc)
    # Reopened from disk, the index still holds what it held.
    proc = spawn("services.indexer", bootstrap_servers, env, tmp_path / "indexer.log")
    try:
        assert wait_for(
            lambda: get_json(f"{base}/count")["count"] == 3,
            timeout=timedelta(seconds=60),
            what="the reopened index",
        )
    finally:
        stop(proc)
