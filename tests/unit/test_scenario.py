"""The scenario generator: real payload shapes, deterministic ids, the story's facts, signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import date, timedelta

import icalendar
import recurring_ical_events
from services.scenario import payloads
from services.scenario.feed import write_files
from services.scenario.team import BOT_USER_ID, PEOPLE, REPOS
from services.scenario.week import build_week, default_week_start, questions

from agentstream.connectors import IdentityMap

WEEK = date(2026, 11, 23)  # a Monday


def test_same_seed_same_deliveries_other_seed_other_ids() -> None:
    a, b = build_week(seed=7, week_start=WEEK), build_week(seed=7, week_start=WEEK)
    assert [d.delivery_id for d in a.deliveries] == [d.delivery_id for d in b.deliveries]
    assert [d.body for d in a.deliveries] == [d.body for d in b.deliveries]
    c = build_week(seed=8, week_start=WEEK)
    assert not {d.delivery_id for d in a.deliveries} & {d.delivery_id for d in c.deliveries}
    assert len({d.delivery_id for d in a.deliveries}) == len(a.deliveries)


def test_github_payloads_keep_the_real_shape() -> None:
    week = build_week(week_start=WEEK)
    template = json.loads((payloads.TEMPLATES / "github/pull_request.opened.json").read_text())
    opened = [
        d.payload()
        for d in week.deliveries
        if d.source == "github" and d.payload().get("action") == "opened"
    ]
    assert len(opened) == len(week.prs) == 10
    for doc in opened:
        assert set(doc) == set(template)  # no key invented or dropped
        assert set(doc["pull_request"]) == set(template["pull_request"])
        assert doc["repository"]["full_name"] in REPOS
        assert doc["pull_request"]["html_url"].endswith(f"/pull/{doc['number']}")
    events = Counter(d.event for d in week.deliveries if d.source == "github")
    assert events.keys() == {"pull_request", "pull_request_review", "workflow_job"}
    for d in week.deliveries:
        assert json.loads(d.body) == d.payload()
        # compact JSON, as GitHub sends it
        assert d.body == json.dumps(d.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def test_the_story_contains_what_the_insights_stand_on() -> None:
    week = build_week(week_start=WEEK)
    docs = [(d, d.payload()) for d in week.deliveries]
    requested = Counter(
        doc["requested_reviewer"]["login"]
        for d, doc in docs
        if doc.get("action") == "review_requested"
    )
    assert (
        requested["ana-lima"] >= 7 and max(v for k, v in requested.items() if k != "ana-lima") <= 2
    )
    reviewed = {
        (doc["pull_request"]["number"], doc["review"]["user"]["login"])
        for d, doc in docs
        if d.event == "pull_request_review"
    }
    assert (42, "ana-lima") not in reviewed  # #42 waits all week
    failures = [
        doc
        for d, doc in docs
        if d.event == "workflow_job" and doc["workflow_job"]["conclusion"] == "failure"
    ]
    assert len(failures) == 3 and {f["workflow_job"]["head_branch"] for f in failures} == {
        "chen/refund-webhooks"
    }
    large = [
        doc
        for d, doc in docs
        if doc.get("action") == "opened" and doc["pull_request"]["changed_files"] > 40
    ]
    assert [x["pull_request"]["number"] for x in large] == [17]
    after_hours = [d for d in week.deliveries if d.at.hour >= 21 or d.at.weekday() >= 5]
    assert {d.summary.split()[0] for d in after_hours} >= {"dara"}
    slack = [doc for d, doc in docs if d.source == "slack"]
    assert all(
        doc["type"] == "event_callback" and doc["event_id"].startswith("Ev") for doc in slack
    )
    threaded = [doc["event"] for doc in slack if "thread_ts" in doc["event"]]
    assert threaded and all(t["thread_ts"] != t["ts"] for t in threaded)
    assert [d.at for d in week.deliveries] == sorted(d.at for d in week.deliveries)


def test_calendar_parses_and_overloads_one_person() -> None:
    week = build_week(week_start=WEEK)
    cal = icalendar.Calendar.from_ical(week.calendar_ics)

    occurrences = recurring_ical_events.of(cal).between(WEEK, WEEK + timedelta(days=7))
    hours: Counter[str] = Counter()
    for ev in occurrences:
        length = (ev["DTEND"].dt - ev["DTSTART"].dt).total_seconds() / 3600
        attendees = ev.get("ATTENDEE")
        for a in attendees if isinstance(attendees, list) else [attendees]:
            hours[str(a).removeprefix("mailto:")] += length
    assert len([e for e in occurrences if str(e["SUMMARY"]) == "Standup"]) == 5
    assert hours["ana@acme.test"] >= 20 and hours["fay@acme.test"] < 8
    assert len(hours) == len(PEOPLE)


def test_signatures_follow_github_and_slack_schemes() -> None:
    # Vectors from GitHub's docs and Slack's SDK tests.
    assert payloads.sign_github(b"Hello, World!", "It's a Secret to Everybody") == {
        "X-Hub-Signature-256": "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    body = b"x=1"
    sig = payloads.sign_slack(body, "s3cret", 1531420618)
    expect = hmac.new(b"s3cret", b"v0:1531420618:x=1", hashlib.sha256).hexdigest()
    assert sig == {"X-Slack-Signature": f"v0={expect}", "X-Slack-Request-Timestamp": "1531420618"}


def test_questions_are_app_mentions_with_stable_ids() -> None:
    a, b = questions(), questions()
    assert [d.delivery_id for d in a] == [d.delivery_id for d in b]
    assert len(a) == 4  # per question: the message event and the app_mention event
    msg, mention = a[0].payload()["event"], a[1].payload()["event"]
    assert msg["type"] == "message" and mention["type"] == "app_mention"
    assert msg["text"] == mention["text"] and msg["text"].startswith(f"<@{BOT_USER_ID}> ")
    assert msg["ts"] == mention["ts"]


def test_default_week_is_the_previous_monday() -> None:
    assert default_week_start(date(2026, 12, 2)) == date(2026, 11, 23)
    assert default_week_start(date(2026, 11, 30)) == date(2026, 11, 23)


def test_identity_map_loads_in_the_connectors_format(tmp_path) -> None:

    written = write_files(build_week(week_start=WEEK), tmp_path)
    assert tmp_path / "calendar.ics" in written
    ids = IdentityMap.load(tmp_path / "identities.toml")
    assert ids.resolve("github", "ana-lima") == "ana"
    assert ids.resolve("slack", "U04DARA") == "dara"
    assert ids.resolve("email", "Fay@acme.test") == "fay"
