"""Generate ``agentstream/events`` record classes (frozen dataclasses) from the ``.avsc`` contract.

One module per Avro namespace (``_gen_<namespace>.py``) plus ``_generated.py``, which gathers
them and maps full names to classes (``RECORDS``); modules stay small and a domain's classes sit
together. The ``.avsc`` files stay the single source of truth: the generated modules are
committed so that readers and type checkers see real classes, and a unit test fails when they
differ from what this generator produces from the current schemas (run ``agentstream schemas
codegen`` to refresh them).
Enums become ``StrEnum`` (members upper-cased, values = the Avro symbols), arrays ``tuple``,
maps ``dict``, ``uuid`` strings ``str``, ``timestamp-millis`` tz-aware UTC ``datetime``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agentstream.errors import SchemaLoadError
from agentstream.schemas._loader import PRIMITIVES, SchemaSet

__all__ = ["GENERATED_DIR", "GENERATED_PATH", "generate"]

GENERATED_DIR = Path(__file__).resolve().parents[1] / "events"
GENERATED_PATH = GENERATED_DIR / "_generated.py"

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


def _simple(full: str) -> str:
    return full.rpartition(".")[2]


class _Gen:
    def __init__(self, schemas: SchemaSet) -> None:
        self.s = schemas
        simple = [_simple(n) for n in schemas.named]
        dupes = {n for n in simple if simple.count(n) > 1}
        if dupes:
            raise SchemaLoadError(
                f"named types share a simple name {sorted(dupes)}; Python classes need unique "
                "simple names, rename one"
            )

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
            return _PY.get(t) or _simple(t)
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
        name = _simple(t if isinstance(t, str) else str(t.get("type")))
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
            return f"{_simple(name)}.{str(value).upper()}"
        if k == "array":
            if value and self.kind(t["items"]) in ("record", "enum"):
                raise SchemaLoadError(f"non-empty default {_q(value)} for an array of records")
            return repr(tuple(value))
        if k == "map":
            if value:
                raise SchemaLoadError(f"non-empty map default {_q(value)} is not supported")
            return "field(default_factory=dict)"
        if k in ("record", "bytes", "fixed"):
            raise SchemaLoadError(f"default {_q(value)} of type {k} is not supported by codegen")
        return _q(value) if isinstance(value, str) else repr(value)

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

    def ordered_records(self) -> list[str]:
        done: list[str] = []

        def visit(n: str) -> None:
            if n in done:
                return
            for d in self.deps(n):
                visit(d)
            done.append(n)

        for n in self.s.records():
            visit(n)
        return done

    def enum(self, full: str) -> list[str]:
        d = self.s.named[full]
        lines = [f"class {_simple(full)}(StrEnum):", f"    {_doc(d.get('doc', full))}", ""]
        lines += [f"    {sym.upper()} = {_q(sym)}" for sym in d["symbols"]]
        return [*lines, "", ""]

    def record(self, full: str) -> list[str]:
        d = self.s.named[full]
        cls = _simple(full)
        lines = [
            "@dataclass(frozen=True, kw_only=True)",
            f"class {cls}(Record):",
            f"    {_doc(d.get('doc', full))}",
            "",
            f"    FULLNAME: ClassVar[str] = {_q(full)}",
            f"    SCHEMA: ClassVar[dict[str, Any]] = schema_of({_q(full)})",
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
                src = f"data.get({_q(name)}, {dv})"
            else:
                lines.append(f"    {name}: {ann}")
                src = f"data[{_q(name)}]"
            if "doc" in f:
                lines.append(f"    {_doc(f['doc'])}")
            to_conv = self.to_avro(t, "self." + name)
            if to_conv != "self." + name:
                to_items.append(f"        data[{_q(name)}] = {to_conv}")
            item = f"data[{_q(name)}]"
            adopt = self.from_avro(t, "v", method="adopt_avro")
            if adopt.startswith("None if v is None"):
                adopt = adopt.replace("None if v is None", f"None if (v := {item}) is None", 1)
                adopt_items.append(f"        {item} = {adopt}")
            elif adopt != "v":
                adopt = self.from_avro(t, item, method="adopt_avro")
                adopt_items.append(f"        {item} = {adopt}")
            conv = self.from_avro(t, "v")
            if conv == "v":
                from_items.append(f"            {_q(name)}: {src},")
            elif conv.startswith("None if v is None"):
                # Evaluate the lookup once and bind it, then convert when not null.
                walrus = conv.replace("None if v is None", f"None if (v := {src}) is None", 1)
                from_items.append(f"            {_q(name)}: {walrus},")
            else:
                from_items.append(f"            {_q(name)}: {self.from_avro(t, src)},")
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


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _doc(text: str) -> str:
    text = " ".join(str(text).split())
    return json.dumps(text, ensure_ascii=False)


_HEADER = '''"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

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
{imports}
# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

'''


# A JSON string literal as _q/_doc write them (docs, names, schema keys).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _module(full: str) -> str:
    """``agentstream.events.code.PullRequestOpened`` -> ``_gen_events_code``."""
    namespace = full.rpartition(".")[0]
    parts = namespace.split(".")
    if parts[0] == "agentstream" and len(parts) > 1:
        parts = parts[1:]
    return "_gen_" + "_".join(parts)


_INDEX_HEADER = '''"""Every record class generated from ``schemas/*.avsc``, and ``RECORDS``.

DO NOT EDIT.

Regenerate with ``agentstream schemas codegen``; the classes live in one ``_gen_*`` module per
Avro namespace.
"""

from __future__ import annotations

from agentstream.schemas import Record'''


def generate(schemas: SchemaSet) -> dict[str, str]:
    """File name -> source text of every generated module for ``schemas``."""
    gen = _Gen(schemas)
    enums = sorted(n for n, d in schemas.named.items() if d["type"] == "enum")
    records = gen.ordered_records()
    owner = {_simple(n): _module(n) for n in [*enums, *records]}
    bodies: dict[str, list[str]] = {}
    for e in enums:
        bodies.setdefault(_module(e), []).extend(gen.enum(e))
    for r in records:
        bodies.setdefault(_module(r), []).extend(gen.record(r))
    files: dict[str, str] = {}
    for module, body in sorted(bodies.items()):
        mine = sorted(n for n, m in owner.items() if m == module)
        text = "\n".join(body)
        code = _STRING.sub('""', text)  # docs may name other types: only code needs imports
        imports: dict[str, list[str]] = {}
        for name, other in sorted(owner.items()):
            if other != module and re.search(rf"\b{name}\b", code):
                imports.setdefault(other, []).append(name)
        head = [f"from agentstream.events.{m} import {', '.join(ns)}" for m, ns in imports.items()]
        exports = ["__all__ = [", *(f"    {_q(n)}," for n in mine), "]", "", ""]
        files[f"{module}.py"] = (
            _HEADER.replace("{imports}", "\n".join(head) + ("\n" if head else ""))
            + "\n".join(exports + body)
            + "\n"
        )
    names = sorted(owner)
    index = [_INDEX_HEADER]
    for module in sorted(bodies):
        mine = sorted(n for n, m in owner.items() if m == module)
        index.append(f"from agentstream.events.{module} import {', '.join(mine)}")
    index += ["", "__all__ = [", *(f"    {_q(n)}," for n in ["RECORDS", *names]), "]", ""]
    index.append("RECORDS: dict[str, type[Record]] = {")
    index += [f"    {_q(r)}: {_simple(r)}," for r in sorted(records)]
    index.append("}")
    files[GENERATED_PATH.name] = "\n".join(index) + "\n"
    return files
