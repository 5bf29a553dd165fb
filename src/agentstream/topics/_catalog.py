"""``Catalog``: every topic of a deployment in one place, from ``topics.toml`` and from code."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from agentstream.errors import CatalogError
from agentstream.topics._spec import TopicSpec, check_topic_name

__all__ = ["DEFAULT_CATALOG_FILE", "Catalog", "load_catalog", "platform_catalog"]

#: Looked up in the working directory when ``load_catalog`` gets no path.
DEFAULT_CATALOG_FILE = "topics.toml"

_TOP_LEVEL_KEYS = {"defaults", "topics"}


class Catalog:
    """A set of ``TopicSpec`` keyed by logical name, plus the prefix every name gets on the cluster.

    Specs keep their logical names (``events.code``); ``resolved()`` gives them with the prefix
    (``acme.events.code``), which is what ``apply`` provisions. Keeping both lets agents add their
    own topics in code after the file was loaded, without knowing the deployment's prefix.

    Invariants, checked on every ``add``: names are unique, no two names collide once Kafka maps
    '.' to '_' in metric names, and all topics of one ``copartition_group`` have the same partition
    count.
    """

    def __init__(self, specs: Iterable[TopicSpec] = (), *, prefix: str = "") -> None:
        self._specs: dict[str, TopicSpec] = {}
        self._prefix = prefix
        for spec in specs:
            self.add(spec)

    @property
    def prefix(self) -> str:
        """Put verbatim before every name (include your separator: ``"acme."``). Default ``""``."""
        return self._prefix

    @property
    def specs(self) -> tuple[TopicSpec, ...]:
        """The specs under their logical names, sorted by name."""
        return tuple(self._specs[n] for n in sorted(self._specs))

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __repr__(self) -> str:
        return f"Catalog({len(self)} topics, prefix={self._prefix!r})"

    def get(self, name: str) -> TopicSpec:
        """The spec named ``name`` (logical); ``CatalogError`` listing known ones if absent."""
        try:
            return self._specs[name]
        except KeyError:
            raise CatalogError(
                f"topic {name!r} is not in the catalog; known: {', '.join(sorted(self._specs))}"
            ) from None

    def topic(self, name: str) -> str:
        """The name on the cluster of catalog topic ``name`` (prefix applied)."""
        return self._prefix + self.get(name).name

    def resolved(self) -> tuple[TopicSpec, ...]:
        """The specs as they go on the cluster: prefixed names, sorted."""
        return tuple(s.renamed(self._prefix + s.name) if self._prefix else s for s in self.specs)

    def with_prefix(self, prefix: str) -> Catalog:
        """A copy of this catalog whose topics get ``prefix`` on the cluster."""
        return Catalog(self.specs, prefix=prefix)

    def groups(self) -> dict[str, tuple[TopicSpec, ...]]:
        """Co-partition groups: group name → its member specs (logical names)."""
        out: dict[str, list[TopicSpec]] = {}
        for spec in self.specs:
            if spec.copartition_group is not None:
                out.setdefault(spec.copartition_group, []).append(spec)
        return {g: tuple(members) for g, members in sorted(out.items())}

    def add(
        self, spec: TopicSpec, *, copartition_with: str | None = None, replace: bool = False
    ) -> TopicSpec:
        """Add ``spec`` and return it as stored.

        ``copartition_with="events.code"`` puts the spec in that topic's co-partition group (one
        named after that topic is created if it has none) with its partition count: the way to
        declare a memory topic keyed by the same entity as its input. Adding an identical spec
        twice is a no-op; a different spec under a taken name is a ``CatalogError`` unless
        ``replace=True``.
        """
        if copartition_with is not None:
            spec = self._join_group(spec, copartition_with)
        existing = self._specs.get(spec.name)
        if existing is not None and existing != spec and not replace:
            raise CatalogError(
                f"topic {spec.name!r} is declared twice with different settings "
                f"({_diff(existing, spec)}); declare it once, or pass replace=True"
            )
        self._check_prefixed_name(spec.name)
        self._check_metric_collision(spec.name)
        self._check_group(spec)
        self._specs[spec.name] = spec
        return spec

    def _join_group(self, spec: TopicSpec, other_name: str) -> TopicSpec:
        other = self.get(other_name)
        group = other.copartition_group or other.name
        if spec.copartition_group not in (None, group):
            raise CatalogError(
                f"topic {spec.name!r} is in co-partition group {spec.copartition_group!r} but "
                f"copartition_with={other_name!r} puts it in {group!r}; choose one"
            )
        if other.copartition_group is None:
            self._specs[other.name] = TopicSpec.of(
                **{**other.model_dump(), "copartition_group": group}
            )
        return TopicSpec.of(
            **{**spec.model_dump(), "copartition_group": group, "partitions": other.partitions}
        )

    def _check_prefixed_name(self, name: str) -> None:
        if self._prefix:
            try:
                check_topic_name(self._prefix + name)
            except ValueError as exc:
                raise CatalogError(f"with prefix {self._prefix!r}: {exc}") from None

    def _check_metric_collision(self, name: str) -> None:
        # Kafka refuses topics whose names differ only by '.' vs '_' (their metrics would clash).
        key = name.replace(".", "_")
        for other in self._specs:
            if other != name and other.replace(".", "_") == key:
                raise CatalogError(
                    f"topics {other!r} and {name!r} collide: Kafka treats '.' and '_' alike in "
                    "metric names and refuses the second; rename one"
                )

    def _check_group(self, spec: TopicSpec) -> None:
        if spec.copartition_group is None:
            return
        for other in self._specs.values():
            if (
                other.name != spec.name
                and other.copartition_group == spec.copartition_group
                and other.partitions != spec.partitions
            ):
                raise CatalogError(
                    f"co-partition group {spec.copartition_group!r}: {spec.name!r} has "
                    f"{spec.partitions} partitions but {other.name!r} has {other.partitions}; "
                    "topics of one group must have the same partition count"
                )

    # -- files --------------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, source: Path | str, *, prefix: str = "") -> Catalog:
        """Parse a catalog file (a ``Path``) or TOML text (a ``str``); see docs/topics.md."""
        where = str(source) if isinstance(source, Path) else "<toml>"
        try:
            text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
            data = tomllib.loads(text)
        except OSError as exc:
            raise CatalogError(f"cannot read catalog {where}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{where} is not valid TOML: {exc}") from None
        try:
            return cls(_specs_from_toml(data), prefix=prefix)
        except CatalogError as exc:
            raise CatalogError(f"{where}: {exc}") from None

    def merged(self, other: Catalog) -> Catalog:
        """This catalog with ``other``'s specs added, ``other`` winning on equal names."""
        out = Catalog(prefix=self._prefix)
        names = {s.name for s in other.specs}
        for spec in self.specs:
            if spec.name not in names:
                out.add(spec)
        for spec in other.specs:
            out.add(spec)
        return out


def _specs_from_toml(data: Mapping[str, Any]) -> list[TopicSpec]:
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise CatalogError(
            f"unknown top-level key(s) {', '.join(unknown)}; a catalog has [defaults] and "
            '[topics."<name>"] tables'
        )
    defaults = data.get("defaults", {})
    topics = data.get("topics", {})
    if not isinstance(defaults, dict) or not isinstance(topics, dict):
        raise CatalogError('[defaults] and [topics."<name>"] must be tables')
    if "name" in defaults:
        raise CatalogError("[defaults] cannot set name")
    specs = []
    for name, table in topics.items():
        if not isinstance(table, dict):
            raise CatalogError(f'topics.{name} must be a table: [topics."{name}"]')
        specs.append(TopicSpec.of(**{**defaults, **table, "name": name}))
    return specs


def _diff(a: TopicSpec, b: TopicSpec) -> str:
    da, db = a.model_dump(), b.model_dump()
    return ", ".join(f"{k}: {da[k]!r} vs {db[k]!r}" for k in da if da[k] != db[k])


def platform_catalog(*, prefix: str = "") -> Catalog:
    """The topics the platform itself needs (agent registry, schemas, workflow timers).

    Read from a file shipped inside the package, so it works from an installed wheel.
    """
    text = resources.files("agentstream.topics").joinpath("_platform.toml").read_text("utf-8")
    return Catalog.from_toml(text, prefix=prefix)


def load_catalog(path: Path | None = None, *, prefix: str = "") -> Catalog:
    """The deployment's catalog: the platform topics plus ``path`` (its entries win on equal names).

    With no ``path``, ``./topics.toml`` is used when present, else the platform topics alone.
    An explicit ``path`` that does not exist is a ``CatalogError``.
    """
    base = platform_catalog(prefix=prefix)
    if path is None:
        default = Path.cwd() / DEFAULT_CATALOG_FILE
        if not default.is_file():
            return base
        path = default
    if not path.is_file():
        raise CatalogError(f"catalog file {path} does not exist; pass an existing topics.toml")
    return base.merged(Catalog.from_toml(path, prefix=prefix))
