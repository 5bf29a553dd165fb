"""Webhook deliveries in GitHub's and Slack's real formats, built from captured templates.

Each builder deep-copies a real payload from ``templates/`` (GitHub's published examples, Slack's
Events API docs examples) and rewrites only the fields the scenario controls, so everything else
(URLs, nested repository objects, installation blocks) stays as the real services send it.
Bodies are compact JSON, as GitHub sends them; signatures are computed over those exact bytes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from services.scenario.team import BY_ID

__all__ = [
    "Delivery",
    "app_mention",
    "build_failed",
    "build_succeeded",
    "message",
    "pr_merged",
    "pr_opened",
    "review_requested",
    "review_submitted",
    "sign_github",
    "sign_slack",
]

TEMPLATES = Path(__file__).parent / "templates"
# Deterministic ids: the same scenario (seed) gives the same delivery ids, so replaying it is
# recognised downstream as a redelivery.
_NS = uuid.UUID("0b7f4d2c-35a1-4c1e-9a57-3f0f8d5f1e42")
SLACK_TEAM_ID = "T0ACME"
SLACK_APP_ID = "A0ASSIST"


@dataclass(frozen=True)
class Delivery:
    """One webhook request: where it goes, its headers (unsigned) and its exact body."""

    source: Literal["github", "slack"]
    event: str  # X-GitHub-Event, or the Slack inner event type
    delivery_id: str  # X-GitHub-Delivery, or Slack's event_id
    at: datetime  # when it happened in the scenario
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def payload(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.body)
        return doc


@cache
def _template(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((TEMPLATES / name).read_text())
    return doc


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slack_ts(t: datetime, seq: int) -> str:
    return f"{int(t.timestamp())}.{seq % 1_000_000:06d}"


def delivery_id(seed: int, *parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join([str(seed), *map(str, parts)])))


def _user(template: dict[str, Any], person: str) -> dict[str, Any]:
    login = BY_ID[person].github
    u = copy.deepcopy(template)
    uid = int(hashlib.sha1(login.encode()).hexdigest()[:7], 16)
    u.update(
        {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "type": "User",
            "html_url": f"https://github.com/{login}",
            "url": f"https://api.github.com/users/{login}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        }
    )
    return u


def _repo(doc: dict[str, Any], full_name: str) -> None:
    owner, name = full_name.split("/")
    repo = doc["repository"]
    repo.update(
        {
            "name": name,
            "full_name": full_name,
            "html_url": f"https://github.com/{full_name}",
            "url": f"https://api.github.com/repos/{full_name}",
        }
    )
    repo["owner"]["login"] = owner
    repo.setdefault("private", True)


@dataclass(frozen=True)
class PR:
    """What the scenario says about one pull request."""

    repo: str
    number: int
    title: str
    author: str
    head: str
    opened: datetime
    additions: int = 40
    deletions: int = 10
    changed_files: int = 3
    body: str = ""

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"{self.repo}#{self.number}".encode()).hexdigest()


def _pr_object(doc: dict[str, Any], pr: PR, at: datetime, *, state: str = "open") -> None:
    p = doc["pull_request"]
    url = f"https://api.github.com/repos/{pr.repo}/pulls/{pr.number}"
    p.update(
        {
            "number": pr.number,
            "title": pr.title,
            "body": pr.body or None,
            "html_url": f"https://github.com/{pr.repo}/pull/{pr.number}",
            "url": url,
            "diff_url": f"https://github.com/{pr.repo}/pull/{pr.number}.diff",
            "issue_url": f"https://api.github.com/repos/{pr.repo}/issues/{pr.number}",
            "state": state,
            "created_at": _iso(pr.opened),
            "updated_at": _iso(at),
            "user": _user(p["user"], pr.author),
            "draft": False,
            "requested_reviewers": [],
            "requested_teams": [],
            "assignees": [],
            "assignee": None,
            "labels": [],
        }
    )
    if "additions" in p or state == "open":
        p.update(
            {
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": pr.changed_files,
                "commits": 1,
            }
        )
    p["head"].update({"ref": pr.head, "sha": pr.sha, "label": f"acme:{pr.head}"})
    p["base"].update({"ref": "main", "label": "acme:main"})
    for side in ("head", "base"):
        if isinstance(p[side].get("repo"), dict):
            p[side]["repo"].update({"full_name": pr.repo, "name": pr.repo.split("/")[1]})
        if isinstance(p[side].get("user"), dict):
            p[side]["user"]["login"] = "acme"
    doc["number"] = pr.number
    _repo(doc, pr.repo)


def _github(
    seed: int, event: str, key: str, doc: dict[str, Any], *, sender: str, at: datetime, summary: str
) -> Delivery:
    doc["sender"] = _user(doc["sender"], sender)
    did = delivery_id(seed, "github", event, key)
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": did,
        "User-Agent": "GitHub-Hookshot/scenario",
        "Content-Type": "application/json",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }
    return Delivery("github", event, did, at, _dump(doc), headers, summary)


def pr_opened(seed: int, pr: PR) -> Delivery:
    doc = copy.deepcopy(_template("github/pull_request.opened.json"))
    doc["action"] = "opened"
    _pr_object(doc, pr, pr.opened)
    return _github(
        seed,
        "pull_request",
        f"{pr.repo}#{pr.number}:opened",
        doc,
        sender=pr.author,
        at=pr.opened,
        summary=f"{pr.author} opened {pr.repo}#{pr.number} '{pr.title}'",
    )


def review_requested(seed: int, pr: PR, reviewer: str, at: datetime) -> Delivery:
    doc = copy.deepcopy(_template("github/pull_request.review_requested.json"))
    doc["action"] = "review_requested"
    _pr_object(doc, pr, at)
    doc["requested_reviewer"] = _user(doc["requested_reviewer"], reviewer)
    doc["pull_request"]["requested_reviewers"] = [doc["requested_reviewer"]]
    doc.pop("requested_team", None)
    return _github(
        seed,
        "pull_request",
        f"{pr.repo}#{pr.number}:rr:{reviewer}",
        doc,
        sender=pr.author,
        at=at,
        summary=f"{pr.author} asked {reviewer} to review {pr.repo}#{pr.number}",
    )


def review_submitted(
    seed: int, pr: PR, reviewer: str, at: datetime, *, state: str = "approved", body: str = ""
) -> Delivery:
    doc = copy.deepcopy(_template("github/pull_request_review.submitted.json"))
    doc["action"] = "submitted"
    _pr_object(doc, pr, at)
    rid = int(hashlib.sha1(f"{pr.repo}#{pr.number}:{reviewer}:{at}".encode()).hexdigest()[:8], 16)
    doc["review"].update(
        {
            "id": rid,
            "user": _user(doc["review"]["user"], reviewer),
            "body": body or None,
            "commit_id": pr.sha,
            "state": state,
            "submitted_at": _iso(at),
            "html_url": f"https://github.com/{pr.repo}/pull/{pr.number}#pullrequestreview-{rid}",
            "pull_request_url": doc["pull_request"]["url"],
        }
    )
    return _github(
        seed,
        "pull_request_review",
        f"{pr.repo}#{pr.number}:review:{reviewer}:{at}",
        doc,
        sender=reviewer,
        at=at,
        summary=f"{reviewer} {state} {pr.repo}#{pr.number}",
    )


def pr_merged(seed: int, pr: PR, merged_by: str, at: datetime) -> Delivery:
    doc = copy.deepcopy(_template("github/pull_request.closed.merged.json"))
    doc["action"] = "closed"
    _pr_object(doc, pr, at, state="closed")
    p = doc["pull_request"]
    p.update(
        {
            "merged": True,
            "merged_at": _iso(at),
            "closed_at": _iso(at),
            "merge_commit_sha": hashlib.sha1(f"merge:{pr.sha}".encode()).hexdigest(),
            "merged_by": _user(p.get("merged_by") or p["user"], merged_by),
        }
    )
    return _github(
        seed,
        "pull_request",
        f"{pr.repo}#{pr.number}:merged",
        doc,
        sender=merged_by,
        at=at,
        summary=f"{merged_by} merged {pr.repo}#{pr.number}",
    )


def _job(seed: int, pr: PR, at: datetime, conclusion: str, attempt: int) -> Delivery:
    name = "failure" if conclusion == "failure" else "success"
    doc = copy.deepcopy(_template(f"github/workflow_job.completed.{name}.json"))
    doc["action"] = "completed"
    _repo(doc, pr.repo)
    job = doc["workflow_job"]
    run_id = int(hashlib.sha1(f"{pr.repo}#{pr.number}:run:{attempt}".encode()).hexdigest()[:9], 16)
    job.update(
        {
            "id": run_id + 1,
            "run_id": run_id,
            "run_attempt": 1,
            "head_sha": pr.sha,
            "head_branch": pr.head,
            "status": "completed",
            "conclusion": conclusion,
            "started_at": _iso(at),
            "completed_at": _iso(at),
            "created_at": _iso(at),
            "name": "test",
            "workflow_name": "ci",
            "html_url": f"https://github.com/{pr.repo}/actions/runs/{run_id}/job/{run_id + 1}",
            "url": f"https://api.github.com/repos/{pr.repo}/actions/jobs/{run_id + 1}",
            "run_url": f"https://api.github.com/repos/{pr.repo}/actions/runs/{run_id}",
        }
    )
    if "organization" in doc:
        doc["organization"]["login"] = "acme"
    return _github(
        seed,
        "workflow_job",
        f"{pr.repo}#{pr.number}:job:{attempt}",
        doc,
        sender=pr.author,
        at=at,
        summary=f"ci {conclusion} on {pr.repo} {pr.head} (#{pr.number})",
    )


def build_failed(seed: int, pr: PR, at: datetime, attempt: int) -> Delivery:
    return _job(seed, pr, at, "failure", attempt)


def build_succeeded(seed: int, pr: PR, at: datetime, attempt: int) -> Delivery:
    return _job(seed, pr, at, "success", attempt)


def _slack(
    seed: int, template: str, event: dict[str, Any], *, at: datetime, key: str, summary: str
) -> Delivery:
    doc = copy.deepcopy(_template(template))
    eid = "Ev" + hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:10].upper()
    doc.update(
        {
            "token": "scenario-verification-token",
            "team_id": SLACK_TEAM_ID,
            "api_app_id": SLACK_APP_ID,
            "event_id": eid,
            "event_time": int(at.timestamp()),
        }
    )
    doc["event"] = event
    doc["authorizations"] = [
        {
            "enterprise_id": None,
            "team_id": SLACK_TEAM_ID,
            "user_id": "U0ASSIST",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return Delivery("slack", str(event["type"]), eid, at, _dump(doc), headers, summary)


def message(
    seed: int,
    channel: str,
    person: str,
    text: str,
    *,
    at: datetime,
    seq: int,
    thread_ts: str | None = None,
) -> Delivery:
    ts = _slack_ts(at, seq)
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": BY_ID[person].slack,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        "team": SLACK_TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return _slack(
        seed,
        "slack/message.channels.json",
        event,
        at=at,
        key=f"msg:{channel}:{ts}",
        summary=f"{person} in {channel}: {text[:60]}",
    )


def app_mention(
    seed: int, channel: str, person: str, question: str, *, at: datetime, seq: int, bot_user_id: str
) -> Delivery:
    ts = _slack_ts(at, seq)
    event = {
        "type": "app_mention",
        "user": BY_ID[person].slack,
        "text": f"<@{bot_user_id}> {question}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": SLACK_TEAM_ID,
    }
    return _slack(
        seed,
        "slack/app_mention.json",
        event,
        at=at,
        key=f"mention:{channel}:{ts}",
        summary=f"{person} asked the assistant: {question}",
    )


def sign_github(body: bytes, secret: str) -> dict[str, str]:
    """``X-Hub-Signature-256`` for ``body`` (HMAC-SHA256 of the exact bytes)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def sign_slack(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """``X-Slack-Signature`` and ``X-Slack-Request-Timestamp`` over ``v0:{ts}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(timestamp)}
