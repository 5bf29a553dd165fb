"""Payload filters of the retrieval store on both embedded engines: keywords on arbitrary keys
(``where``), keys inside ``data``, entities, and the errors for filters that cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentstream.llm import offline_embedding
from agentstream.retrieval import Document, RetrievalError, RetrievalSettings, RetrievalStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

ROWS = [  # id, type, channel, entities, text
    ("e1", "PullRequestOpened", None, ("acme/pay#42",), "ben opened acme/pay#42 ledger writes"),
    ("e2", "ReviewRequested", None, ("acme/pay#42",), "ben asked ana to review acme/pay#42"),
    ("e3", "MessagePosted", "C0PAY", (), "the flaky ledger test blocks the payments release"),
    ("e4", "MessagePosted", "C0WEB", (), "the web deploy is green again"),
    ("e5", "BuildFailed", None, ("acme/web",), "build ci failed on acme/web main"),
]


def _docs() -> list[Document]:
    out = []
    for i, (eid, kind, channel, entities, text) in enumerate(ROWS):
        keywords: dict[str, str | list[str]] = {"type": kind, "tags": ["t-" + kind.lower()]}
        if channel:
            keywords["channel"] = channel
        out.append(Document(event_id=eid, text=text, time=T0 + timedelta(hours=i), source="t",
                            people=("ben",) if "ben" in text else (), entities=entities,
                            keywords=keywords, data={"kind": kind.lower()}))
    return out


@pytest.fixture(params=["edge", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RetrievalStore:
    s = RetrievalStore("filters", settings=RetrievalSettings(path=tmp_path, dimensions=64),
                       engine=request.param)
    docs = _docs()
    s.upsert(docs, [offline_embedding(d.text, 64) for d in docs])
    yield s  # type: ignore[misc]
    s.close()


def _ids(hits: list) -> set[str]:
    return {h.event_id for h in hits}


def _q(text: str) -> list[float]:
    return offline_embedding(text, 64)


def test_where_matches_one_value_or_any_of_several(store: RetrievalStore) -> None:
    assert _ids(store.search(_q("x"), where={"type": "MessagePosted"})) == {"e3", "e4"}
    assert _ids(store.search(_q("x"), where={"type": ["ReviewRequested", "BuildFailed"]})) == {
        "e2", "e5"}
    assert _ids(store.search(_q("x"), where={"channel": "C0PAY"})) == {"e3"}
    # A list-valued keyword matches when it holds the value.
    assert _ids(store.search(_q("x"), where={"tags": "t-buildfailed"})) == {"e5"}
    # Keys inside data are reachable as data.<key>.
    assert _ids(store.search(_q("x"), where={"data.kind": "pullrequestopened"})) == {"e1"}
    # Every filter must hold (AND), with the other arguments too.
    assert _ids(store.search(_q("x"), where={"type": "MessagePosted", "channel": "C0WEB"})) == {
        "e4"}
    assert store.search(_q("x"), where={"type": "MessagePosted"}, person="ben") == []
    assert _ids(store.search(_q("x"), where={"type": "MessagePosted"},
                             since=T0 + timedelta(hours=3))) == {"e4"}
    assert store.search(_q("x"), where={"channel": "nowhere"}) == []


def test_entity_filter_matches_what_delete_entity_removes(store: RetrievalStore) -> None:
    assert _ids(store.search(_q("x"), entity="acme/pay#42")) == {"e1", "e2"}
    assert _ids(store.search(_q("x"), entity=["acme/web", "ben"])) == {"e1", "e2", "e5"}
    assert _ids(store.search(_q("x"), entity="ben", where={"type": "ReviewRequested"})) == {"e2"}
    assert store.delete_entity("acme/pay#42") == 2
    assert store.search(_q("x"), entity="acme/pay#42") == []
    assert store.count() == 3


def test_filters_that_cannot_work_are_refused(store: RetrievalStore) -> None:
    with pytest.raises(RetrievalError, match="cannot filter on payload key 'text'"):
        store.search(_q("x"), where={"text": "ledger"})
    with pytest.raises(RetrievalError, match="cannot filter on payload key 'bad key'"):
        store.search(_q("x"), where={"bad key": "v"})
    with pytest.raises(RetrievalError, match="filtered twice"):
        store.search(_q("x"), source="t", where={"source": "t"})
    with pytest.raises(RetrievalError, match="must be a string or a list of strings"):
        store.search(_q("x"), where={"type": 3})  # type: ignore[dict-item]


def test_keywords_cannot_shadow_the_documents_own_keys() -> None:
    with pytest.raises(RetrievalError, match="keyword 'entity' of event e1"):
        Document(event_id="e1", text="t", time=T0, keywords={"entity": "x"})
    with pytest.raises(RetrievalError, match=r"keyword 'a\.b'"):
        Document(event_id="e1", text="t", time=T0, keywords={"a.b": "x"})
    with pytest.raises(RetrievalError, match="must be a string or a list of strings"):
        Document(event_id="e1", text="t", time=T0, keywords={"n": [1]})  # type: ignore[list-item]
