"""GitHub and Slack normalization: which event each payload means, keys, ids, identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentstream.connectors import (
    IdentityMap,
    IdentityMapError,
    MalformedPayloadError,
    Normalizer,
    make_raw,
    slack_file,
)
from agentstream.events import ReviewState

DATA = Path(__file__).resolve().parents[1] / "data"
PEOPLE = {
    "people": {
        "octo": {
            "name": "Octo Cat",
            "github": ["Codertocat"],
            "slack": ["U111"],
            "email": ["octo@example.com"],
        },
    }
}


def _gh(n: Normalizer, event: str, rel: str, delivery: str | None = "d-1") -> list:
    body = (DATA / "github" / rel).read_bytes()
    result = n.normalize(make_raw("github", event, body, delivery_id=delivery))
    return [e.event for e in result.events] or [result.skipped]


def test_pull_request_actions_become_distinct_events() -> None:
    n = Normalizer(identity=IdentityMap.from_dict(PEOPLE))
    (opened,) = _gh(n, "pull_request", "pull_request/opened.json")
    assert type(opened).__name__ == "PullRequestOpened" and not opened.reopened
    assert opened.meta.subject == "Codertocat/Hello-World#2"
    assert opened.author == "Codertocat" and opened.author_person == "octo"
    assert opened.meta.source == "connector.github" and opened.body
    (reopened,) = _gh(n, "pull_request", "pull_request/reopened.json")
    assert reopened.reopened
    (null_body,) = _gh(n, "pull_request", "pull_request/opened.null-body.json")
    assert null_body.body is None
    (merged,) = _gh(n, "pull_request", "pull_request/closed.merged.json")
    assert type(merged).__name__ == "PullRequestMerged" and merged.merged_by
    (closed,) = _gh(n, "pull_request", "pull_request/closed.unmerged.json")
    assert type(closed).__name__ == "PullRequestClosed"
    (ready,) = _gh(n, "pull_request", "pull_request/ready_for_review.json")
    (draft,) = _gh(n, "pull_request", "pull_request/converted_to_draft.json")
    assert type(ready).__name__ == "PullRequestReadyForReview"
    assert type(draft).__name__ == "PullRequestConvertedToDraft"
    (asked,) = _gh(n, "pull_request", "pull_request/review_requested.json")
    (removed,) = _gh(n, "pull_request", "pull_request/review_request_removed.json")
    assert type(asked).__name__ == "ReviewRequested" and (asked.reviewer or asked.team)
    assert type(removed).__name__ == "ReviewRequestRemoved" and (removed.reviewer or removed.team)
    assert _gh(n, "pull_request", "pull_request/synchronize.json") == [
        "pull_request.synchronize: not an event the product tracks"
    ]


def test_reviews_comments_issues_releases() -> None:
    n = Normalizer()
    (review,) = _gh(n, "pull_request_review", "pull_request_review/submitted.json")
    (dismissed,) = _gh(n, "pull_request_review", "pull_request_review/dismissed.json")
    assert review.state in set(ReviewState) and dismissed.state == ReviewState.DISMISSED
    (comment,) = _gh(n, "issue_comment", "issue_comment/created.json")
    (edited,) = _gh(n, "issue_comment", "issue_comment/edited.json")
    (deleted,) = _gh(n, "issue_comment", "issue_comment/deleted.json")
    assert comment.comment_id == edited.comment_id == deleted.comment_id
    assert comment.meta.subject == f"{comment.repo}#{comment.number}"
    (closed,) = _gh(n, "issues", "issues/closed.no-state-reason.json")
    assert type(closed).__name__ == "IssueClosed" and closed.state_reason is None
    (release,) = _gh(n, "release", "release/published.json")
    assert type(release).__name__ == "ReleasePublished" and release.meta.subject == release.repo
    assert _gh(n, "release", "release/created.json")[0].startswith("release.created: ")


def test_builds_fail_and_recover_by_conclusion_not_action() -> None:
    n = Normalizer()
    assert _gh(n, "workflow_job", "workflow_job/completed.success.json")[0].endswith(
        "succeeded with no failed run of it seen before"
    )
    (failed,) = _gh(n, "workflow_job", "workflow_job/completed.failure.json", "d-2")
    assert type(failed).__name__ == "BuildFailed" and failed.conclusion == "failure"
    assert failed.check_kind == "workflow_job" and failed.meta.subject == failed.repo
    (recovered,) = _gh(n, "workflow_job", "workflow_job/completed.success.json", "d-3")
    assert type(recovered).__name__ == "BuildRecovered" and recovered.failed_run_id == failed.run_id
    (check_failed,) = _gh(n, "check_run", "check_run/completed.failure.json")
    assert check_failed.check_kind == "check_run"
    skipped = _gh(n, "check_run", "check_run/completed.captured.json")
    assert skipped == [
        "check_run.completed: conclusion 'skipped' is neither a failure nor a success"
    ]
    assert _gh(n, "workflow_run", "workflow_run/in_progress.captured.json") == [
        "workflow_run.in_progress: the build has not finished"
    ]


def test_deployments() -> None:
    n = Normalizer()
    repo = {"full_name": "o/r"}
    dep = {
        "id": 7,
        "environment": "production",
        "ref": "main",
        "sha": "abc",
        "creator": {"login": "ann"},
        "created_at": "2024-01-02T03:04:05Z",
    }
    body = json.dumps({"action": "created", "deployment": dep, "repository": repo}).encode()
    (created,) = n.normalize(make_raw("github", "deployment", body, delivery_id="x")).events
    assert type(created.event).__name__ == "DeploymentCreated" and created.key == "o/r"
    status = {
        "id": 9,
        "state": "failure",
        "environment": "production",
        "creator": {"login": "bot"},
        "created_at": "2024-01-02T03:05:05Z",
        "target_url": "https://ci/1",
    }
    body = json.dumps(
        {"action": "created", "deployment_status": status, "deployment": dep, "repository": repo}
    ).encode()
    (changed,) = n.normalize(make_raw("github", "deployment_status", body, delivery_id="y")).events
    assert changed.event.state == "failure" and changed.event.url == "https://ci/1"


def test_ids_follow_the_delivery() -> None:
    n = Normalizer()
    a = _gh(n, "pull_request", "pull_request/opened.json", "delivery-a")
    again = _gh(n, "pull_request", "pull_request/opened.json", "delivery-a")
    b = _gh(n, "pull_request", "pull_request/opened.json", "delivery-b")
    assert a[0].meta.id == again[0].meta.id != b[0].meta.id
    assert a[0] == again[0]  # everything, time included, comes from the payload


def test_malformed_github_payloads_name_the_problem() -> None:
    n = Normalizer()
    with pytest.raises(MalformedPayloadError, match=r"not valid JSON: .* at line 1 column 2"):
        n.normalize(make_raw("github", "pull_request", b"{", delivery_id="x"))
    body = json.dumps({"action": "opened", "repository": {"full_name": "o/r"}}).encode()
    with pytest.raises(MalformedPayloadError, match="'pull_request' is missing"):
        n.normalize(make_raw("github", "pull_request", body, delivery_id="x"))
    assert n.normalize(make_raw("github", "gollum", body, delivery_id="x")).skipped == (
        "unsupported GitHub event 'gollum'"
    )


def _slack(n: Normalizer, name: str) -> list:
    body = (DATA / "slack" / "events_api" / "bolt-python" / name).read_bytes()
    result = n.normalize(make_raw("slack", "message", body, delivery_id="Ev1"))
    return [e.event for e in result.events] or [result.skipped]


def test_slack_messages_edits_deletions_bots_threads_reactions() -> None:
    n = Normalizer(identity=IdentityMap.from_dict(PEOPLE))
    (edit,) = _slack(n, "message.message_changed__message_changed__event_payload__d517813d.json")
    assert type(edit).__name__ == "MessageEdited"
    assert (edit.text, edit.previous_text, edit.ts) == (
        "updated message",
        "original message",
        "1665102338.901939",
    )
    assert edit.user == "U111" and edit.user_person == "octo" and edit.meta.subject == "C111"
    (deleted,) = _slack(n, "message.message_deleted__message_deleted__event_payload__16f941d3.json")
    assert type(deleted).__name__ == "MessageDeleted" and deleted.ts == "1665368619.804829"
    (bot,) = _slack(
        n, "message.bot_message__message_bot__classic_bot_message_event_payload__c87b7c3a.json"
    )
    assert bot.is_bot and bot.bot_id and bot.subtype == "bot_message"
    (broadcast,) = _slack(
        n, "message.thread_broadcast__message_thread_broadcast__event_payload__5fa37ba6.json"
    )
    assert broadcast.is_thread_reply and broadcast.subtype == "thread_broadcast"
    (reaction,) = _slack(n, "reaction_added__events__valid_reaction_added_body__0b3a73fe.json")
    assert type(reaction).__name__ == "ReactionAdded" and reaction.meta.subject == reaction.channel
    (joined,) = _slack(n, "member_joined_channel__events__join_event_body__e819b7ef.json")
    assert type(joined).__name__ == "MemberJoinedChannel"
    assert _slack(n, "app_mention__app__app_mention_event_body__7029a35c.json") == [
        "app_mention: the same message is reported by its message event"
    ]


def test_slack_export_day_files_threads_and_joins() -> None:
    n = Normalizer()
    day = DATA / "slack" / "export" / "slackdump-source_export_dir" / "B75B4C7" / "2025-01-11.json"
    fr = slack_file(day)
    events = [e.event for r in fr.records for e in n.normalize(r).events]
    assert {e.channel for e in events} == {"CO69735E8A"}  # the folder name mapped by channels.json
    replies = [e for e in events if getattr(e, "is_thread_reply", False)]
    assert replies and all(e.thread_ts for e in replies)
    assert any(
        type(e).__name__ == "MemberJoinedChannel" for e in events
    )  # an export's join message
    again = [e.event for r in slack_file(day).records for e in n.normalize(r).events]
    assert [e.meta.id for e in events] == [e.meta.id for e in again]
    first = next(e for e in events if type(e).__name__ == "MessagePosted")
    ts = datetime.fromtimestamp(float(first.ts), UTC)
    assert (
        abs((first.meta.time - ts).total_seconds()) < 0.001 and first.posted_at == first.meta.time
    )


def test_identity_map_format_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "people.toml"
    path.write_text(
        '[people.ann]\ngithub = ["Ann-Dev"]\nslack = ["U9"]\nemail = ["Ann@Example.com"]\n'
    )
    ids = IdentityMap.load(path)
    assert (
        ids.resolve("github", "ann-dev") == "ann"
        and ids.resolve("email", "mailto:ann@example.COM") == "ann"
    )
    assert ids.resolve("slack", "u9") is None and ids.resolve("slack", "U9") == "ann"
    assert ids.resolve("github", "stranger") is None and ids.resolve("github", None) is None
    path.write_text('[people.a]\ngithub = ["x"]\n[people.b]\ngithub = ["X"]\n')
    with pytest.raises(IdentityMapError, match="claimed by both 'a' and 'b'"):
        IdentityMap.load(path)
    path.write_text('[people.a]\ngithb = ["x"]\n')
    with pytest.raises(IdentityMapError, match="unknown key"):
        IdentityMap.load(path)
    with pytest.raises(IdentityMapError, match="does not exist"):
        IdentityMap.load(tmp_path / "missing.toml")


def test_identity_map_example_file_loads() -> None:
    example = (
        Path(__file__).resolve().parents[2] / "services" / "normalizer" / "identity.example.toml"
    )
    ids = IdentityMap.load(example)
    assert len(ids) >= 2


def test_a_slack_retry_keeps_the_raw_id_and_the_event_ids() -> None:
    body = (
        DATA
        / "slack"
        / "events_api"
        / "bolt-python"
        / "message__message__message_body__e845082a.json"
    ).read_bytes()
    event_id = json.loads(body)["event_id"]
    first = make_raw("slack", "message", body, delivery_id=event_id)
    retry = make_raw("slack", "message", body, delivery_id=event_id, attempt=3)
    assert first.id == retry.id and retry.attempt == 3
    n = Normalizer()
    ids = [e.event.meta.id for e in n.normalize(first).events]
    assert ids and ids == [e.event.meta.id for e in n.normalize(retry).events]
    other = make_raw("slack", "message", body, delivery_id="Ev-other")
    assert [e.event.meta.id for e in n.normalize(other).events] != ids
