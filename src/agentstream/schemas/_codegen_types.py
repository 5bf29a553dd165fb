"""Avro types to Python source: annotations, conversions and the text of one class.

``_codegen`` assembles these pieces into modules; this module knows nothing about files.
Enums become ``StrEnum`` (members upper-cased, values = the Avro symbols), arrays ``tuple``,
maps ``dict``, ``uuid`` strings ``str``, ``timestamp-millis`` tz-aware UTC ``datetime``.
"""

from __future__ import annotations

import json
from typing import Any

from agentstream.errors import SchemaLoadError
from agentstream.schemas._loader import PRIMITIVES, SchemaSet

__all__ = ["TypeWriter", "quote", "simple_name"]

_PY = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}

# Methods of the generated classes' base: a field of the same name would hide them.
_RECORD_METHODS = frozenset({"replace", "to_avro", "from_avro", "adopt_avro"})


def simple_name(full: str) -> str:
    """``a.b.Name`` -> ``Name``."""
    return full.rpartition(".")[2]


class TypeWriter:
    """Writes the Python source of the named types of ``schemas`` (one class at a time)."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.s = schemas

    def kind(self, t: Any) -> str:
        if isinstance(t, str):
            return t if t in PRIMITIVES else str(self.s.named[t]["type"])
        if isinstance(t, list):
            return "union"
        return str(t["type"]) if t["type"] in ("array", "map") else self.kind(t["type"])

    def nullable(self, t: Any) -> Any | None:
        """The non-null branch of a ``["null", X]`` union, else None."""
        if isinstance(t, list) and len(t) == 2 and "null" in t:
            return t[1] if t[0] == "null" else t[0]
        if isinstance(t, list):
            raise SchemaLoadError(f"union {t} unsupported: only [null, X] unions are generated")
        return None

    def annotation(self, t: Any) -> str:
        inner = self.nullable(t)
        if inner is not None:
            return f"{self.annotation(inner)} | None"
        if isinstance(t, str):
            return _PY.get(t) or simple_name(t)
        if t["type"] == "array":
            return f"tuple[{self.annotation(t['items'])}, ...]"
        if t["type"] == "map":
            return f"dict[str, {self.annotation(t['values'])}]"
        if t.get("logicalType") == "timestamp-millis":
            return "datetime"
        return self.annotation(t["type"])

    def to_avro(self, t: Any, v: str, depth: int = 0) -> str:
        inner = self.nullable(t)
        if inner is not None:
            conv = self.to_avro(inner, v, depth)
            return conv if conv == v else f"None if {v} is None else {conv}"
        k = self.kind(t)
        x = f"x{depth}"
        if k == "record":
            return f"{v}.to_avro()"
        if k == "array":
            conv = self.to_avro(t["items"], x, depth + 1)
            return v if conv == x else f"[{conv} for {x} in {v}]"
        if k == "map":
            conv = self.to_avro(t["values"], x, depth + 1)
            return v if conv == x else f"{{k{depth}: {conv} for k{depth}, {x} in {v}.items()}}"
        return v

    def from_avro(self, t: Any, v: str, depth: int = 0, *, method: str = "from_avro") -> str:
        inner = self.nullable(t)
        if inner is not None:
            conv = self.from_avro(inner, v, depth, method=method)
            return conv if conv == v else f"None if {v} is None else {conv}"
        k = self.kind(t)
        x = f"x{depth}"
        name = simple_name(t if isinstance(t, str) else str(t.get("type")))
        if k == "record":
            return f"{name}.{method}({v})"
        if k == "enum":
            return f"{name}({v})"
        if k == "array":
            conv = self.from_avro(t["items"], x, depth + 1, method=method)
            return f"tuple({v})" if conv == x else f"tuple({conv} for {x} in {v})"
        if k == "map":
            conv = self.from_avro(t["values"], x, depth + 1, method=method)
            return v if conv == x else f"{{k{depth}: {conv} for k{depth}, {x} in {v}.items()}}"
        return v

    def default(self, t: Any, value: Any) -> str:
        inner = self.nullable(t)
        if value is None:
            return "None"
        if inner is not None:
            t = inner
        k = self.kind(t)
        if k == "enum":
            name = t if isinstance(t, str) else t["type"]
            return f"{simple_name(name)}.{str(value).upper()}"
        if k == "array":
            if value and self.kind(t["items"]) in ("record", "enum"):
                raise SchemaLoadError(f"non-empty default {quote(value)} for an array of records")
            return repr(tuple(value))
        if k == "map":
            if value:
                raise SchemaLoadError(f"non-empty map default {quote(value)} is not supported")
            return "field(default_factory=dict)"
        if k in ("record", "bytes", "fixed"):
            raise SchemaLoadError(f"default {quote(value)} of type {k} is not supported by codegen")
        return quote(value) if isinstance(value, str) else repr(value)

    def deps(self, full: str) -> list[str]:
        out: list[str] = []

        def walk(t: Any) -> None:
            if isinstance(t, str):
                if t in self.s.named and self.s.named[t]["type"] == "record":
                    out.append(t)
            elif isinstance(t, list):
                for b in t:
                    walk(b)
            else:
                walk(t.get("items", t.get("values", t["type"])))

        for f in self.s.named[full]["fields"]:
            walk(f["type"])
        return out

    def ordered_records(self, only: frozenset[str] | None = None) -> list[str]:
        """Record full names, each after the records it uses (restricted to ``only``)."""
        done: list[str] = []

        def visit(n: str) -> None:
            if n in done or (only is not None and n not in only):
                return
            for d in self.deps(n):
                visit(d)
            done.append(n)

        for n in self.s.records():
            visit(n)
        return done

    def enum(self, full: str) -> list[str]:
        d = self.s.named[full]
        lines = [f"class {simple_name(full)}(StrEnum):", f"    {_doc(d.get('doc', full))}", ""]
        lines += [f"    {sym.upper()} = {quote(sym)}" for sym in d["symbols"]]
        return [*lines, "", ""]

    def record(self, full: str) -> list[str]:
        d = self.s.named[full]
        cls = simple_name(full)
        lines = [
            "@dataclass(frozen=True, kw_only=True)",
            f"class {cls}(Record):",
            f"    {_doc(d.get('doc', full))}",
            "",
            f"    FULLNAME: ClassVar[str] = {quote(full)}",
            f"    SCHEMA: ClassVar[dict[str, Any]] = schema_of({quote(full)})",
            "",
        ]
        to_items, from_items, adopt_items = [], [], []
        for f in d["fields"]:
            name, t = f["name"], f["type"]
            if name in _RECORD_METHODS:
                raise SchemaLoadError(
                    f"{full}: field name {name!r} would hide Record.{name}(); rename the field"
                )
            ann = self.annotation(t)
            if "default" in f:
                lines.append(f"    {name}: {ann} = {self.default(t, f['default'])}")
                dv = self.default(t, f["default"])
                dv = "{}" if dv.startswith("field(") else dv
                src = f"data.get({quote(name)}, {dv})"
            else:
                lines.append(f"    {name}: {ann}")
                src = f"data[{quote(name)}]"
            if "doc" in f:
                lines.append(f"    {_doc(f['doc'])}")
            to_conv = self.to_avro(t, "self." + name)
            if to_conv != "self." + name:
                to_items.append(f"        data[{quote(name)}] = {to_conv}")
            item = f"data[{quote(name)}]"
            adopt = self.from_avro(t, "v", method="adopt_avro")
            if adopt.startswith("None if v is None"):
                adopt = adopt.replace("None if v is None", f"None if (v := {item}) is None", 1)
                adopt_items.append(f"        {item} = {adopt}")
            elif adopt != "v":
                adopt = self.from_avro(t, item, method="adopt_avro")
                adopt_items.append(f"        {item} = {adopt}")
            conv = self.from_avro(t, "v")
            if conv == "v":
                from_items.append(f"            {quote(name)}: {src},")
            elif conv.startswith("None if v is None"):
                # Evaluate the lookup once and bind it, then convert when not null.
                walrus = conv.replace("None if v is None", f"None if (v := {src}) is None", 1)
                from_items.append(f"            {quote(name)}: {walrus},")
            else:
                from_items.append(f"            {quote(name)}: {self.from_avro(t, src)},")
        # The instance dict holds exactly the fields, so to_avro is a shallow copy with nested
        # records turned into dicts; adopt_avro takes over the (fresh, complete) dict fastavro
        # decoded, converting only what differs from the Avro form.
        lines += [
            "",
            "    def to_avro(self) -> dict[str, Any]:",
            *(["        data = self.__dict__.copy()", *to_items, "        return data"]
              if to_items else ["        return self.__dict__.copy()"]),
            "",
            "    @classmethod",
            "    def from_avro(cls, data: Mapping[str, Any]) -> Self:",
            "        obj = _new(cls)",
            "        _set(obj, \"__dict__\", {",
            *from_items,
            "        })",
            "        return obj",
            "",
            "    @classmethod",
            "    def adopt_avro(cls, data: dict[str, Any]) -> Self:",
            *adopt_items,
            "        obj = _new(cls)",
            "        _set(obj, \"__dict__\", data)",
            "        return obj",
        ]
        return [*lines, "", ""]


def quote(value: object) -> str:
    """A JSON string (also a valid Python literal) of ``value``."""
    return json.dumps(value, ensure_ascii=False)


def _doc(text: str) -> str:
    text = " ".join(str(text).split())
    return json.dumps(text, ensure_ascii=False)
