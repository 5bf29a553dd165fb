"""``Record``: the base class of every generated event class, and the lookups around it."""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

import fastavro
from fastavro.schema import to_parsing_canonical_form

from agentstream.errors import UnknownRecordTypeError
from agentstream.schemas._loader import default_schema_set, strip_uuid
from agentstream.schemas._registered import registered_records

if TYPE_CHECKING:
    from agentstream.events import EventMeta

__all__ = [
    "Record",
    "all_records",
    "decoding_schema",
    "fingerprint",
    "new_meta",
    "parsed_schema",
    "record_class",
    "schema_of",
]


class Record:
    """Base of every generated record class (frozen dataclasses, one per Avro record).

    ``FULLNAME`` is the Avro full name, ``SCHEMA`` the self-contained schema JSON (named types it
    uses are inlined). ``to_avro`` gives the dict fastavro writes (a fresh dict each call);
    ``from_avro`` builds the typed object back from what fastavro reads. ``dataclasses.replace``
    works on every subclass.
    """

    FULLNAME: ClassVar[str]
    SCHEMA: ClassVar[dict[str, Any]]

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied: the result of ``dataclasses.replace(self, **changes)``
        (which runs ``__init__`` for every field again), several times cheaper.

        Raises ``TypeError`` naming a field the record does not have. Values are not checked
        here (neither does ``__init__``); a wrong type is reported by the serde on encode.
        """
        fields = self.__dataclass_fields__  # type: ignore[attr-defined]
        for name in changes:
            if name not in fields:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
        data = self.__dict__.copy()
        data.update(changes)
        new = object.__new__(type(self))
        object.__setattr__(new, "__dict__", data)
        return new

    def to_avro(self) -> dict[str, Any]:
        """The record as a dict fastavro can write (nested records as dicts)."""
        raise NotImplementedError

    @classmethod
    def from_avro(cls, data: Mapping[str, Any]) -> Self:
        """Build the typed record from a dict as fastavro reads it."""
        raise NotImplementedError

    @classmethod
    def adopt_avro(cls, data: dict[str, Any]) -> Self:
        """Like ``from_avro``, but takes ownership of ``data`` (the serdes' decode fast path).

        ``data`` must be a dict fastavro just decoded with this class's schema as the reader
        schema (so every field is present): generated classes convert nested values in place and
        use it as the instance dict. The default simply calls ``from_avro``.
        """
        return cls.from_avro(data)


def schema_of(fullname: str) -> dict[str, Any]:
    """The self-contained schema of a record of the shipped contract (used by generated code)."""
    return default_schema_set().self_contained(fullname)


# Parsed schemas, computed once per class: parsing is far costlier than encoding one record.
_PARSED: dict[type[Record], Any] = {}
_DECODING: dict[type[Record], Any] = {}
_FINGERPRINTS: dict[type[Record], int] = {}


def parsed_schema(cls: type[Record]) -> Any:
    """fastavro's parsed form of ``cls.SCHEMA`` (cached)."""
    try:
        return _PARSED[cls]
    except KeyError:
        parsed = _PARSED[cls] = fastavro.parse_schema(cls.SCHEMA, {})
        return parsed


def decoding_schema(cls: type[Record]) -> Any:
    """Parsed schema of ``cls`` with ``uuid`` annotations removed, for reading (cached).

    Same canonical form and fingerprint as ``parsed_schema``; fastavro then returns ``str`` for
    uuid fields, which is the Python type of the contract.
    """
    try:
        return _DECODING[cls]
    except KeyError:
        parsed = _DECODING[cls] = fastavro.parse_schema(strip_uuid(cls.SCHEMA), {})
        return parsed


def fingerprint(schema: Any) -> int:
    """CRC-64-AVRO fingerprint of the Parsing Canonical Form, as an unsigned 64-bit int.

    ``schema`` is schema JSON (dict, list or primitive name), a JSON string, or a ``Record``
    class. The single-object encoding writes this number as 8 little-endian bytes.
    """
    if isinstance(schema, type) and issubclass(schema, Record):
        try:
            return _FINGERPRINTS[schema]
        except KeyError:
            fp = _FINGERPRINTS[schema] = fingerprint(schema.SCHEMA)
            return fp
    if isinstance(schema, str) and schema.lstrip().startswith(("{", "[", '"')):
        schema = json.loads(schema)
    canonical = to_parsing_canonical_form(schema)
    # fastavro returns the 8 fingerprint bytes little-endian, as hex.
    le_hex = fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")
    return int.from_bytes(bytes.fromhex(le_hex), "little")


def all_records() -> dict[str, type[Record]]:
    """Every generated record class by Avro full name (events, nested records, platform records),
    and those of projects' own packages registered with ``register_records``."""
    generated = importlib.import_module("agentstream.events._generated")
    return {**registered_records(), **generated.RECORDS}


def record_class(fullname: str) -> type[Record]:
    """The generated class of an Avro full name (an unambiguous simple name is accepted too).

    Raises ``UnknownRecordTypeError`` listing the known names.
    """
    records = all_records()
    if fullname in records:
        return records[fullname]
    matches = [c for n, c in records.items() if n.rpartition(".")[2] == fullname]
    if len(matches) == 1:
        return matches[0]
    raise UnknownRecordTypeError(
        f"no record type {fullname!r}"
        + (" (ambiguous simple name)" if matches else "")
        + f"; known: {', '.join(sorted(records))}"
    )


def _now_millis() -> datetime:
    # Avro timestamp-millis keeps milliseconds; truncating here makes a decoded copy equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def new_meta(
    event: type[Record] | str,
    *,
    source: str,
    subject: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    traceparent: str | None = None,
) -> EventMeta:
    """A fresh ``EventMeta`` for an event of class (or full name) ``event``.

    ``id`` is a new UUID4, ``time`` now (UTC, millisecond precision), ``type`` the event's Avro
    full name, and ``correlation_id`` defaults to the new id (this event starts a chain). To
    continue a chain pass the cause's ``correlation_id`` and its ``id`` as ``causation_id``.
    """
    # Imported here: agentstream.events is generated code that imports this module.
    from agentstream.events import EventMeta  # noqa: PLC0415

    type_name = event if isinstance(event, str) else event.FULLNAME
    event_id = str(uuid.uuid4())
    return EventMeta(
        id=event_id,
        type=type_name,
        source=source,
        subject=subject,
        time=_now_millis(),
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        traceparent=traceparent,
    )
