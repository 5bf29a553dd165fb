"""Allocation-light Avro body encoding/decoding shared by both wire formats.

fastavro's public ``schemaless_writer``/``schemaless_reader`` re-check the parsed schema, build an
options dict and (writer) a scratch buffer on every call, and the reader compares writer and
reader schemas structurally each time. Both delegate to compiled ``write_data``/``_read_data``;
we call those with everything prepared once per schema (``Body``). At import, a probe checks the
internals still behave exactly like the public functions; if fastavro changed them, every call
goes through the public API instead (same bytes, only slower).
"""

from __future__ import annotations

import io
from typing import Any, TypeVar

import fastavro
from fastavro import schemaless_reader, schemaless_writer

from agentstream.errors import DecodeError
from agentstream.schemas import Record

__all__ = ["FAST_PATH", "Body", "BodyError", "decode_record"]

R = TypeVar("R", bound=Record)

_WRITE_OPTIONS = {"strict": False, "strict_allow_default": False, "disable_tuple_notation": False}
_READ_OPTIONS = {
    "return_record_name": False,
    "return_record_name_override": False,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}


class Body:
    """A parsed writer schema (and optional reader schema) ready for repeated use.

    ``reader`` None means "read with the writer schema" (no resolution: the fast path when the
    writer schema is the reader class's own).
    """

    __slots__ = ("read_named", "reader", "write_named", "writer")

    def __init__(self, writer: Any, reader: Any = None) -> None:
        self.write_named: dict[str, Any] = {}
        self.writer = fastavro.parse_schema(writer, self.write_named)
        reader_named: dict[str, Any] = {}
        self.reader = None if reader is None else fastavro.parse_schema(reader, reader_named)
        self.read_named = {"writer": self.write_named, "reader": reader_named}

    def write(self, buf: bytearray, datum: Any) -> None:
        """Append the Avro encoding of ``datum`` to ``buf``."""
        if FAST_PATH:  # _fast_write, inlined: this is the per-message path
            _write_data(buf, datum, self.writer, self.write_named, "", _WRITE_OPTIONS)
        else:
            _public_write(buf, datum, self)

    def read(self, data: bytes, start: int) -> Any:
        """The datum in ``data[start:]``, which must use exactly those bytes.

        Raises ``BodyError`` (reason ``truncated`` or ``corrupt``) otherwise.
        """
        fo = io.BytesIO(data)
        fo.seek(start)
        try:
            if FAST_PATH:  # _fast_read, inlined
                value = _read_data(fo, self.writer, self.read_named, self.reader, _READ_OPTIONS)
            else:
                value = _public_read(fo, self)
        except Exception as exc:
            # Running out of bytes shows up as EOFError or, in fastavro's C reader, IndexError
            # with the position at the end.
            short = isinstance(exc, EOFError) or fo.tell() >= len(data)
            raise BodyError("truncated" if short else "corrupt", repr(exc)) from exc
        end = fo.tell()
        if end != len(data):
            raise BodyError("corrupt", f"{len(data) - end} bytes left after the body")
        return value


class BodyError(Exception):
    """An Avro body did not decode; the serdes turn it into a ``DecodeError`` with the position."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def decode_record(
    cls: type[R], body: Body, data: bytes, start: int, where: tuple[str, int, int]
) -> R:
    """Read the Avro body at ``data[start:]`` into a record of ``cls`` (shared by both formats).

    ``where`` is ``(topic, partition, offset)`` for the ``DecodeError`` a bad body raises.
    """
    try:
        value = body.read(data, start)
    except BodyError as exc:
        raise DecodeError(*where, exc.reason, f"{cls.FULLNAME} body: {exc.detail}") from exc
    return cls.adopt_avro(value)


def _fast_write(buf: bytearray, datum: Any, body: Body) -> None:
    _write_data(buf, datum, body.writer, body.write_named, "", _WRITE_OPTIONS)


def _fast_read(fo: io.BytesIO, body: Body) -> Any:
    return _read_data(fo, body.writer, body.read_named, body.reader, _READ_OPTIONS)


def _public_write(buf: bytearray, datum: Any, body: Body) -> None:
    out = io.BytesIO()
    schemaless_writer(out, body.writer, datum)
    buf += out.getvalue()


def _public_read(fo: io.BytesIO, body: Body) -> Any:
    return schemaless_reader(fo, body.writer, body.reader)


def _internals_work() -> bool:
    """True when fastavro's compiled internals match its public functions on a probe schema."""
    enum = {"type": "enum", "name": "n.E", "symbols": ["A", "B"]}
    inner = {"type": "record", "name": "n.I", "fields": [{"name": "e", "type": enum}]}
    v1 = {
        "type": "record",
        "name": "n.R",
        "fields": [
            {"name": "i", "type": inner},
            {"name": "j", "type": ["null", "n.I"], "default": None},
            {"name": "s", "type": {"type": "array", "items": "string"}},
            {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        ],
    }
    v2 = {**v1, "fields": [*v1["fields"], {"name": "x", "type": "int", "default": 7}]}
    datum = {"i": {"e": "B"}, "j": {"e": "A"}, "s": ("a", "b"), "t": 1_700_000_000_000}
    try:
        same, resolved = Body(v1), Body(v1, v2)
        expected = io.BytesIO()
        schemaless_writer(expected, same.writer, datum)
        buf = bytearray(b"hdr")
        _fast_write(buf, datum, same)
        if bytes(buf) != b"hdr" + expected.getvalue():
            return False
        fo = io.BytesIO(bytes(buf))
        fo.seek(3)
        got = _fast_read(fo, same)
        fo2 = io.BytesIO(bytes(buf))
        fo2.seek(3)
        got2 = _fast_read(fo2, resolved)
        want = schemaless_reader(io.BytesIO(expected.getvalue()), same.writer, None)
        want2: Any = schemaless_reader(
            io.BytesIO(expected.getvalue()), same.writer, resolved.reader
        )
        return got == want and got2 == want2 and fo.tell() == len(buf) and want2["x"] == 7
    except Exception:
        return False


_write_data: Any = None
_read_data: Any = None
try:
    from fastavro import _read as _fastavro_read
    from fastavro import _write as _fastavro_write

    _write_data = getattr(_fastavro_write, "write_data", None)
    _read_data = getattr(_fastavro_read, "_read_data", None)
except ImportError:  # an unusual fastavro build: stay on the public API
    pass
FAST_PATH = bool(_write_data and _read_data and _internals_work())
"""Whether the compiled internals are in use (else the public API; the benchmark prints it)."""
