"""Dead letters: what an agent could not process, kept byte-exact with the reason, on
``dlq.<agent>``.

The value is an Avro ``agentstream.platform.DeadLetter`` (the published contract): original key,
value and headers unmodified, error type and message, stage (decode/handle/emit), attempts, first
and last failure time, agent. ``agentstream dlq replay`` writes the original bytes back with the
header ``agentstream-replay=<dlq offset>``, which makes the replay distinct for dedupe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from agentstream.events import DeadLetter, DeadLetterStage, Header

__all__ = [
    "REPLAY_HEADER",
    "FailureInfo",
    "Stage",
    "build_dead_letter",
    "dlq_topic",
    "replay_marker",
]

Stage = Literal["decode", "handle", "emit"]
REPLAY_HEADER = "agentstream-replay"


def dlq_topic(agent: str, *, prefix: str = "") -> str:
    return f"{prefix}dlq.{agent}"


def replay_marker(headers: Sequence[tuple[str, bytes | None]] | None) -> str | None:
    """The DLQ offset a replayed record carries, or None for an ordinary record."""
    for k, v in headers or ():
        if k == REPLAY_HEADER and v is not None:
            return v.decode(errors="replace")
    return None


@dataclass
class FailureInfo:
    """The failure history of one input, filled while it is retried."""

    stage: Stage
    error: BaseException
    attempts: int
    first_failure_at: datetime
    last_failure_at: datetime

    @classmethod
    def first(cls, stage: Stage, error: BaseException, attempts: int = 1) -> FailureInfo:
        now = datetime.now(UTC)
        return cls(stage, error, attempts, now, now)


def build_dead_letter(
    *,
    agent: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    failure: FailureInfo,
    event_id: str | None = None,
    event_type: str | None = None,
) -> Any:
    """The ``DeadLetter`` record for a failed input."""
    message = str(failure.error) or repr(failure.error)
    return DeadLetter(
        original_topic=topic,
        original_partition=partition,
        original_offset=offset,
        original_key=key,
        original_value=value,
        original_headers=tuple(Header(key=k, value=v) for k, v in headers or ()),
        event_id=event_id,
        event_type=event_type,
        error_type=type(failure.error).__name__,
        error_message=message[:8000],
        stage=DeadLetterStage(failure.stage),
        attempts=failure.attempts,
        first_failure_at=failure.first_failure_at,
        last_failure_at=failure.last_failure_at,
        agent=agent,
    )
