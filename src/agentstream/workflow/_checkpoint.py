"""The checkpoint of one workflow run, as stored on ``workflows.<name>.runs`` (key = run id).

Encoding: JSON (UTF-8), one self-describing document per run with a format version ``"v": 1``.
JSON was chosen over Avro so that checkpoints stay readable with any Kafka tool and step results
of any JSON shape need no schema; the document is small and written once per step, so the
encoding cost is negligible next to the acknowledged produce. Step results and inputs that are
Avro ``Record``s are stored as ``{"$avro": "<full name>", "value": <JSON view>}`` and restored as
the same record class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agentstream.clock import clock
from agentstream.errors import StepResultError
from agentstream.schemas import Record, from_json, record_class, to_json

__all__ = [
    "FORMAT_VERSION",
    "RunCheckpoint",
    "RunStatus",
    "StepState",
    "StepStatus",
    "decode_value",
    "encode_value",
]

FORMAT_VERSION = 1

RunStatus = Literal["running", "succeeded", "failed"]
StepStatus = Literal["pending", "succeeded", "failed"]


def encode_value(value: Any, *, what: str = "value") -> Any:
    """A JSON-compatible form of ``value`` (a JSON value or an Avro ``Record``).

    Raises ``StepResultError`` naming ``what`` when the value cannot be stored.
    """
    if isinstance(value, Record):
        return {"$avro": value.FULLNAME, "value": to_json(value.to_avro(), value.SCHEMA)}
    try:
        # allow_nan=False: NaN is not JSON and would not survive other readers.
        text = json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StepResultError(
            f"{what} cannot be checkpointed: {exc}; return JSON-serialisable data (dict with "
            "str keys, list, str, number, bool, None) or an Avro Record"
        ) from None
    # Round-trip so that the running workflow sees exactly what a resumed one will see
    # (tuples become lists, int dict keys become strings).
    return json.loads(text)


def decode_value(stored: Any) -> Any:
    """The inverse of ``encode_value``: Avro records come back as their generated class."""
    if isinstance(stored, dict) and set(stored) == {"$avro", "value"}:
        cls = record_class(stored["$avro"])
        return cls.from_avro(from_json(stored["value"], cls.SCHEMA))
    return stored


def _ts(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="milliseconds")


def _parse_ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def now() -> datetime:
    """UTC now (``agentstream.clock``) at millisecond precision (what a checkpoint keeps), so a
    read-back copy is equal."""
    t = clock().now().astimezone(UTC)
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


@dataclass
class StepState:
    """Where one step of a run stands. ``result`` is stored in ``encode_value`` form."""

    status: StepStatus = "pending"
    attempts: int = 0
    result: Any = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "result": self.result,
            "error": self.error,
            "started_at": _ts(self.started_at),
            "finished_at": _ts(self.finished_at),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepState:
        return cls(
            status=d["status"],
            attempts=d["attempts"],
            result=d.get("result"),
            error=d.get("error"),
            started_at=_parse_ts(d.get("started_at")),
            finished_at=_parse_ts(d.get("finished_at")),
        )

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000


@dataclass
class RunCheckpoint:
    """Everything needed to resume a run: its input, and each step's state and result.

    ``trigger_id`` is the id of the event that started the run (``None`` for a plain input);
    ``completion_event_id`` is the deterministic id of the event that ends the run, so a re-emit
    after a crash carries the same id and downstream dedupe by id drops it.
    """

    run_id: str
    workflow: str
    version: str
    input: Any
    steps: dict[str, StepState]
    status: RunStatus = "running"
    trigger_id: str | None = None
    trigger_type: str | None = None
    error: str | None = None
    failed_step: str | None = None
    completion_event_id: str | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    def first_unfinished(self) -> str | None:
        return next((n for n, s in self.steps.items() if s.status != "succeeded"), None)

    def results(self) -> dict[str, Any]:
        """Finished steps' results, decoded (Avro records as their classes)."""
        return {
            n: decode_value(s.result) for n, s in self.steps.items() if s.status == "succeeded"
        }

    def to_bytes(self) -> bytes:
        doc = {
            "v": FORMAT_VERSION,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "version": self.version,
            "status": self.status,
            "trigger_id": self.trigger_id,
            "trigger_type": self.trigger_type,
            "input": self.input,
            "steps": {n: s.to_json() for n, s in self.steps.items()},
            "error": self.error,
            "failed_step": self.failed_step,
            "completion_event_id": self.completion_event_id,
            "created_at": _ts(self.created_at),
            "updated_at": _ts(self.updated_at),
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> RunCheckpoint:
        """Parse a stored checkpoint; raises ``ValueError`` for a document of another format."""
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("v") != FORMAT_VERSION:
            raise ValueError(
                f"not a workflow checkpoint of format {FORMAT_VERSION}: "
                f"{str(doc)[:80]!r}"
            )
        return cls(
            run_id=doc["run_id"],
            workflow=doc["workflow"],
            version=doc["version"],
            input=doc.get("input"),
            steps={n: StepState.from_json(s) for n, s in doc["steps"].items()},
            status=doc["status"],
            trigger_id=doc.get("trigger_id"),
            trigger_type=doc.get("trigger_type"),
            error=doc.get("error"),
            failed_step=doc.get("failed_step"),
            completion_event_id=doc.get("completion_event_id"),
            created_at=_parse_ts(doc["created_at"]) or now(),
            updated_at=_parse_ts(doc["updated_at"]) or now(),
        )
