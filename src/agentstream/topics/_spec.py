"""``TopicSpec``: what one topic must look like, validated before any broker is asked."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentstream.errors import CatalogError

__all__ = ["INFINITE", "MANAGED_KEYS", "CleanupPolicy", "TopicSpec", "parse_duration"]

CleanupPolicy = Literal["delete", "compact", "compact,delete"]

#: ``retention=INFINITE`` keeps records forever (``retention.ms=-1``).
INFINITE: Literal["infinite"] = "infinite"

#: Topic configs that have a field of their own; ``config`` may not set them.
MANAGED_KEYS = frozenset({"cleanup.policy", "retention.ms", "min.insync.replicas"})

# Kafka's own limits (kafka.common.internals.Topic): legal characters and 249 chars at most.
_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_MAX_NAME_LENGTH = 249
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    """Parse ``"7d"``, ``"12h"``, ``"1d12h"``, ``"500ms"`` (units ms s m h d w) to a timedelta.

    Catalog files use this form because TOML has no duration type and bare integers are ambiguous
    (seconds? milliseconds?).
    """
    compact = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise CatalogError(
            f"invalid duration {text!r}: write a number and a unit (ms, s, m, h, d, w), "
            'e.g. "7d" or "1d12h", or "infinite"'
        )
    return sum((int(n) * _UNITS[u] for n, u in parts), timedelta())


def check_topic_name(name: str) -> str:
    """Return ``name`` if Kafka accepts it as a topic name, else raise ``ValueError`` saying why."""
    if not name:
        raise ValueError("a topic name cannot be empty")
    if name in {".", ".."}:
        raise ValueError(f"{name!r} is not a legal topic name")
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"topic name is {len(name)} characters long; Kafka allows {_MAX_NAME_LENGTH}"
        )
    if not _LEGAL_NAME.match(name):
        bad = sorted({c for c in name if not re.match(r"[a-zA-Z0-9._-]", c)})
        raise ValueError(
            f"topic name {name!r} contains {''.join(bad)!r}; Kafka allows only ASCII letters, "
            "digits, '.', '_' and '-'"
        )
    return name


class TopicSpec(BaseModel):
    """The declared shape of one topic.

    ``None`` means "the broker's default, not managed": ``replication_factor=None`` creates with the
    cluster's ``default.replication.factor`` and never refuses an existing one; ``retention=None``
    leaves ``retention.ms`` alone; ``min_insync_replicas=None`` leaves ``min.insync.replicas``
    alone. ``retention=INFINITE`` sets ``retention.ms=-1``. ``config`` carries other topic configs
    (e.g. ``max.message.bytes``) as strings. Topics with the same ``copartition_group`` must have
    the same partition count, so that one key lands on the same partition number in each of them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    partitions: int = Field(default=1, ge=1, le=100_000)
    replication_factor: int | None = Field(default=None, ge=1, le=32_767)
    cleanup_policy: CleanupPolicy = "delete"
    retention: timedelta | Literal["infinite"] | None = None
    min_insync_replicas: int | None = Field(default=None, ge=1)
    config: dict[str, str] = Field(default_factory=dict)
    copartition_group: str | None = None
    doc: str = ""

    @field_validator("name")
    @classmethod
    def _legal_name(cls, v: str) -> str:
        return check_topic_name(v)

    @field_validator("retention", mode="before")
    @classmethod
    def _parse_retention(cls, v: Any) -> Any:
        if isinstance(v, str) and v != INFINITE:
            try:
                return parse_duration(v)
            except CatalogError as exc:  # pydantic reports ValueErrors with the field's name
                raise ValueError(str(exc)) from None
        if v == -1:
            return INFINITE
        return v

    @field_validator("retention")
    @classmethod
    def _positive_retention(cls, v: Any) -> Any:
        if isinstance(v, timedelta) and v < timedelta(milliseconds=1):
            raise ValueError(
                'retention must be at least 1ms; use "infinite" to keep records forever'
            )
        return v

    @field_validator("config", mode="before")
    @classmethod
    def _stringify_config(cls, v: Any) -> Any:
        # TOML gives ints and booleans; the broker wants the strings Kafka's tools would send.
        if isinstance(v, dict):
            return {
                str(k): (str(x).lower() if isinstance(x, bool) else str(x)) for k, x in v.items()
            }
        return v

    @field_validator("config")
    @classmethod
    def _no_managed_keys(cls, v: dict[str, str]) -> dict[str, str]:
        clash = sorted(MANAGED_KEYS & v.keys())
        if clash:
            raise ValueError(
                f"config sets {', '.join(clash)}; use the cleanup_policy, retention and "
                "min_insync_replicas fields instead"
            )
        return v

    @field_validator("copartition_group")
    @classmethod
    def _group_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("copartition_group cannot be blank; omit it instead")
        return v

    @model_validator(mode="after")
    def _isr_fits_replicas(self) -> TopicSpec:
        rf, isr = self.replication_factor, self.min_insync_replicas
        if rf is not None and isr is not None and isr > rf:
            raise ValueError(
                f"min_insync_replicas={isr} exceeds replication_factor={rf}: producers with "
                "acks=all could never write; lower min_insync_replicas"
            )
        return self

    @classmethod
    def of(cls, **fields: Any) -> TopicSpec:
        """Build a spec, turning validation failures into a ``CatalogError`` naming the topic."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
            )
            raise CatalogError(
                f"invalid topic {fields.get('name', '?')!r}: {problems}"
            ) from None

    @classmethod
    def compacted(
        cls,
        name: str,
        *,
        partitions: int = 1,
        copartition_group: str | None = None,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        config: dict[str, str] | None = None,
        doc: str = "",
    ) -> TopicSpec:
        """A compacted topic (latest value per key kept): memory, checkpoints, registries."""
        return cls.of(
            name=name,
            partitions=partitions,
            cleanup_policy="compact",
            copartition_group=copartition_group,
            replication_factor=replication_factor,
            min_insync_replicas=min_insync_replicas,
            config=config or {},
            doc=doc,
        )

    @classmethod
    def stream(
        cls,
        name: str,
        *,
        partitions: int = 1,
        retention: timedelta | Literal["infinite"] | None = None,
        copartition_group: str | None = None,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        config: dict[str, str] | None = None,
        doc: str = "",
    ) -> TopicSpec:
        """A delete-policy topic (records expire after ``retention``, default: the broker's)."""
        return cls.of(
            name=name,
            partitions=partitions,
            cleanup_policy="delete",
            retention=retention,
            copartition_group=copartition_group,
            replication_factor=replication_factor,
            min_insync_replicas=min_insync_replicas,
            config=config or {},
            doc=doc,
        )

    def desired_config(self) -> dict[str, str]:
        """The topic configs this spec manages, as the broker spells them."""
        conf = dict(self.config)
        conf["cleanup.policy"] = self.cleanup_policy
        if self.retention == INFINITE:
            conf["retention.ms"] = "-1"
        elif isinstance(self.retention, timedelta):
            conf["retention.ms"] = str(self.retention // timedelta(milliseconds=1))
        if self.min_insync_replicas is not None:
            conf["min.insync.replicas"] = str(self.min_insync_replicas)
        return conf

    def renamed(self, name: str) -> TopicSpec:
        """The same spec under another name (used to apply a prefix)."""
        return self.of(**{**self.model_dump(), "name": name})
