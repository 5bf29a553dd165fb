"""Generate record classes (frozen dataclasses) from ``.avsc`` files.

Two targets. ``generate`` writes the shipped contract into ``agentstream/events``;
``generate_package`` writes a project's *own* schemas into the project's own package, importing
the AgentStream types its schemas refer to (``agentstream.meta.EventMeta``, ...) from
``agentstream.events`` instead of generating them again.

One module per Avro namespace (``_gen_<namespace>.py``), split into ``_gen_<namespace>_2.py``, ...
once a namespace passes ``MODULE_LINES`` lines, plus an index module ``_generated.py`` that
gathers them and maps full names to classes (``RECORDS``). The ``.avsc`` files stay the single
source of truth: the generated modules are committed so that readers and type checkers see real
classes, and ``agentstream schemas codegen --check`` (a unit test for the shipped contract) fails
when they differ from what this generator produces from the current schemas.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentstream.errors import SchemaLoadError
from agentstream.schemas._codegen_types import TypeWriter, quote, simple_name
from agentstream.schemas._loader import SchemaSet

__all__ = [
    "CONTRACT_MODULE",
    "GENERATED_DIR",
    "GENERATED_PATH",
    "MODULE_LINES",
    "generate",
    "generate_package",
]

GENERATED_DIR = Path(__file__).resolve().parents[1] / "events"
GENERATED_PATH = GENERATED_DIR / "_generated.py"
# A namespace's classes are split over several modules once one module would pass this.
MODULE_LINES = 600
# A project's package: the self-contained schema of each of its records (no schema files needed
# at run time).
CONTRACT_MODULE = "_contract"
_SHIPPED = "agentstream.events"


@dataclass(frozen=True)
class _Layout:
    package: str  # import path of the package written
    base_imports: str  # the lines importing Record and schema_of
    regenerate: str  # the command that regenerates it
    user: bool


_USER_REGENERATE = "agentstream schemas codegen --dir <schemas> --out <this package>"
_SHIPPED_LAYOUT = _Layout(
    package=_SHIPPED,
    base_imports="from agentstream.schemas import Record, schema_of",
    regenerate="agentstream schemas codegen",
    user=False,
)

_HEADER = '''"""Record classes generated from the Avro contract in ``schemas/*.avsc``. DO NOT EDIT.

{regenerate_line}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self

{base_imports}
{imports}
# from_avro fills the instance dict directly: a frozen dataclass __init__ costs one
# object.__setattr__ per field, which dominated decoding (values are complete and converted here).
_new = object.__new__
_set = object.__setattr__

'''
_SHIPPED_REGENERATE_LINE = (
    "Regenerate with ``agentstream schemas codegen`` after changing a schema; "
    "a unit test fails when\nthis file is out of date."
)
_USER_REGENERATE_LINE = (
    "Regenerate with\n``{regenerate}``\nafter changing a schema; the same command with ``--check`` "
    "fails when this file is\nout of date."
)
# What a module adds around its classes: the header above and the lines of ``__all__``.
_HEADER_LINES = 25

# A JSON string literal as quote/_doc write them (docs, names, schema keys).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _module(full: str) -> str:
    """``agentstream.events.code.PullRequestOpened`` -> ``_gen_events_code``."""
    namespace = full.rpartition(".")[0]
    parts = namespace.split(".")
    if parts[0] == "agentstream" and len(parts) > 1:
        parts = parts[1:]
    return "_gen_" + "_".join(parts)


_Piece = tuple[str, list[str]]  # a class's simple name and its source lines


def _split(pieces: list[_Piece], limit: int) -> list[list[_Piece]]:
    """``pieces`` (in dependency order) cut into the fewest runs of similar size that each stay
    under ``limit`` lines with their module header; a single class longer than that stays whole.
    """
    sizes = [len(lines) + 1 for _, lines in pieces]  # +1: its line in __all__
    total = sum(sizes)
    parts = max(1, math.ceil((total + _HEADER_LINES) / limit))
    while True:
        cuts = [0]
        ends = list(itertools.accumulate(sizes))
        for k in range(1, parts):
            goal = total * k / parts
            best = min(range(1, len(pieces)), key=lambda i: abs(ends[i - 1] - goal), default=0)
            if best > cuts[-1]:
                cuts.append(best)
        cuts.append(len(pieces))
        runs = [pieces[a:b] for a, b in itertools.pairwise(cuts) if b > a]
        biggest = max(sum(sizes[a:b]) for a, b in itertools.pairwise(cuts))
        if biggest + _HEADER_LINES <= limit or parts >= len(pieces):
            return runs
        parts += 1


def generate(schemas: SchemaSet, *, module_lines: int = MODULE_LINES) -> dict[str, str]:
    """File name -> source text of every module of ``agentstream/events`` for ``schemas``."""
    own = frozenset(schemas.named)
    return _emit(schemas, own, _SHIPPED_LAYOUT, module_lines=module_lines)


def generate_package(
    schemas: SchemaSet,
    *,
    own: Iterable[str],
    package: str,
    module_lines: int = MODULE_LINES,
) -> dict[str, str]:
    """File name -> source text of a project's own record package.

    ``schemas`` holds the shipped contract and the project's files; classes are generated for the
    named types in ``own`` (the project's), into the package importable as ``package``. Types of
    AgentStream's contract that they refer to are imported from ``agentstream.events``. The
    package's ``__init__`` exports every class and ``RECORDS``, and registers the records with
    ``agentstream.schemas.register_records`` so that the serdes decode them.
    """
    own = frozenset(own)
    ours = sorted(n for n in own if n == "agentstream" or n.startswith("agentstream."))
    if ours:
        raise SchemaLoadError(
            f"{', '.join(ours)}: the agentstream namespace belongs to AgentStream's own contract; "
            "put your types in a namespace of your own (e.g. acme.events)"
        )
    if not all(part.isidentifier() for part in package.split(".")):
        raise SchemaLoadError(f"{package!r} is not an importable package name; pass --package")
    layout = _Layout(
        package=package,
        base_imports=(
            "from agentstream.schemas import Record\n"
            f"from {package}.{CONTRACT_MODULE} import schema_of"
        ),
        regenerate=_USER_REGENERATE,
        user=True,
    )
    files = _emit(schemas, own, layout, module_lines=module_lines)
    records = [n for n in sorted(own) if n in set(schemas.records())]
    files[f"{CONTRACT_MODULE}.py"] = _contract(schemas, records, _USER_REGENERATE)
    files["__init__.py"] = _package_init(package, _USER_REGENERATE)
    return files


def _check_names(own: frozenset[str], referenced: set[str], schemas: SchemaSet) -> None:
    simple = [simple_name(n) for n in own if n in schemas.named]
    dupes = {n for n in simple if simple.count(n) > 1} | (set(simple) & referenced)
    if dupes:
        raise SchemaLoadError(
            f"named types share a simple name {sorted(dupes)}; Python classes need unique "
            "simple names, rename one"
        )


def _import_block(layout: _Layout, imports: dict[str, list[str]]) -> str:
    """The import lines after the standard library's (and a blank line)."""
    head = [f"from {m} import {', '.join(ns)}" for m, ns in imports.items()]
    if not layout.user:  # the shipped modules' order, as before the split
        return "\n".join([layout.base_imports, *head]) + "\n"
    # A project's: AgentStream's imports, a blank line, the project's own (isort's sections).
    lines = [*layout.base_imports.splitlines(), *head]
    theirs = sorted(line for line in lines if line.startswith("from agentstream."))
    ours = sorted(line for line in lines if not line.startswith("from agentstream."))
    return "\n".join(theirs) + "\n\n" + "\n".join(ours) + "\n"


def _emit(
    schemas: SchemaSet, own: frozenset[str], layout: _Layout, *, module_lines: int
) -> dict[str, str]:
    gen = TypeWriter(schemas)
    enums = sorted(n for n in own if schemas.named[n]["type"] == "enum")
    records = gen.ordered_records(own)
    # AgentStream's types that the generated ones use: imported, so no simple name may clash.
    external = {simple_name(n) for n in _reachable(schemas, sorted(own)) if n not in own}
    _check_names(own, external, schemas)
    by_namespace: dict[str, list[_Piece]] = {}
    for e in enums:
        by_namespace.setdefault(_module(e), []).append((simple_name(e), gen.enum(e)))
    for r in records:
        by_namespace.setdefault(_module(r), []).append((simple_name(r), gen.record(r)))
    modules: dict[str, list[_Piece]] = {}
    for base, pieces in sorted(by_namespace.items()):
        for i, run in enumerate(_split(pieces, module_lines)):
            modules[base if i == 0 else f"{base}_{i + 1}"] = run
    owner = {name: module for module, run in modules.items() for name, _ in run}
    files: dict[str, str] = {}
    for module, run in sorted(modules.items()):
        mine = sorted(name for name, _ in run)
        body = [line for _, lines in run for line in lines]
        code = _STRING.sub('""', "\n".join(body))  # docs may name other types: only code counts
        imports: dict[str, list[str]] = {}
        for name, other in sorted(owner.items()):
            if other != module and re.search(rf"\b{name}\b", code):
                imports.setdefault(f"{layout.package}.{other}", []).append(name)
        for name in sorted(external):
            if re.search(rf"\b{name}\b", code):
                imports.setdefault(_SHIPPED, []).append(name)
        exports = ["__all__ = [", *(f"    {quote(n)}," for n in mine), "]", "", ""]
        header = (
            _HEADER.replace(
                "{regenerate_line}",
                _USER_REGENERATE_LINE.replace("{regenerate}", layout.regenerate)
                if layout.user else _SHIPPED_REGENERATE_LINE,
            )
            .replace("{base_imports}\n{imports}", _import_block(layout, imports))
        )
        files[f"{module}.py"] = header + "\n".join(exports + body) + "\n"
    files[GENERATED_PATH.name] = _index(modules, records, layout)
    return files


_INDEX_HEADER = '''"""Every record class generated from ``schemas/*.avsc``, and ``RECORDS``.

DO NOT EDIT.

Regenerate with ``{regenerate}``; the classes live in the ``_gen_*`` modules,
one per Avro namespace (split into several past 600 lines).
"""

from __future__ import annotations
'''


def _index(modules: dict[str, list[_Piece]], records: list[str], layout: _Layout) -> str:
    header = _INDEX_HEADER
    if layout.user:  # a longer command: on a line of its own
        header = header.replace("with ``{regenerate}``; ", "with\n``{regenerate}``;\n")
    index = [header.replace("{regenerate}", layout.regenerate)]
    if layout.user:
        index.append("from agentstream.schemas import Record, register_records\n")
    else:
        index.append("from agentstream.schemas import Record")
    names: list[str] = []
    for module, run in sorted(modules.items()):
        mine = sorted(name for name, _ in run)
        names += mine
        index.append(f"from {layout.package}.{module} import {', '.join(mine)}")
    exports = ["RECORDS", *sorted(names)]
    index += ["", "__all__ = [", *(f"    {quote(n)}," for n in exports), "]", ""]
    index.append("RECORDS: dict[str, type[Record]] = {")
    index += [f"    {quote(r)}: {simple_name(r)}," for r in sorted(records)]
    index.append("}")
    if layout.user:
        index += ["", "# The serdes (and so every agent in this process) decode these records.",
                  "register_records(RECORDS)"]
    return "\n".join(index) + "\n"


def _reachable(schemas: SchemaSet, roots: list[str]) -> list[str]:
    """``roots`` and every named type they use, directly or not (sorted)."""
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            if node in schemas.named and node not in seen:
                seen.add(node)
                for f in schemas.named[node].get("fields", ()):
                    walk(f["type"])
        elif isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            walk(node.get("items", node.get("values", node.get("type"))))

    for root in roots:
        walk(root)
    return sorted(seen)


def _definition(d: dict[str, Any]) -> list[str]:
    """A named type's JSON as the .avsc files are written: one line per record field."""
    if "fields" not in d:
        return [quote(d)]
    head = quote({k: v for k, v in d.items() if k != "fields"})[:-1]
    fields = [f"  {quote(f)}," for f in d["fields"]]
    fields[-1] = fields[-1][:-1]
    return [f'{head}, "fields": [', *fields, "]}"]


def _contract(schemas: SchemaSet, records: list[str], regenerate: str) -> str:
    lines = [
        '"""The Avro schemas of this package\'s records. DO NOT EDIT.',
        "",
        f"Generated by ``{regenerate}``",
        "from the project's ``.avsc`` files, with the definitions of the AgentStream types they",
        "use (each once), so no schema file is read at run time. ``schema_of`` inlines them.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from agentstream.schemas import SchemaSet",
        "",
        '__all__ = ["schema_of"]',
        "",
        "# Full name -> definition (JSON escapes every quote, so no text can close the literal).",
        "_TYPES = SchemaSet({",
    ]
    for name in _reachable(schemas, records):
        text = _definition(schemas.named[name])
        assert not any('"""' in line for line in text)
        lines += [f'    {quote(name)}: r"""', *text, '""",']
    lines += [
        "})",
        "",
        "",
        "def schema_of(fullname: str) -> dict[str, Any]:",
        '    """The self-contained schema JSON of the record ``fullname`` (a fresh copy)."""',
        "    return _TYPES.self_contained(fullname)",
    ]
    return "\n".join(lines) + "\n"


def _package_init(package: str, regenerate: str) -> str:
    return (
        f'"""Record classes of this project\'s own Avro schemas. DO NOT EDIT.\n\n'
        f"Generated by ``{regenerate}``. Import the classes from here by\n"
        f"their simple name; ``RECORDS`` maps each Avro full name to its class. Importing this\n"
        'package registers the records with ``agentstream.schemas.register_records``.\n"""\n\n'
        "from __future__ import annotations\n\n"
        f"from {package}._generated import *  # noqa: F403\n"
        f"from {package}._generated import __all__ as __all__\n"
    )
