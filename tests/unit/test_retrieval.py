"""The retrieval store on both embedded engines: upsert, filters, idempotence, forget, reopen."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentstream.llm import offline_embedding
from agentstream.retrieval import Document, RetrievalError, RetrievalSettings, RetrievalStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

TEXTS = [
    ("the deploy pipeline failed on the payments service", "alice", "payments", "slack"),
    ("alice reviewed the payments refactor and asked for tests", "alice", "payments", "github"),
    ("bob is on call this week for the search cluster", "bob", "search", "calendar"),
    ("search latency regression after the index rebuild", "bob", "search", "slack"),
    ("carol opened a pull request fixing flaky payments tests", "carol", "payments", "github"),
]


def _docs() -> list[Document]:
    return [
        Document(event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, text)), text=text,
                 time=T0 + timedelta(days=i), source=source, team="platform",
                 repository=f"octo/{repo}", people=(person,))
        for i, (text, person, repo, source) in enumerate(TEXTS)
    ]


def _open(tmp: Path, engine: str) -> RetrievalStore:
    settings = RetrievalSettings(path=tmp, dimensions=384)
    return RetrievalStore("chat", settings=settings, engine=engine)  # type: ignore[arg-type]


def _vec(text: str) -> list[float]:
    return offline_embedding(text, 384)


@pytest.mark.parametrize("engine", ["edge", "local"])
def test_upsert_search_filters_forget_and_reopen(engine: str, tmp_path: Path) -> None:
    docs = _docs()
    store = _open(tmp_path, engine)
    store.upsert(docs, [_vec(d.text) for d in docs])
    assert store.count() == 5
    top = store.search(_vec("payments pipeline failed"), limit=2)
    assert top[0].text == TEXTS[0][0] and top[0].score > top[1].score
    assert {h.payload["source"] for h in store.search(_vec("payments"), source="github")} == {
        "github"}
    assert {h.text for h in store.search(_vec("search"), person="bob")} == {TEXTS[2][0],
                                                                            TEXTS[3][0]}
    assert {h.text for h in store.search(_vec("x"), repository="octo/search",
                                         since=T0 + timedelta(days=3))} == {TEXTS[3][0]}
    window = store.search(_vec("x"), since=T0 + timedelta(days=1), until=T0 + timedelta(days=2))
    assert len(window) == 2
    assert store.search(_vec("x"), team="other") == []
    # Re-indexing the same events (a redelivery) adds nothing and updates in place.
    store.upsert(docs, [_vec(d.text) for d in docs])
    assert store.count() == 5
    # Forgetting a person removes every vector about them.
    assert store.delete_entity("alice") == 2
    assert store.count() == 3
    assert all("alice" not in h.payload["person"] for h in store.search(_vec("alice"), limit=10))
    assert store.delete_entity("octo/search") == 2
    store.optimize()
    assert [h.text for h in store.search(_vec("flaky tests"), limit=1)] == [TEXTS[4][0]]
    store.close()
    reopened = _open(tmp_path, engine)
    assert reopened.count() == 1
    assert [h.text for h in reopened.search(_vec("flaky tests"))] == [TEXTS[4][0]]
    reopened.close()


def test_wrong_dimensions_and_bad_names_are_refused(tmp_path: Path) -> None:
    store = _open(tmp_path, "edge")
    with pytest.raises(RetrievalError, match="has 3 dimensions"):
        store.upsert(_docs()[:1], [[0.1, 0.2, 0.3]])
    store.close()
    with pytest.raises(RetrievalError, match="collection name"):
        RetrievalStore("no/slashes", settings=RetrievalSettings(path=tmp_path))


def test_non_uuid_event_ids_get_stable_point_ids(tmp_path: Path) -> None:
    store = _open(tmp_path, "edge")
    doc = Document(event_id="github:delivery-42", text="x", time=T0)
    store.upsert([doc, doc], [_vec("x"), _vec("x")])
    store.upsert([doc], [_vec("x")])
    assert store.count() == 1
    assert store.search(_vec("x"))[0].event_id == "github:delivery-42"
    assert store.delete_events(["github:delivery-42"]) == 1
    store.close()


def test_memory_forget_removes_the_vectors_too(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from agentstream.cli import app  # noqa: PLC0415

    docs = _docs()
    with RetrievalStore("chat", settings=RetrievalSettings(path=tmp_path)) as store:
        store.upsert(docs, [_vec(d.text) for d in docs])
    env = {"AGENTSTREAM_RETRIEVAL_PATH": str(tmp_path),
           "AGENTSTREAM_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    res = CliRunner().invoke(app, ["memory", "forget", "agent", "people", "carol", "--timeout",
                                   "0.5", "--vectors", "chat"], env=env)
    assert "carol: 1 vector(s) deleted from retrieval collection chat" in res.output
    with RetrievalStore("chat", settings=RetrievalSettings(path=tmp_path)) as store:
        assert store.count() == 4
        assert store.search(_vec("x"), person="carol") == []
