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
    "DeploymentStatusChanged",
    "IssueClosed",
    "IssueOpened",
    "IssueReopened",
    "PullRequestClosed",
    "PullRequestConvertedToDraft",
    "PullRequestMerged",
]


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


