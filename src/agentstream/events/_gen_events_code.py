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
    "ReviewState",
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


