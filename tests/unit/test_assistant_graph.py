"""The assistant's review answer from team-memory's profiles, served over real HTTP."""

from __future__ import annotations

from typing import Any

from services.assistant import answer as ans
from services.assistant.context import Question, _memory_graph
from services.assistant.settings import AssistantSettings

from agentstream.ops import OpsServer

PROFILES: dict[str, dict[str, Any]] = {
    "repos/acme/pay": {
        "open_prs": {"acme/pay#42": {"author": "ben", "title": "Ledger", "opened_id": "e-open"}},
        "contributors": ["ana", "ben", "dara"],
    },
    "people/ana": {
        "pending_reviews": {"acme/pay#42": "e-rr1", "acme/pay#43": "e-rr2", "acme/web#1": "e-rr3"},
        "reviews_given": 4,
    },
    "people/ben": {"pending_reviews": {}, "reviews_given": 1},
    "people/dara": {"pending_reviews": {"acme/pay#43": "e-rr4"}, "reviews_given": 2},
}


def _route(path: str, _q: dict[str, list[str]]) -> tuple[int, Any]:
    if path in PROFILES:
        return 200, {"store": path.split("/", maxsplit=1)[0], "key": path, "value": PROFILES[path]}
    return 404, {"error": f"no key {path!r}"}


def test_least_loaded_contributor_other_than_the_author_is_suggested() -> None:
    server = OpsServer(host="127.0.0.1", port=0)
    server.add_json_route("/memory", _route)
    server.start()
    try:
        s = AssistantSettings(team_memory_url=f"http://127.0.0.1:{server.port}")
        graph = _memory_graph(
            s, Question("who could review acme/pay#42?", "review", "acme/pay", 42)
        )
        assert _memory_graph(s, Question("x", "review", "acme/none", 1)) is None
    finally:
        server.stop()
    assert graph is not None and graph["author"] == "ben"
    assert graph["pending"] == {"ana": 3, "ben": 0, "dara": 1}
    evidence = graph.pop("evidence")
    assert evidence[0] == {
        "id": "e-open",
        "kind": "PullRequestOpened",
        "text": "ben opened acme/pay#42 'Ledger'",
    }
    ctx = {
        "question": "q",
        "intent": "review",
        "repo": "acme/pay",
        "number": 42,
        "evidence": evidence,
        "graph": graph,
    }
    out = ans.offline_answer(ctx)
    assert out["answer"].startswith("For acme/pay#42 I would ask dara (works on acme/pay, 2 review")
    assert "or ana (works on acme/pay, 4 review(s) given, 3 pending)" in out["answer"]
    assert "ben (" not in out["answer"]
    cited = {e["id"] for e in ans.cited(ctx, out)}
    assert "e-open" in cited and "e-rr4" in cited
