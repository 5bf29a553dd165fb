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
from agentstream.events._gen_events_code import ReviewState

# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

__all__ = [
    "PullRequestOpened",
    "PullRequestReadyForReview",
    "ReleasePublished",
    "ReviewRequestRemoved",
    "ReviewRequested",
    "ReviewSubmitted",
]


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


