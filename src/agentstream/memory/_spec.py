"""Store declarations: what an agent says about each of its memory stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentstream.memory._backend import Backend
from agentstream.memory._codec import Codec, JsonCodec

__all__ = ["FactAssertion", "FactStoreSpec", "StoreSpec", "changelog_topic", "subject_of"]

Reducer = Callable[[Any, Any], Any]


def subject_of(event: Any) -> str | None:
    """The default entity key: the event's ``meta.subject`` (the entity the event is about)."""
    meta = getattr(event, "meta", None)
    if meta is None and isinstance(event, dict):
        meta = event.get("meta")
    subject = meta.get("subject") if isinstance(meta, dict) else getattr(meta, "subject", None)
    return None if subject is None else str(subject)


def changelog_topic(agent: str, store: str, *, prefix: str = "") -> str:
    """The compacted changelog topic of a store: ``<prefix>memory.<agent>.<store>``."""
    return f"{prefix}memory.{agent}.{store}"


def _check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(
            f"store name {name!r} must be non-empty ASCII letters, digits, '_' or '-' "
            "(it becomes part of the topic memory.<agent>.<store>)"
        )
    return name


@dataclass(frozen=True)
class StoreSpec:
    """A key-value memory store.

    - ``reducer(state, event) -> state``: folded over every input event whose ``key_of(event)`` is
      not ``None`` (``state`` is ``None`` for a new entity); returning ``None`` deletes the entity
      (a tombstone in the changelog). Without a reducer the store is written by hand
      (``put``/``delete`` in handlers).
    - ``key_of``: the entity key of an event; default ``meta.subject``.
    - ``value_codec``: state ↔ bytes; default compact JSON.
    - ``backend``: ``"memory"`` (default, a dict) or ``"rocksdb"`` (state larger than RAM).
    """

    name: str
    reducer: Reducer | None = None
    key_of: Callable[[Any], str | None] = subject_of
    value_codec: Codec = field(default_factory=JsonCodec)
    backend: Backend = "memory"

    def __post_init__(self) -> None:
        _check_name(self.name)


@dataclass(frozen=True)
class FactAssertion:
    """What ``FactStoreSpec.fact_of`` returns for an event: ``value`` holds for ``key`` in
    ``[valid_from, valid_to)``; ``recorded_at=None`` means "now"."""

    key: str
    value: Any
    valid_from: datetime
    valid_to: datetime | None = None
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class FactStoreSpec:
    """A bi-temporal store: each key holds the full history of its facts (see ``Fact``).

    ``fact_of(event)`` turns an input event into a ``FactAssertion`` (or ``None`` to ignore it);
    without it, facts are asserted by hand with ``FactStore.assert_fact``. Values must be JSON
    serialisable (the fact list is stored as JSON so it stays readable from the CLI).
    """

    name: str
    fact_of: Callable[[Any], FactAssertion | None] | None = None
    backend: Backend = "memory"

    def __post_init__(self) -> None:
        _check_name(self.name)
