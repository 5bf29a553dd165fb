"""The identity map: one person across GitHub logins, Slack user ids and calendar e-mails.

The map is a TOML file, one table per person; the table name is the person id events carry::

    [people.alice]                 # person id "alice"
    name = "Alice Example"         # optional, for people reading the file
    github = ["alice", "alice-work"]
    slack = ["U012ABCDEF"]
    email = ["alice@example.com", "a.example@corp.example"]

GitHub logins and e-mails are matched case-insensitively (both are case-insensitive at the
source); Slack ids exactly. A handle claimed by two people is an error. Handles not in the map
resolve to ``None``: events keep the source handle and leave the ``*_person`` field empty.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentstream.connectors._errors import IdentityMapError

__all__ = ["IdentityKind", "IdentityMap"]

IdentityKind = Literal["github", "slack", "email"]
_KINDS: tuple[IdentityKind, ...] = ("github", "slack", "email")


def _norm(kind: IdentityKind, handle: str) -> str:
    handle = handle.strip()
    if kind == "email":
        handle = handle.removeprefix("mailto:").removeprefix("MAILTO:")
        return handle.lower()
    return handle.lower() if kind == "github" else handle


@dataclass(frozen=True)
class IdentityMap:
    """Handle → person id lookups; ``IdentityMap()`` is the empty map (nothing resolves)."""

    people: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _index: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "identity map") -> IdentityMap:
        people_raw = data.get("people", {})
        unknown_top = set(data) - {"people"}
        if unknown_top:
            raise IdentityMapError(
                f"{origin}: unknown top-level key(s) {sorted(unknown_top)}; "
                "only [people.<id>] tables are read"
            )
        if not isinstance(people_raw, dict):
            raise IdentityMapError(f"{origin}: 'people' must be a table of [people.<id>] tables")
        people: dict[str, dict[str, tuple[str, ...]]] = {}
        index: dict[tuple[str, str], str] = {}
        for pid, entry in people_raw.items():
            if not isinstance(entry, dict):
                raise IdentityMapError(f"{origin}: people.{pid} must be a table")
            extra = set(entry) - {*_KINDS, "name"}
            if extra:
                raise IdentityMapError(
                    f"{origin}: people.{pid} has unknown key(s) {sorted(extra)};"
                    " known: github, slack, email, name"
                )
            handles: dict[str, tuple[str, ...]] = {}
            for kind in _KINDS:
                values = entry.get(kind, [])
                if isinstance(values, str):
                    values = [values]
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise IdentityMapError(
                        f"{origin}: people.{pid}.{kind} must be a list of strings"
                    )
                handles[kind] = tuple(values)
                for v in values:
                    k = (kind, _norm(kind, v))
                    if index.get(k, pid) != pid:
                        raise IdentityMapError(
                            f"{origin}: {kind} handle {v!r} is claimed by both "
                            f"{index[k]!r} and {pid!r}"
                        )
                    index[k] = pid
            people[pid] = handles
        return cls(people, index)

    @classmethod
    def load(cls, path: str | Path) -> IdentityMap:
        """Read a TOML identity map; raise ``IdentityMapError`` naming what is wrong."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IdentityMapError(f"identity map {p} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise IdentityMapError(f"identity map {p} cannot be read: {exc}") from None
        return cls.from_dict(data, origin=str(p))

    def resolve(self, kind: IdentityKind, handle: str | None) -> str | None:
        """The person id of a handle, or ``None`` (unknown handle, or no handle)."""
        if not handle:
            return None
        return self._index.get((kind, _norm(kind, handle)))

    def __len__(self) -> int:
        return len(self.people)
