"""GitHub webhook payloads → AgentStream semantic events (the subset the demo needs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentstream.events import BuildFailed, PullRequestMerged, PullRequestOpened, ReviewRequested
from agentstream.schemas import Record, new_meta

SOURCE = "github"


def _ts(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _pr_subject(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def to_events(event_name: str, payload: dict[str, Any]) -> list[Record]:
    """The semantic events one webhook delivery means (often one, sometimes none)."""
    repo = payload["repository"]["full_name"]
    action = payload.get("action")
    if event_name == "pull_request":
        pr = payload["pull_request"]
        subject = _pr_subject(repo, pr["number"])
        if action == "opened":
            return [
                PullRequestOpened(
                    meta=new_meta(PullRequestOpened, source=SOURCE, subject=subject),
                    repo=repo, number=pr["number"], title=pr["title"], url=pr["html_url"],
                    author=pr["user"]["login"], base_branch=pr["base"]["ref"],
                    head_branch=pr["head"]["ref"], draft=bool(pr.get("draft")), body=pr.get("body"),
                    created_at=_ts(pr.get("created_at")), additions=pr.get("additions"),
                    deletions=pr.get("deletions"), changed_files=pr.get("changed_files"),
                )
            ]  # fmt: skip
        if action == "closed" and pr.get("merged"):
            return [
                PullRequestMerged(
                    meta=new_meta(PullRequestMerged, source=SOURCE, subject=subject),
                    repo=repo, number=pr["number"], title=pr["title"], url=pr["html_url"],
                    author=pr["user"]["login"], merged_by=(pr.get("merged_by") or {}).get("login"),
                    merge_commit_sha=pr.get("merge_commit_sha"), merged_at=_ts(pr.get("merged_at")),
                )
            ]  # fmt: skip
        if action == "review_requested":
            return [
                ReviewRequested(
                    meta=new_meta(ReviewRequested, source=SOURCE, subject=subject),
                    repo=repo, number=pr["number"], url=pr["html_url"],
                    requested_by=payload["sender"]["login"],
                    reviewer=(payload.get("requested_reviewer") or {}).get("login"),
                    team=(payload.get("requested_team") or {}).get("name"),
                )
            ]  # fmt: skip
    if event_name == "workflow_job" and action == "completed":
        job = payload["workflow_job"]
        if job.get("conclusion") in ("failure", "timed_out"):
            return [
                BuildFailed(
                    meta=new_meta(BuildFailed, source=SOURCE, subject=repo),
                    repo=repo, workflow=job.get("workflow_name") or job["name"],
                    run_id=job["run_id"], url=job["html_url"], commit_sha=job["head_sha"],
                    branch=job.get("head_branch"), conclusion=job["conclusion"],
                    actor=(payload.get("sender") or {}).get("login"),
                    failed_at=_ts(job.get("completed_at")),
                )
            ]  # fmt: skip
    return []


def scenario(team_repo: str = "acme/payments", *, prs: int = 6) -> list[Record]:
    """A small generated week of activity: some large pull requests and failing builds."""
    out: list[Record] = []
    for n in range(1, prs + 1):
        large = n % 3 == 0
        subject = _pr_subject(team_repo, 100 + n)
        out.append(
            PullRequestOpened(
                meta=new_meta(PullRequestOpened, source="scenario", subject=subject),
                repo=team_repo, number=100 + n, title=f"Change {n}",
                url=f"https://github.com/{team_repo}/pull/{100 + n}", author=f"dev{n % 4}",
                base_branch="main", head_branch=f"feature-{n}", created_at=datetime.now(UTC),
                additions=900 if large else 40, deletions=120 if large else 5,
                changed_files=31 if large else 3,
            )
        )  # fmt: skip
    for branch in ("main", "feature-2"):
        out.append(
            BuildFailed(
                meta=new_meta(BuildFailed, source="scenario", subject=team_repo),
                repo=team_repo, workflow="ci", run_id=7000 + len(out),
                url=f"https://github.com/{team_repo}/actions", commit_sha="0123456789abcdef",
                branch=branch, conclusion="failure", actor="dev1", failed_at=datetime.now(UTC),
            )
        )  # fmt: skip
    return out
