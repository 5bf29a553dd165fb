"""A project's own schemas directory, read together with the contract AgentStream ships.

A project's ``.avsc`` files refer to AgentStream's types by full name (every event's first field
is ``agentstream.meta.EventMeta``), so they are loaded on top of the shipped contract; the
project's *own* types are the named types its files define.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeGuard

from agentstream.errors import SchemaLoadError
from agentstream.schemas._loader import SchemaSet, schema_dir

__all__ = ["is_project_dir", "load_project", "package_of", "project_set", "read_dir"]


def read_dir(directory: Path) -> dict[str, str]:
    """File name -> text of every ``*.avsc`` file of ``directory``."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.avsc"))}


def is_project_dir(directory: Path | None) -> TypeGuard[Path]:
    """Whether ``directory`` holds a project's own schemas rather than AgentStream's contract
    (the shipped one, or a checkout's copy of it: files named ``agentstream.*.avsc``)."""
    if directory is None or directory.resolve() == schema_dir().resolve():
        return False
    return not any(p.name.startswith("agentstream.") for p in directory.glob("*.avsc"))


def project_set(sources: Mapping[str, str]) -> tuple[SchemaSet, frozenset[str]]:
    """The shipped contract plus ``sources``, and the full names ``sources`` define.

    Raises ``SchemaLoadError`` naming the file when a project file redefines a shipped type.
    """
    own = frozenset(SchemaSet(sources).named)
    shipped = read_dir(schema_dir())
    clash = sorted(set(shipped) & set(sources))
    if clash:
        raise SchemaLoadError(
            f"{', '.join(clash)}: AgentStream's contract has a file of that name; refer to its "
            "types by full name instead of copying them into your schemas directory"
        )
    return SchemaSet({**shipped, **sources}), own


def load_project(directory: Path) -> tuple[SchemaSet, frozenset[str]]:
    """``project_set`` of a directory, validated (every record parses with fastavro)."""
    if not directory.is_dir():
        raise SchemaLoadError(f"{directory} is not a directory; pass --dir <your schemas dir>")
    sources = read_dir(directory)
    if not sources:
        raise SchemaLoadError(f"no *.avsc files in {directory}; pass the directory that holds them")
    schemas, own = project_set(sources)
    schemas.validate()
    return schemas, own


def package_of(out: Path) -> str:
    """The import path of the package directory ``out``: its name, preceded by the names of the
    directories above it that hold an ``__init__.py`` (``src/acme/events`` -> ``acme.events``)."""
    out = out.resolve()
    parts = [out.name]
    parent = out.parent
    while (parent / "__init__.py").is_file():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts)
