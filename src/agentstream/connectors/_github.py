"""GitHub webhook payloads → ``events.code``.

Decisions follow the payload, not only the action: a ``closed`` pull request is merged or not by
``merged``; a finished build is failed or recovered by its ``conclusion`` (check runs, check
suites, workflow runs and jobs alike), whatever the action that reported it. Builds need a
little memory — "recovered" means the previous run of the same workflow and branch failed —
which a ``BuildLedger`` keeps.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from agentstream.connectors._common import Out, field_at, parse_iso
from agentstream.connectors._errors import MalformedPayloadError
from agentstream.events import (
    BuildFailed,
    BuildRecovered,
    CommentAdded,
    CommentDeleted,
    CommentEdited,
    DeploymentCreated,
    DeploymentStatusChanged,
    IssueClosed,
    IssueOpened,
    IssueReopened,
    PullRequestClosed,
    PullRequestConvertedToDraft,
    PullRequestMerged,
    PullRequestOpened,
    PullRequestReadyForReview,
    ReleasePublished,
    ReviewRequested,
    ReviewRequestRemoved,
    ReviewState,
    ReviewSubmitted,
)

__all__ = [
    "FAILED_CONCLUSIONS",
    "BuildLedger",
    "KeyValue",
    "MemoryBuildLedger",
    "StoreBuildLedger",
    "normalize_github",
]

FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
_BUILD_OBJECTS = {
    "check_run": "check_run",
    "check_suite": "check_suite",
    "workflow_run": "workflow_run",
    "workflow_job": "workflow_job",
}


class BuildLedger(Protocol):
    """Remembers the last failed run per build line (repo, kind, workflow, branch)."""

    def failed(self, line: str, run_id: int) -> None: ...

    def succeeded(self, line: str) -> int | None:
        """Forget the line's failure; return the failed run id if there was one."""
        ...


class MemoryBuildLedger:
    """An in-process ``BuildLedger`` holding the newest ``capacity`` build lines."""

    def __init__(self, *, capacity: int = 100_000) -> None:
        self._failed: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def failed(self, line: str, run_id: int) -> None:
        self._failed[line] = run_id
        self._failed.move_to_end(line)
        while len(self._failed) > self._capacity:
            self._failed.popitem(last=False)

    def succeeded(self, line: str) -> int | None:
        return self._failed.pop(line, None)


class KeyValue(Protocol):
    """What ``StoreBuildLedger`` needs: an agent memory store (``ctx.store(name)``)."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class StoreBuildLedger:
    """A ``BuildLedger`` over a key-value store, e.g. the normalizer agent's memory store, so a
    failed build is remembered across restarts and rebalances (the write commits with the input
    that caused it)."""

    def __init__(self, store: KeyValue) -> None:
        self.store = store

    def failed(self, line: str, run_id: int) -> None:
        self.store.put(line, {"failed_run_id": run_id})

    def succeeded(self, line: str) -> int | None:
        state = self.store.get(line)
        if not isinstance(state, dict) or "failed_run_id" not in state:
            return None
        self.store.delete(line)
        return int(state["failed_run_id"])


def _login(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        login = obj.get("login")
        return str(login) if login else None
    return None


class _GitHub:
    def __init__(self, out: Out, payload: Mapping[str, Any], ledger: BuildLedger) -> None:
        self.out = out
        self.p = payload
        self.ledger = ledger
        self.now = out.received_at
        self.repo = str(field_at(payload, "repository", "full_name", what="GitHub payload"))
        self.sender = _login(payload.get("sender"))

    def at(self, *path: str | int) -> Any:
        return field_at(self.p, *path, what="GitHub payload")

    def ts(self, value: Any) -> datetime:
        return parse_iso(value, self.now)

    def gh(self, handle: str | None) -> str | None:
        return self.out.person("github", handle)

    # -- pull requests -----------------------------------------------------------------------
    def pull_request(self, action: str) -> str | None:
        pr = self.at("pull_request")
        number = int(self.at("pull_request", "number"))
        subject = f"{self.repo}#{number}"
        author = _login(pr.get("user")) or ""
        common: dict[str, Any] = {
            "repo": self.repo,
            "number": number,
            "url": str(pr.get("html_url") or ""),
        }
        updated = self.ts(pr.get("updated_at"))
        o = self.out
        if action in ("opened", "reopened"):
            when = self.ts(pr.get("created_at")) if action == "opened" else updated
            o.add(
                "code",
                PullRequestOpened(
                    meta=o.meta(PullRequestOpened, subject, when, action),
                    **common,
                    title=str(pr.get("title") or ""),
                    author=author,
                    author_person=self.gh(author),
                    base_branch=str(self.at("pull_request", "base", "ref")),
                    head_branch=str(self.at("pull_request", "head", "ref")),
                    draft=bool(pr.get("draft")),
                    body=pr.get("body") or None,
                    created_at=self.ts(pr.get("created_at")),
                    additions=pr.get("additions"),
                    deletions=pr.get("deletions"),
                    changed_files=pr.get("changed_files"),
                    reopened=action == "reopened",
                ),
            )
        elif action == "closed" and pr.get("merged"):
            merged_by = _login(pr.get("merged_by")) or self.sender
            when = self.ts(pr.get("merged_at") or pr.get("closed_at"))
            o.add(
                "code",
                PullRequestMerged(
                    meta=o.meta(PullRequestMerged, subject, when),
                    **common,
                    title=str(pr.get("title") or ""),
                    author=author,
                    author_person=self.gh(author),
                    merged_by=merged_by,
                    merged_by_person=self.gh(merged_by),
                    merge_commit_sha=pr.get("merge_commit_sha"),
                    merged_at=when,
                ),
            )
        elif action == "closed":
            when = self.ts(pr.get("closed_at"))
            o.add(
                "code",
                PullRequestClosed(
                    meta=o.meta(PullRequestClosed, subject, when),
                    **common,
                    title=str(pr.get("title") or ""),
                    author=author,
                    author_person=self.gh(author),
                    closed_by=self.sender,
                    closed_by_person=self.gh(self.sender),
                    closed_at=when,
                ),
            )
        elif action in ("ready_for_review", "converted_to_draft"):
            cls = (
                PullRequestReadyForReview
                if action == "ready_for_review"
                else PullRequestConvertedToDraft
            )
            stamp: dict[str, Any] = {
                "ready_at" if action == "ready_for_review" else "converted_at": updated
            }
            o.add(
                "code",
                cls(
                    meta=o.meta(cls, subject, updated),
                    **common,
                    title=str(pr.get("title") or ""),
                    author=author,
                    author_person=self.gh(author),
                    sender=self.sender,
                    sender_person=self.gh(self.sender),
                    **stamp,
                ),
            )
        elif action in ("review_requested", "review_request_removed"):
            reviewer = _login(self.p.get("requested_reviewer"))
            team_obj = self.p.get("requested_team")
            team = (
                (team_obj.get("slug") or team_obj.get("name"))
                if isinstance(team_obj, Mapping)
                else None
            )
            if reviewer is None and team is None:
                raise MalformedPayloadError(
                    f"GitHub pull_request.{action}: neither requested_reviewer nor requested_team"
                )
            actor = self.sender or ""
            who = reviewer or team
            if action == "review_requested":
                o.add(
                    "code",
                    ReviewRequested(
                        meta=o.meta(ReviewRequested, subject, updated, action, who),
                        **common,
                        requested_by=actor,
                        requested_by_person=self.gh(actor),
                        reviewer=reviewer,
                        reviewer_person=self.gh(reviewer),
                        team=team,
                        requested_at=updated,
                    ),
                )
            else:
                o.add(
                    "code",
                    ReviewRequestRemoved(
                        meta=o.meta(ReviewRequestRemoved, subject, updated, action, who),
                        **common,
                        removed_by=actor,
                        removed_by_person=self.gh(actor),
                        reviewer=reviewer,
                        reviewer_person=self.gh(reviewer),
                        team=team,
                        removed_at=updated,
                    ),
                )
        else:
            return f"pull_request.{action}: not an event the product tracks"
        return None

    def pull_request_review(self, action: str) -> str | None:
        if action not in ("submitted", "dismissed"):
            return f"pull_request_review.{action}: not an event the product tracks"
        review = self.at("review")
        number = int(self.at("pull_request", "number"))
        subject = f"{self.repo}#{number}"
        state_text = (
            "dismissed"
            if action == "dismissed"
            else str(review.get("state") or "commented").lower()
        )
        try:
            state = ReviewState(state_text)
        except ValueError:
            state = ReviewState.COMMENTED
        reviewer = _login(review.get("user")) or ""
        when = self.ts(review.get("submitted_at"))
        o = self.out
        o.add(
            "code",
            ReviewSubmitted(
                meta=o.meta(ReviewSubmitted, subject, when, action, review.get("id")),
                repo=self.repo,
                number=number,
                url=str(review.get("html_url") or ""),
                reviewer=reviewer,
                reviewer_person=self.gh(reviewer),
                state=state,
                body=review.get("body") or None,
                submitted_at=when,
                review_id=review.get("id"),
            ),
        )
        return None

    def comment(self, action: str, *, on_pr: bool | None = None) -> str | None:
        comment = self.at("comment")
        issue = self.p.get("issue") or self.p.get("pull_request") or {}
        number = int(field_at(issue, "number", what="GitHub comment payload"))
        subject = f"{self.repo}#{number}"
        is_pr = on_pr if on_pr is not None else "pull_request" in issue
        author = _login(comment.get("user")) or ""
        cid = int(field_at(comment, "id", what="GitHub comment"))
        url = str(comment.get("html_url") or "")
        o = self.out
        if action == "created":
            when = self.ts(comment.get("created_at"))
            o.add(
                "code",
                CommentAdded(
                    meta=o.meta(CommentAdded, subject, when, cid),
                    repo=self.repo,
                    number=number,
                    url=url,
                    author=author,
                    author_person=self.gh(author),
                    body=str(comment.get("body") or ""),
                    on_pull_request=is_pr,
                    created_at=when,
                    comment_id=cid,
                ),
            )
        elif action == "edited":
            when = self.ts(comment.get("updated_at"))
            previous = ((self.p.get("changes") or {}).get("body") or {}).get("from")
            o.add(
                "code",
                CommentEdited(
                    meta=o.meta(CommentEdited, subject, when, cid),
                    repo=self.repo,
                    number=number,
                    url=url,
                    comment_id=cid,
                    author=author,
                    author_person=self.gh(author),
                    body=str(comment.get("body") or ""),
                    previous_body=previous,
                    on_pull_request=is_pr,
                    sender=self.sender,
                    sender_person=self.gh(self.sender),
                    edited_at=when,
                ),
            )
        elif action == "deleted":
            o.add(
                "code",
                CommentDeleted(
                    meta=o.meta(CommentDeleted, subject, self.now, cid),
                    repo=self.repo,
                    number=number,
                    url=url,
                    comment_id=cid,
                    author=author,
                    author_person=self.gh(author),
                    on_pull_request=is_pr,
                    sender=self.sender,
                    sender_person=self.gh(self.sender),
                    deleted_at=self.now,
                ),
            )
        else:
            return f"comment.{action}: not an event the product tracks"
        return None

    def issues(self, action: str) -> str | None:
        issue = self.at("issue")
        number = int(self.at("issue", "number"))
        subject = f"{self.repo}#{number}"
        common: dict[str, Any] = {
            "repo": self.repo,
            "number": number,
            "title": str(issue.get("title") or ""),
            "url": str(issue.get("html_url") or ""),
        }
        o = self.out
        if action == "opened":
            author = _login(issue.get("user")) or ""
            when = self.ts(issue.get("created_at"))
            labels = tuple(
                str(lb.get("name")) for lb in issue.get("labels") or () if isinstance(lb, Mapping)
            )
            o.add(
                "code",
                IssueOpened(
                    meta=o.meta(IssueOpened, subject, when),
                    **common,
                    author=author,
                    author_person=self.gh(author),
                    body=issue.get("body") or None,
                    labels=labels,
                    created_at=when,
                ),
            )
        elif action == "closed":
            when = self.ts(issue.get("closed_at"))
            o.add(
                "code",
                IssueClosed(
                    meta=o.meta(IssueClosed, subject, when),
                    **common,
                    closed_by=self.sender,
                    closed_by_person=self.gh(self.sender),
                    state_reason=issue.get("state_reason"),
                    closed_at=when,
                ),
            )
        elif action == "reopened":
            when = self.ts(issue.get("updated_at"))
            o.add(
                "code",
                IssueReopened(
                    meta=o.meta(IssueReopened, subject, when),
                    **common,
                    reopened_by=self.sender,
                    reopened_by_person=self.gh(self.sender),
                    reopened_at=when,
                ),
            )
        else:
            return f"issues.{action}: not an event the product tracks"
        return None

    def release(self, action: str) -> str | None:
        if action != "published":
            # GitHub sends 'published' for every release made public (pre-releases too), so
            # 'created' / 'prereleased' / 'released' would report the same release again.
            return f"release.{action}: the release is reported once, on 'published'"
        rel = self.at("release")
        author = _login(rel.get("author")) or ""
        tag = str(field_at(rel, "tag_name", what="GitHub release"))
        when = self.ts(rel.get("published_at"))
        o = self.out
        o.add(
            "code",
            ReleasePublished(
                meta=o.meta(ReleasePublished, self.repo, when, tag),
                repo=self.repo,
                tag=tag,
                name=rel.get("name") or None,
                url=str(rel.get("html_url") or ""),
                author=author,
                author_person=self.gh(author),
                prerelease=bool(rel.get("prerelease")),
                body=rel.get("body") or None,
                published_at=when,
            ),
        )
        return None

    def build(self, event: str, action: str) -> str | None:
        obj = self.at(_BUILD_OBJECTS[event])
        if action != "completed" or obj.get("status") not in (None, "completed"):
            return f"{event}.{action}: the build has not finished"
        conclusion = str(obj.get("conclusion") or "")
        run_id = int(field_at(obj, "id", what=f"GitHub {event}"))
        if event == "check_run":
            workflow = str(obj.get("name") or "")
        elif event == "check_suite":
            workflow = str(
                (obj.get("app") or {}).get("slug")
                or (obj.get("app") or {}).get("name")
                or "check suite"
            )
        elif event == "workflow_job":
            workflow = str(obj.get("workflow_name") or obj.get("name") or "")
        else:
            workflow = str(obj.get("name") or "")
        if event == "workflow_job":
            workflow = (
                f"{workflow} / {obj.get('name')}"
                if obj.get("name") and obj.get("workflow_name")
                else workflow
            )
        branch = obj.get("head_branch") or (obj.get("check_suite") or {}).get("head_branch")
        sha = str(obj.get("head_sha") or (obj.get("check_suite") or {}).get("head_sha") or "")
        actor = _login(obj.get("actor")) or _login(obj.get("triggering_actor")) or self.sender
        prs = tuple(
            int(pr["number"])
            for pr in obj.get("pull_requests") or ()
            if isinstance(pr, Mapping) and "number" in pr
        )
        url = str(obj.get("html_url") or obj.get("url") or "")
        when = self.ts(obj.get("completed_at") or obj.get("updated_at"))
        line = "|".join((self.repo, event, workflow, str(branch)))
        common: dict[str, Any] = {
            "repo": self.repo,
            "workflow": workflow,
            "run_id": run_id,
            "url": url,
            "commit_sha": sha,
            "branch": branch,
            "conclusion": conclusion,
            "actor": actor,
            "actor_person": self.gh(actor),
            "pull_requests": prs,
            "check_kind": event,
        }
        o = self.out
        if conclusion in FAILED_CONCLUSIONS:
            self.ledger.failed(line, run_id)
            o.add(
                "code",
                BuildFailed(
                    meta=o.meta(BuildFailed, self.repo, when, event, run_id),
                    **common,
                    failed_at=when,
                ),
            )
            return None
        if conclusion == "success":
            failed_run = self.ledger.succeeded(line)
            if failed_run is None:
                return f"{event}.completed: succeeded with no failed run of it seen before"
            o.add(
                "code",
                BuildRecovered(
                    meta=o.meta(BuildRecovered, self.repo, when, event, run_id),
                    **common,
                    failed_run_id=failed_run,
                    recovered_at=when,
                ),
            )
            return None
        shown = conclusion or "none"
        return f"{event}.completed: conclusion {shown!r} is neither a failure nor a success"

    def deployment(self, action: str) -> str | None:
        dep = self.at("deployment")
        dep_id = int(field_at(dep, "id", what="GitHub deployment"))
        env = str(dep.get("environment") or "")
        creator = _login(dep.get("creator")) or self.sender
        o = self.out
        when = self.ts(dep.get("created_at"))
        o.add(
            "code",
            DeploymentCreated(
                meta=o.meta(DeploymentCreated, self.repo, when, dep_id),
                repo=self.repo,
                deployment_id=dep_id,
                environment=env,
                ref=str(dep.get("ref") or ""),
                commit_sha=str(dep.get("sha") or ""),
                creator=creator,
                creator_person=self.gh(creator),
                description=dep.get("description") or None,
                created_at=when,
            ),
        )
        return None

    def deployment_status(self, action: str) -> str | None:
        status = self.at("deployment_status")
        dep = self.at("deployment")
        dep_id = int(field_at(dep, "id", what="GitHub deployment"))
        creator = _login(status.get("creator")) or self.sender
        when = self.ts(status.get("created_at"))
        o = self.out
        o.add(
            "code",
            DeploymentStatusChanged(
                meta=o.meta(DeploymentStatusChanged, self.repo, when, dep_id, status.get("id")),
                repo=self.repo,
                deployment_id=dep_id,
                environment=str(status.get("environment") or dep.get("environment") or ""),
                state=str(status.get("state") or ""),
                commit_sha=str(dep.get("sha") or ""),
                url=status.get("target_url") or status.get("log_url") or None,
                creator=creator,
                creator_person=self.gh(creator),
                description=status.get("description") or None,
                changed_at=when,
            ),
        )
        return None


def _build(event: str, g: _GitHub, action: str) -> str | None:
    return g.build(event, action)


_Handler = Callable[[_GitHub, str], "str | None"]
_HANDLERS: dict[str, _Handler] = {
    "pull_request": _GitHub.pull_request,
    "pull_request_review": _GitHub.pull_request_review,
    "issue_comment": lambda g, a: g.comment(a),
    "pull_request_review_comment": lambda g, a: g.comment(a, on_pr=True),
    "issues": _GitHub.issues,
    "release": _GitHub.release,
    "deployment": _GitHub.deployment,
    "deployment_status": _GitHub.deployment_status,
    **{name: functools.partial(_build, name) for name in _BUILD_OBJECTS},
}
_QUIET = {
    "ping": "ping: GitHub checking that the webhook works",
    "push": "push: commits are followed through pull requests and builds",
}


def normalize_github(out: Out, event: str, payload: Any, ledger: BuildLedger) -> str | None:
    """Append the events of one delivery to ``out``; return a skip reason when there are none."""
    if event in _QUIET:
        return _QUIET[event]
    handler = _HANDLERS.get(event)
    if handler is None:
        return f"unsupported GitHub event {event!r}"
    if not isinstance(payload, Mapping):
        raise MalformedPayloadError(f"GitHub {event} payload is not a JSON object")
    action = str(payload.get("action") or "")
    if event in ("deployment", "deployment_status") and action not in ("", "created"):
        return f"{event}.{action}: not an event the product tracks"
    return handler(_GitHub(out, payload, ledger), action)


SUPPORTED_GITHUB_EVENTS = frozenset(_HANDLERS)
