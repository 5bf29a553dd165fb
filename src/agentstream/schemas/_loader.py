"""Load the published ``.avsc`` contract and make self-contained schemas out of it.

Each file holds one top-level named type (file name = its Avro full name). Files refer to named
types defined in other files by full name (``"agentstream.meta.EventMeta"``), so ``EventMeta`` is
defined exactly once. Loading normalises every named definition to its full name and keeps a
table of them; ``SchemaSet.self_contained`` then rebuilds one schema with every referenced type
inlined at its first use, which is what a wire format, a registry or another language needs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastavro

from agentstream.errors import SchemaLoadError

__all__ = ["PRIMITIVES", "SchemaSet", "default_schema_set", "schema_dir", "strip_uuid"]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


def schema_dir() -> Path:
    """Where the contract lives: inside the installed package (wheel), else the repo's ``schemas/``.

    A wheel carries the files as ``agentstream/_avsc`` (hatch ``force-include``); an editable
    install runs from ``src/`` and finds the repository's ``schemas/`` three levels up.
    """
    packaged = resources.files("agentstream").joinpath("_avsc")
    if packaged.is_dir():
        return Path(str(packaged))
    repo = Path(__file__).resolve().parents[3] / "schemas"
    if repo.is_dir():
        return repo
    raise SchemaLoadError(
        f"no Avro schemas found (looked in {packaged} and {repo}); reinstall agentstream "
        "or run from a checkout that has a schemas/ directory"
    )


def _full(name: str, namespace: str) -> str:
    if name in PRIMITIVES or "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class SchemaSet:
    """A set of ``.avsc`` documents, with every named type indexed by its full name.

    ``sources`` maps a file name to its JSON text (so the same code reads the working tree and a
    ``git show`` of an older version). Raises ``SchemaLoadError`` naming the file on bad JSON or a
    named type defined twice differently.
    """

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.named: dict[str, dict[str, Any]] = {}
        self.origin: dict[str, str] = {}
        self.top_level: list[str] = []
        for file, text in sorted(sources.items()):
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SchemaLoadError(f"{file}: not valid JSON ({exc}); fix the file") from exc
            ref = self._normalise(doc, "", file)
            if isinstance(ref, str) and ref in self.named:
                self.top_level.append(ref)

    @classmethod
    def from_dir(cls, path: Path) -> SchemaSet:
        """Load every ``*.avsc`` file of a directory."""
        return cls({p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.avsc"))})

    def _normalise(self, node: Any, ns: str, file: str) -> Any:
        if isinstance(node, str):
            return _full(node, ns)
        if isinstance(node, list):
            return [self._normalise(n, ns, file) for n in node]
        if not isinstance(node, dict) or "type" not in node:
            raise SchemaLoadError(f"{file}: {node!r} is not an Avro schema; fix the file")
        kind = node["type"]
        if kind in _NAMED:
            name = str(node["name"])
            full = _full(name, str(node.get("namespace", ns)))
            inner_ns = full.rpartition(".")[0]
            out = {k: v for k, v in node.items() if k != "namespace"}
            out["name"] = full
            if kind in ("record", "error"):
                out["fields"] = [
                    {**f, "type": self._normalise(f["type"], inner_ns, file)}
                    for f in node["fields"]
                ]
            if full in self.named and self.named[full] != out:
                raise SchemaLoadError(
                    f"{file}: {full} is already defined differently in {self.origin[full]}; "
                    "define a named type once and refer to it by full name elsewhere"
                )
            self.named[full] = out
            self.origin.setdefault(full, file)
            return full
        out = dict(node)
        if kind == "array":
            out["items"] = self._normalise(node["items"], ns, file)
        elif kind == "map":
            out["values"] = self._normalise(node["values"], ns, file)
        elif isinstance(kind, str | list | dict) and kind not in PRIMITIVES:
            out["type"] = self._normalise(kind, ns, file)
        return out

    def records(self) -> Iterator[str]:
        """Full names of every record type, in name order."""
        return iter(sorted(n for n, d in self.named.items() if d["type"] in ("record", "error")))

    def self_contained(self, fullname: str) -> dict[str, Any]:
        """The schema of ``fullname`` with each referenced named type inlined at its first use."""
        if fullname not in self.named:
            raise SchemaLoadError(
                f"no Avro type named {fullname!r}; known: {', '.join(sorted(self.named))}"
            )
        result = self._inline(fullname, set())
        assert isinstance(result, dict)
        return result

    def _inline(self, node: Any, seen: set[str]) -> Any:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            if node not in self.named:
                raise SchemaLoadError(
                    f"unknown Avro type {node!r} (referenced from {sorted(seen)}); define it in "
                    "schemas/ or fix the reference (use full names across files)"
                )
            if node in seen:
                return node
            seen.add(node)
            d = copy.deepcopy(self.named[node])
            if "fields" in d:
                d["fields"] = [{**f, "type": self._inline(f["type"], seen)} for f in d["fields"]]
            return d
        if isinstance(node, list):
            return [self._inline(n, seen) for n in node]
        out = dict(node)
        if node["type"] == "array":
            out["items"] = self._inline(node["items"], seen)
        elif node["type"] == "map":
            out["values"] = self._inline(node["values"], seen)
        elif node["type"] not in PRIMITIVES:
            out["type"] = self._inline(node["type"], seen)
        return out

    def validate(self) -> None:
        """Parse every record's self-contained schema with fastavro; raise ``SchemaLoadError``."""
        for name in self.records():
            try:
                fastavro.parse_schema(self.self_contained(name), {})
            except Exception as exc:
                raise SchemaLoadError(
                    f"{self.origin[name]}: {name} is not a valid Avro schema: {exc}"
                ) from exc


@cache
def default_schema_set() -> SchemaSet:
    """The contract this installation ships (loaded once per process)."""
    return SchemaSet.from_dir(schema_dir())


def strip_uuid(schema: Any) -> Any:
    """A copy of ``schema`` without ``uuid`` logical types.

    ``uuid`` is an annotation on ``string``; our Python types keep it a ``str``, so decoding
    without it avoids fastavro building ``uuid.UUID`` objects we would turn back into strings.
    It changes neither the Parsing Canonical Form nor schema resolution.
    """
    if isinstance(schema, list):
        return [strip_uuid(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("logicalType") == "uuid" and schema.get("type") == "string":
        return "string"
    out = dict(schema)
    if "fields" in out:
        out["fields"] = [{**f, "type": strip_uuid(f["type"])} for f in out["fields"]]
    for key in ("items", "values", "type"):
        if key in out and not isinstance(out[key], str):
            out[key] = strip_uuid(out[key])
    return out
