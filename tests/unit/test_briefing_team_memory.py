"""The briefing's gather step reads team-memory over HTTP (a local stub of its ``/memory``
route): overloaded people, failing builds, pending reviews and open pull requests reach the
prompt with the event ids they cite; without team-memory the briefing goes on, logged once."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from services.daily_briefing import gather, writer
from services.daily_briefing.settings import BriefingSettings

from agentstream.localkafka import free_port

PROFILES: dict[str, dict[str, Any]] = {
    "teams/payments": {"people": ["ana", "ben", "eli"], "repos": ["acme/pay", "acme/web"]},
    "people/ana": {"pending_reviews": {"acme/pay#42": "req-42", "acme/pay#43": "req-43",
                                       "acme/web#7": "req-7"}},
    "people/ben": {"pending_reviews": {"acme/pay#44": "req-44"}},
    "people/eli": {},
    "repos/acme/pay": {
        "open_prs": {
            "acme/pay#42": {"title": "Idempotent ledger writes", "author": "ben",
                            "opened_id": "open-42", "opened_at": "2026-11-23T09:00:00+00:00",
                            "requested": {"ana": "req-42"}},
            "acme/pay#45": {"title": "Refund API", "author": "eli", "opened_id": "open-45",
                            "opened_at": "2026-11-24T10:00:00+00:00", "requested": {},
                            "reviews": {"ben": "APPROVED"}},
        },
        "failing": {"ci": {"id": "build-9", "branch": "main", "pull_requests": [42]}},
    },
    "repos/acme/web": {},
}


class _Stub(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012 - the requests the stub answered

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        self.seen.append(path)
        key = path.removeprefix("/memory/")
        store = key.split("/", 1)[0]
        if key in PROFILES:
            status, body = 200, {"store": store, "key": key, "value": PROFILES[key]}
        elif key in ("people", "repos"):
            keys = [k.split("/", 1)[1] for k in PROFILES if k.startswith(f"{key}/")]
            status, body = 200, {"store": key, "keys": keys}
        else:
            status, body = 404, {"error": f"no key {key!r}"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def team_memory() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stub.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    gather._warned.clear()


def test_team_state_lists_what_needs_a_manager_with_its_events(team_memory: str) -> None:
    items = gather.team_state(BriefingSettings(team_memory_url=team_memory), "payments")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    [over] = by_kind["memory:overloaded"]
    assert over["person"] == "ana" and over["text"].startswith("ana is overloaded: 3 reviews")
    assert over["evidence"] == ["req-42", "req-43", "req-7"]
    [build] = by_kind["memory:failing_build"]
    assert build["id"] == "build-9" and "acme/pay" in build["text"] and "#42" in build["text"]
    assert {i["id"] for i in by_kind["memory:pending_review"]} == {"req-42", "req-43", "req-7",
                                                                  "req-44"}
    prs = {i["id"]: i["text"] for i in by_kind["memory:open_pr"]}
    assert set(prs) == {"open-42", "open-45"}
    assert "waiting on ana" in prs["open-42"] and "ben approved" in prs["open-45"]
    # Most pressing first: overload, then failing builds, then reviews, then open PRs.
    order = [i["kind"] for i in items]
    assert order.index("memory:overloaded") < order.index("memory:failing_build") < order.index(
        "memory:pending_review") < order.index("memory:open_pr")


def test_the_prompt_and_briefing_cite_team_memory_events(team_memory: str) -> None:
    state = gather.team_state(BriefingSettings(team_memory_url=team_memory), "payments")
    ev = {"team": "payments", "start": 0, "end": 86_400_000, "risks": [], "team_state": state,
          "activity": [], "went_well": []}
    prompt = writer.prompt(ev)
    assert "memory:overloaded: ana is overloaded: 3 reviews pending" in prompt
    assert "memory:pending_review: ben has a review of acme/pay#44 pending" in prompt
    doc = writer.compose(ev, writer.offline_answer(ev))
    assert set(doc["based_on"]) == {"req-42", "build-9"}  # overload and the failing build
    assert "`req-42`" in doc["body"] and "`build-9`" in doc["body"]


def test_without_a_team_profile_every_profile_is_read(team_memory: str) -> None:
    items = gather.team_state(BriefingSettings(team_memory_url=team_memory), "unknown-team")
    assert "/memory/people" in _Stub.seen and "/memory/repos" in _Stub.seen
    assert {i["id"] for i in items if i["kind"] == "memory:open_pr"} == {"open-42", "open-45"}


def test_unset_or_unreachable_team_memory_degrades_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.daily_briefing")
    unset = BriefingSettings(team_memory_url=None)
    assert gather.team_state(unset, "payments") == []
    assert gather.team_state(unset, "payments") == []
    down = BriefingSettings(team_memory_url=f"http://127.0.0.1:{free_port()}")
    assert gather.team_state(down, "payments") == []
    assert gather.team_state(down, "payments") == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "no team-memory endpoint" in warnings[0]
    assert "cannot be read" in warnings[1] and "without the team's profiles" in warnings[1]
