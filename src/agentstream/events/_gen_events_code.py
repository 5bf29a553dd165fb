"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

Regenerate with ``agentstream schemas codegen`` after changing a schema; a unit test fails when
this file is out of date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

from agentstream.schemas import Record, schema_of
from agentstream.events._gen_meta import EventMeta

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "BuildFailed",
    "BuildRecovered",
    "CommentAdded",
    "CommentDeleted",
    "CommentEdited",
    "DeploymentCreated",
    "DeploymentStatusChanged",
    "IssueClosed",
    "IssueOpened",
    "IssueReopened",
    "PullRequestClosed",
    "PullRequestConvertedToDraft",
    "PullRequestMerged",
    "PullRequestOpened",
    "PullRequestReadyForReview",
    "ReleasePublished",
    "ReviewRequestRemoved",
    "ReviewRequested",
    "ReviewState",
    "ReviewSubmitted",
]


class ReviewState(StrEnum):
    "Outcome of a pull request review (GitHub's review states, lower case)."

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"
    PENDING = "pending"


@dataclass(frozen=True, kw_only=True)
class BuildFailed(Record):
    "A CI run (GitHub Actions workflow run or check run) finished unsuccessfully."

    FULLNAME: ClassVar[str] = "agentstream.events.code.BuildFailed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.BuildFailed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    workflow: str
    "Workflow or check name."
    run_id: int
    "Id of the run."
    url: str
    "Web (html) URL of the run."
    commit_sha: str
    "Head commit the run built."
    branch: str | None = None
    "Head branch, if any."
    conclusion: str
    "GitHub's conclusion, e.g. 'failure', 'timed_out', 'cancelled'."
    actor: str | None = None
    "Login of the user who triggered the run, if known."
    pull_requests: tuple[int, ...] = ()
    "Numbers of the pull requests the run belongs to."
    failed_at: datetime
    "When the run completed, UTC."
    actor_person: str | None = None
    "Person id that the identity map resolves 'actor' to; null when unknown."
    check_kind: str = "workflow_run"
    "Which GitHub object reported it: 'workflow_run', 'workflow_job', 'check_run' or 'check_suite'."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "workflow": data["workflow"],
            "run_id": data["run_id"],
            "url": data["url"],
            "commit_sha": data["commit_sha"],
            "branch": data.get("branch", None),
            "conclusion": data["conclusion"],
            "actor": data.get("actor", None),
            "pull_requests": tuple(data.get("pull_requests", ())),
            "failed_at": data["failed_at"],
            "actor_person": data.get("actor_person", None),
            "check_kind": data.get("check_kind", "workflow_run"),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["pull_requests"] = tuple(data["pull_requests"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class BuildRecovered(Record):
    "A CI run succeeded after the previous run of the same workflow and branch had failed (decided on the conclusion, not the action)."

    FULLNAME: ClassVar[str] = "agentstream.events.code.BuildRecovered"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.BuildRecovered")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    workflow: str
    "Workflow, check suite app or check name."
    run_id: int
    "Id of the run (workflow run, job, check run or check suite)."
    url: str
    "Web (html) URL of the run."
    commit_sha: str
    "Head commit the run built."
    branch: str | None = None
    "Head branch, if any."
    conclusion: str
    "GitHub's conclusion, e.g. 'success'."
    actor: str | None = None
    "Login of the user who triggered the run, if known."
    actor_person: str | None = None
    "Person id that the identity map resolves 'actor' to; null when unknown."
    pull_requests: tuple[int, ...] = ()
    "Numbers of the pull requests the run belongs to."
    check_kind: str = "workflow_run"
    "Which GitHub object reported it: 'workflow_run', 'workflow_job', 'check_run' or 'check_suite'."
    failed_run_id: int | None = None
    "Id of the failed run this success follows, when known."
    recovered_at: datetime
    "When the successful run completed, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "workflow": data["workflow"],
            "run_id": data["run_id"],
            "url": data["url"],
            "commit_sha": data["commit_sha"],
            "branch": data.get("branch", None),
            "conclusion": data["conclusion"],
            "actor": data.get("actor", None),
            "actor_person": data.get("actor_person", None),
            "pull_requests": tuple(data.get("pull_requests", ())),
            "check_kind": data.get("check_kind", "workflow_run"),
            "failed_run_id": data.get("failed_run_id", None),
            "recovered_at": data["recovered_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["pull_requests"] = tuple(data["pull_requests"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Record):
    "A comment was added to an issue or pull request conversation."

    FULLNAME: ClassVar[str] = "agentstream.events.code.CommentAdded"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.CommentAdded")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue or pull request number within the repository."
    url: str
    "Web (html) URL of the comment."
    author: str
    "Login of the user who authored the comment."
    body: str
    "Comment text."
    on_pull_request: bool = False
    "True when the conversation belongs to a pull request."
    created_at: datetime
    "When the comment was created, UTC."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    comment_id: int | None = None
    "GitHub id of the comment, if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "author": data["author"],
            "body": data["body"],
            "on_pull_request": data.get("on_pull_request", False),
            "created_at": data["created_at"],
            "author_person": data.get("author_person", None),
            "comment_id": data.get("comment_id", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class CommentDeleted(Record):
    "A comment on an issue or pull request conversation was deleted."

    FULLNAME: ClassVar[str] = "agentstream.events.code.CommentDeleted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.CommentDeleted")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue or pull request number within the repository."
    url: str
    "Web (html) URL the comment had."
    comment_id: int
    "GitHub id of the comment."
    author: str
    "Login of the comment's author."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    on_pull_request: bool = False
    "True when the conversation belongs to a pull request."
    sender: str | None = None
    "Login of the user whose action caused the event, if known."
    sender_person: str | None = None
    "Person id that the identity map resolves 'sender' to; null when unknown."
    deleted_at: datetime
    "When the deletion was observed (delivery time), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "comment_id": data["comment_id"],
            "author": data["author"],
            "author_person": data.get("author_person", None),
            "on_pull_request": data.get("on_pull_request", False),
            "sender": data.get("sender", None),
            "sender_person": data.get("sender_person", None),
            "deleted_at": data["deleted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class CommentEdited(Record):
    "A comment on an issue or pull request conversation was edited."

    FULLNAME: ClassVar[str] = "agentstream.events.code.CommentEdited"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.CommentEdited")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue or pull request number within the repository."
    url: str
    "Web (html) URL of the comment."
    comment_id: int
    "GitHub id of the comment."
    author: str
    "Login of the comment's author."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    body: str
    "Comment text after the edit."
    previous_body: str | None = None
    "Comment text before the edit, if GitHub sent it."
    on_pull_request: bool = False
    "True when the conversation belongs to a pull request."
    sender: str | None = None
    "Login of the user whose action caused the event, if known."
    sender_person: str | None = None
    "Person id that the identity map resolves 'sender' to; null when unknown."
    edited_at: datetime
    "When it was edited (the comment's updated_at), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "comment_id": data["comment_id"],
            "author": data["author"],
            "author_person": data.get("author_person", None),
            "body": data["body"],
            "previous_body": data.get("previous_body", None),
            "on_pull_request": data.get("on_pull_request", False),
            "sender": data.get("sender", None),
            "sender_person": data.get("sender_person", None),
            "edited_at": data["edited_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class DeploymentCreated(Record):
    "A deployment of a commit to an environment was requested."

    FULLNAME: ClassVar[str] = "agentstream.events.code.DeploymentCreated"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.DeploymentCreated")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    deployment_id: int
    "GitHub id of the deployment."
    environment: str
    "Target environment, e.g. 'production'."
    ref: str
    "Branch, tag or SHA being deployed."
    commit_sha: str
    "Commit being deployed."
    creator: str | None = None
    "Login of the user who created it, if known."
    creator_person: str | None = None
    "Person id that the identity map resolves 'creator' to; null when unknown."
    description: str | None = None
    "Description, if any."
    created_at: datetime
    "When it was created, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "deployment_id": data["deployment_id"],
            "environment": data["environment"],
            "ref": data["ref"],
            "commit_sha": data["commit_sha"],
            "creator": data.get("creator", None),
            "creator_person": data.get("creator_person", None),
            "description": data.get("description", None),
            "created_at": data["created_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class DeploymentStatusChanged(Record):
    "A deployment reached a new state (success, failure, error, in_progress, ...)."

    FULLNAME: ClassVar[str] = "agentstream.events.code.DeploymentStatusChanged"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.DeploymentStatusChanged")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    deployment_id: int
    "GitHub id of the deployment."
    environment: str
    "Target environment."
    state: str
    "GitHub's deployment state, e.g. 'success', 'failure', 'error'."
    commit_sha: str
    "Commit being deployed."
    url: str | None = None
    "Target or log URL of the status, if any."
    creator: str | None = None
    "Login of the user who set the status, if known."
    creator_person: str | None = None
    "Person id that the identity map resolves 'creator' to; null when unknown."
    description: str | None = None
    "Description, if any."
    changed_at: datetime
    "When the status was created, UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "deployment_id": data["deployment_id"],
            "environment": data["environment"],
            "state": data["state"],
            "commit_sha": data["commit_sha"],
            "url": data.get("url", None),
            "creator": data.get("creator", None),
            "creator_person": data.get("creator_person", None),
            "description": data.get("description", None),
            "changed_at": data["changed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class IssueClosed(Record):
    "An issue was closed."

    FULLNAME: ClassVar[str] = "agentstream.events.code.IssueClosed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.IssueClosed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the issue."
    closed_by: str | None = None
    "Login of the user who closed it, if known."
    state_reason: str | None = None
    "GitHub's reason: 'completed', 'not_planned', or null."
    closed_at: datetime
    "When it was closed, UTC."
    closed_by_person: str | None = None
    "Person id that the identity map resolves 'closed_by' to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "closed_by": data.get("closed_by", None),
            "state_reason": data.get("state_reason", None),
            "closed_at": data["closed_at"],
            "closed_by_person": data.get("closed_by_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class IssueOpened(Record):
    "An issue was opened."

    FULLNAME: ClassVar[str] = "agentstream.events.code.IssueOpened"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.IssueOpened")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the issue."
    author: str
    "Login of the user who authored the issue."
    body: str | None = None
    "Issue text; null when empty."
    labels: tuple[str, ...] = ()
    "Label names at opening time."
    created_at: datetime
    "When the issue was created, UTC."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "body": data.get("body", None),
            "labels": tuple(data.get("labels", ())),
            "created_at": data["created_at"],
            "author_person": data.get("author_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["labels"] = tuple(data["labels"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class IssueReopened(Record):
    "A closed issue was reopened."

    FULLNAME: ClassVar[str] = "agentstream.events.code.IssueReopened"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.IssueReopened")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The issue number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the issue."
    reopened_by: str | None = None
    "Login of the user who reopened it, if known."
    reopened_by_person: str | None = None
    "Person id that the identity map resolves 'reopened_by' to; null when unknown."
    reopened_at: datetime
    "When it was reopened (the issue's updated_at), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "reopened_by": data.get("reopened_by", None),
            "reopened_by_person": data.get("reopened_by_person", None),
            "reopened_at": data["reopened_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestClosed(Record):
    "A pull request was closed without being merged."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestClosed"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestClosed")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    closed_by: str | None = None
    "Login of the user who closed it, if known."
    closed_at: datetime
    "When it was closed, UTC."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    closed_by_person: str | None = None
    "Person id that the identity map resolves 'closed_by' to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "closed_by": data.get("closed_by", None),
            "closed_at": data["closed_at"],
            "author_person": data.get("author_person", None),
            "closed_by_person": data.get("closed_by_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestConvertedToDraft(Record):
    "A pull request was converted back to a draft."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestConvertedToDraft"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestConvertedToDraft")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    sender: str | None = None
    "Login of the user whose action caused the event, if known."
    sender_person: str | None = None
    "Person id that the identity map resolves 'sender' to; null when unknown."
    converted_at: datetime
    "When it was converted (the pull request's updated_at), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "author_person": data.get("author_person", None),
            "sender": data.get("sender", None),
            "sender_person": data.get("sender_person", None),
            "converted_at": data["converted_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestMerged(Record):
    "A pull request was merged."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestMerged"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestMerged")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    merged_by: str | None = None
    "Login of the user who merged it, if known."
    merge_commit_sha: str | None = None
    "SHA of the merge commit, if known."
    merged_at: datetime
    "When it was merged, UTC."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    merged_by_person: str | None = None
    "Person id that the identity map resolves 'merged_by' to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "merged_by": data.get("merged_by", None),
            "merge_commit_sha": data.get("merge_commit_sha", None),
            "merged_at": data["merged_at"],
            "author_person": data.get("author_person", None),
            "merged_by_person": data.get("merged_by_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestOpened(Record):
    "A pull request was opened (or reopened) on GitHub."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestOpened"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestOpened")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    base_branch: str
    "Branch the pull request wants to merge into."
    head_branch: str
    "Branch holding the proposed changes."
    draft: bool = False
    "Whether the pull request is a draft."
    body: str | None = None
    "Description text; null when empty."
    created_at: datetime
    "When the pull request was created on GitHub, UTC."
    additions: int | None = None
    "Lines added, if known."
    deletions: int | None = None
    "Lines deleted, if known."
    changed_files: int | None = None
    "Files changed, if known."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    reopened: bool = False
    "True when a closed pull request was reopened."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "base_branch": data["base_branch"],
            "head_branch": data["head_branch"],
            "draft": data.get("draft", False),
            "body": data.get("body", None),
            "created_at": data["created_at"],
            "additions": data.get("additions", None),
            "deletions": data.get("deletions", None),
            "changed_files": data.get("changed_files", None),
            "author_person": data.get("author_person", None),
            "reopened": data.get("reopened", False),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class PullRequestReadyForReview(Record):
    "A draft pull request was marked ready for review."

    FULLNAME: ClassVar[str] = "agentstream.events.code.PullRequestReadyForReview"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.PullRequestReadyForReview")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    title: str
    "Title as shown on GitHub."
    url: str
    "Web (html) URL of the pull request."
    author: str
    "Login of the user who authored the pull request."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."
    sender: str | None = None
    "Login of the user whose action caused the event, if known."
    sender_person: str | None = None
    "Person id that the identity map resolves 'sender' to; null when unknown."
    ready_at: datetime
    "When it was marked ready (the pull request's updated_at), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "title": data["title"],
            "url": data["url"],
            "author": data["author"],
            "author_person": data.get("author_person", None),
            "sender": data.get("sender", None),
            "sender_person": data.get("sender_person", None),
            "ready_at": data["ready_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReleasePublished(Record):
    "A release was published."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReleasePublished"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReleasePublished")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    tag: str
    "Git tag of the release."
    name: str | None = None
    "Release title, if any."
    url: str
    "Web (html) URL of the release."
    author: str
    "Login of the user who authored the release."
    prerelease: bool = False
    "Whether it is marked as a pre-release."
    body: str | None = None
    "Release notes; null when empty."
    published_at: datetime
    "When it was published, UTC."
    author_person: str | None = None
    "Person id that the identity map resolves 'author' to; null when unknown."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "tag": data["tag"],
            "name": data.get("name", None),
            "url": data["url"],
            "author": data["author"],
            "prerelease": data.get("prerelease", False),
            "body": data.get("body", None),
            "published_at": data["published_at"],
            "author_person": data.get("author_person", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReviewRequestRemoved(Record):
    "A review request on a pull request was withdrawn."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReviewRequestRemoved"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReviewRequestRemoved")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    url: str
    "Web (html) URL of the pull request."
    removed_by: str
    "Login of the user who withdrew the request."
    removed_by_person: str | None = None
    "Person id that the identity map resolves 'removed_by' to; null when unknown."
    reviewer: str | None = None
    "Login of the reviewer no longer requested; null for a team."
    reviewer_person: str | None = None
    "Person id that the identity map resolves 'reviewer' to; null when unknown."
    team: str | None = None
    "Slug of the team no longer requested; null for a user."
    removed_at: datetime
    "When the request was withdrawn (the pull request's updated_at), UTC."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "removed_by": data["removed_by"],
            "removed_by_person": data.get("removed_by_person", None),
            "reviewer": data.get("reviewer", None),
            "reviewer_person": data.get("reviewer_person", None),
            "team": data.get("team", None),
            "removed_at": data["removed_at"],
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReviewRequested(Record):
    "Someone was asked to review a pull request."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReviewRequested"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReviewRequested")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    url: str
    "Web (html) URL of the pull request."
    requested_by: str
    "Login of the user who requested the review."
    reviewer: str | None = None
    "Login of the requested reviewer; null when a team was requested."
    team: str | None = None
    "Slug of the requested team; null when a user was requested."
    requested_by_person: str | None = None
    "Person id that the identity map resolves 'requested_by' to; null when unknown."
    reviewer_person: str | None = None
    "Person id that the identity map resolves 'reviewer' to; null when unknown."
    requested_at: datetime | None = None
    "When the review was requested (the pull request's updated_at), UTC, if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "requested_by": data["requested_by"],
            "reviewer": data.get("reviewer", None),
            "team": data.get("team", None),
            "requested_by_person": data.get("requested_by_person", None),
            "reviewer_person": data.get("reviewer_person", None),
            "requested_at": data.get("requested_at", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


@dataclass(frozen=True, kw_only=True)
class ReviewSubmitted(Record):
    "A review was submitted on a pull request."

    FULLNAME: ClassVar[str] = "agentstream.events.code.ReviewSubmitted"
    SCHEMA: ClassVar[dict[str, Any]] = schema_of("agentstream.events.code.ReviewSubmitted")

    meta: EventMeta
    "Envelope shared by every event: id, type, source, subject, time, tracing."
    repo: str
    "Repository full name 'owner/name'."
    number: int
    "The pull request number within the repository."
    url: str
    "Web (html) URL of the review."
    reviewer: str
    "Login of the reviewer."
    state: ReviewState
    "What the reviewer concluded."
    body: str | None = None
    "Review text; null when empty."
    submitted_at: datetime
    "When the review was submitted, UTC."
    reviewer_person: str | None = None
    "Person id that the identity map resolves 'reviewer' to; null when unknown."
    review_id: int | None = None
    "GitHub id of the review, if known."

    def to_avro(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["meta"] = self.meta.to_avro()
        return data

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        obj = _new(cls)
        _set(obj, "__dict__", {
            "meta": EventMeta.from_avro(data["meta"]),
            "repo": data["repo"],
            "number": data["number"],
            "url": data["url"],
            "reviewer": data["reviewer"],
            "state": ReviewState(data["state"]),
            "body": data.get("body", None),
            "submitted_at": data["submitted_at"],
            "reviewer_person": data.get("reviewer_person", None),
            "review_id": data.get("review_id", None),
        })
        return obj

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        data["meta"] = EventMeta.adopt_avro(data["meta"])
        data["state"] = ReviewState(data["state"])
        obj = _new(cls)
        _set(obj, "__dict__", data)
        return obj


