"""``apply``: make the cluster match the catalog, idempotently, refusing what is unsafe."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

# confluent-kafka re-exports these without __all__; mypy strict wants explicit exports.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from agentstream.errors import TopicDriftError, TopicProvisionError
from agentstream.topics._catalog import Catalog
from agentstream.topics._cluster import Deadline, cluster_metadata, topic_configs
from agentstream.topics._spec import TopicSpec

__all__ = ["ApplyReport", "ConfigChange", "Refusal", "TopicChange", "apply"]

# librdkafka: -1 asks the broker for its default.replication.factor.
_BROKER_DEFAULT_RF = -1


@dataclass(frozen=True)
class ConfigChange:
    """One topic config moved from ``old`` (``None``: not set) to ``new``."""

    key: str
    old: str | None
    new: str

    def __str__(self) -> str:
        return f"{self.key} {self.old if self.old is not None else '(unset)'} -> {self.new}"


@dataclass(frozen=True)
class TopicChange:
    """What ``apply`` changed (or would change, on a dry run) on an existing topic."""

    topic: str
    partitions: tuple[int, int] | None = None
    configs: tuple[ConfigChange, ...] = ()

    def __str__(self) -> str:
        parts = []
        if self.partitions:
            parts.append(f"partitions {self.partitions[0]} -> {self.partitions[1]}")
        parts += [str(c) for c in self.configs]
        return f"{self.topic}: {', '.join(parts)}"


@dataclass(frozen=True)
class Refusal:
    """A topic ``apply`` left untouched because matching the catalog would be unsafe."""

    topic: str
    reason: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.reason}"


@dataclass(frozen=True)
class ApplyReport:
    """What ``apply`` did: created / altered / unchanged / refused topics (cluster names)."""

    created: tuple[TopicSpec, ...] = ()
    altered: tuple[TopicChange, ...] = ()
    unchanged: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """True when a topic was (or, on a dry run, would be) created or altered."""
        return bool(self.created or self.altered)

    def lines(self) -> list[str]:
        """A human summary, one line per topic touched, then a total."""
        verb = ("would create", "would alter") if self.dry_run else ("created", "altered")
        out = [f"{verb[0]} {_describe_new(s)}" for s in self.created]
        out += [f"{verb[1]} {c}" for c in self.altered]
        out += [f"refused {r}" for r in self.refused]
        if not self.changed and not self.refused:
            out.append(f"no changes: {len(self.unchanged)} topics match the catalog")
        else:
            out.append(
                f"{'dry run: ' if self.dry_run else ''}{len(self.created)} created, "
                f"{len(self.altered)} altered, {len(self.unchanged)} unchanged, "
                f"{len(self.refused)} refused"
            )
        return out


def _describe_new(spec: TopicSpec) -> str:
    rf = spec.replication_factor if spec.replication_factor is not None else "default"
    conf = ", ".join(f"{k}={v}" for k, v in sorted(spec.desired_config().items()))
    return f"{spec.name} ({spec.partitions} partitions, replication {rf}, {conf})"


@dataclass
class _Plan:
    create: list[TopicSpec] = field(default_factory=list)
    alter: dict[str, TopicChange] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def apply(
    admin: AdminClient,
    catalog: Catalog,
    *,
    dry_run: bool = False,
    timeout: timedelta = timedelta(seconds=30),
    on_refusal: Literal["raise", "report"] = "raise",
) -> ApplyReport:
    """Make the cluster match ``catalog`` and report what changed.

    Creates missing topics (and waits until every partition has a leader), raises partition counts
    the catalog increased, and sets the configs each spec manages (``cleanup.policy``, and
    ``retention.ms``, ``min.insync.replicas`` and ``config`` keys when given) with
    incremental_alter_configs, so configs the catalog does not mention are left alone.

    Refused, and left untouched: shrinking partitions, changing an existing topic's replication
    factor, a replication factor above the broker count, and any creation or partition change that
    would leave a co-partition group with unequal partition counts. Everything safe is still
    applied; then, with ``on_refusal="raise"`` (default), ``TopicDriftError`` is raised carrying the
    report in ``.report``; with ``"report"`` the refusals are only listed in the report.

    ``dry_run=True`` reads the cluster and reports what would change, changing nothing. The whole
    call, waits included, ends within ``timeout`` (default 30 s) or raises ``TopicProvisionError``.
    Running it twice in a row makes the second report ``changed == False``.
    """
    deadline = Deadline(timeout)
    specs = catalog.resolved()
    md = cluster_metadata(admin, deadline)
    existing = {s.name: md.topics[s.name] for s in specs if s.name in md.topics}
    configs = topic_configs(admin, sorted(existing), deadline)
    plan = _Plan()
    for spec in specs:
        if spec.name in existing:
            _plan_existing(plan, spec, existing[spec.name], configs[spec.name])
        else:
            _plan_new(plan, spec, broker_count=len(md.brokers))
    _protect_groups(plan, specs)
    if not dry_run:
        _execute(admin, plan, deadline)
    report = ApplyReport(
        created=tuple(plan.create),
        altered=tuple(plan.alter[n] for n in sorted(plan.alter)),
        unchanged=tuple(sorted(plan.unchanged)),
        refused=tuple(Refusal(n, r) for n, r in sorted(plan.refused.items())),
        dry_run=dry_run,
    )
    if report.refused and on_refusal == "raise":
        raise TopicDriftError(
            f"refused to change {len(report.refused)} topic(s): "
            + "; ".join(str(r) for r in report.refused)
            + ". Fix the catalog or migrate these topics by hand; the rest was applied",
            report=report,
        )
    return report


def _plan_new(plan: _Plan, spec: TopicSpec, *, broker_count: int) -> None:
    rf = spec.replication_factor
    if rf is not None and rf > broker_count:
        plan.refused[spec.name] = (
            f"replication_factor {rf} but the cluster has {broker_count} broker(s); lower "
            "replication_factor in the catalog (or leave it unset for the broker default)"
        )
        return
    plan.create.append(spec)


def _plan_existing(
    plan: _Plan, spec: TopicSpec, meta: Any, current: dict[str, Any]
) -> None:
    have = len(meta.partitions)
    rf = len(next(iter(meta.partitions.values())).replicas) if meta.partitions else 0
    if spec.partitions < have:
        plan.refused[spec.name] = (
            f"has {have} partitions, the catalog says {spec.partitions}: Kafka cannot remove "
            f"partitions; set partitions = {have} in the catalog, or recreate the topic by hand"
        )
        return
    if spec.replication_factor is not None and spec.replication_factor != rf:
        plan.refused[spec.name] = (
            f"replication factor is {rf}, the catalog says {spec.replication_factor}: apply does "
            "not move replicas; use kafka-reassign-partitions, or set replication_factor = "
            f"{rf} in the catalog"
        )
        return
    if spec.min_insync_replicas is not None and spec.min_insync_replicas > rf:
        plan.refused[spec.name] = (
            f"min_insync_replicas {spec.min_insync_replicas} exceeds its replication factor {rf}: "
            "producers with acks=all could never write; lower min_insync_replicas"
        )
        return
    changes = tuple(
        ConfigChange(key, current[key].value if key in current else None, want)
        for key, want in sorted(spec.desired_config().items())
        if not _same(key, current[key].value if key in current else None, want)
    )
    partitions = (have, spec.partitions) if spec.partitions > have else None
    if changes or partitions:
        plan.alter[spec.name] = TopicChange(spec.name, partitions=partitions, configs=changes)
    else:
        plan.unchanged.append(spec.name)


def _same(key: str, have: str | None, want: str) -> bool:
    if have is None:
        return False
    if key == "cleanup.policy":
        # The broker may list the policies in any order.
        return sorted(have.replace(" ", "").split(",")) == sorted(want.split(","))
    return have == want


def _protect_groups(plan: _Plan, specs: tuple[TopicSpec, ...]) -> None:
    """Refuse creations and partition changes inside a group once one member was refused.

    Otherwise the other members would end up with the catalog's partition count while the
    refused one keeps its own, and keys would no longer land on the same partition number.
    """
    groups: dict[str, list[TopicSpec]] = {}
    for spec in specs:
        if spec.copartition_group is not None:
            groups.setdefault(spec.copartition_group, []).append(spec)
    for group, members in groups.items():
        blocked = [m.name for m in members if m.name in plan.refused]
        if not blocked:
            continue
        why = (
            f"co-partition group {group!r} would break: {', '.join(blocked)} refused, so its "
            "partition count cannot be matched; resolve that first"
        )
        for m in members:
            if any(c.name == m.name for c in plan.create):
                plan.create = [c for c in plan.create if c.name != m.name]
                plan.refused[m.name] = why
            change = plan.alter.get(m.name)
            if change is not None and change.partitions is not None:
                del plan.alter[m.name]
                plan.refused[m.name] = why


def _execute(admin: AdminClient, plan: _Plan, deadline: Deadline) -> None:
    wait_for: dict[str, int] = {}
    if plan.create:
        new = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor or _BROKER_DEFAULT_RF,
                config=s.desired_config(),
            )
            for s in plan.create
        ]
        futures = admin.create_topics(new, operation_timeout=deadline.left())
        _collect(futures, deadline, "creating")
        wait_for.update({s.name: s.partitions for s in plan.create})
    grow = [c for c in plan.alter.values() if c.partitions is not None]
    if grow:
        futures = admin.create_partitions(
            [NewPartitions(c.topic, c.partitions[1]) for c in grow if c.partitions],
            operation_timeout=deadline.left(),
        )
        _collect(futures, deadline, "adding partitions to")
        wait_for.update({c.topic: c.partitions[1] for c in grow if c.partitions})
    reconfigure = [c for c in plan.alter.values() if c.configs]
    if reconfigure:
        resources = [
            ConfigResource(
                ConfigResource.Type.TOPIC,
                c.topic,
                incremental_configs=[
                    ConfigEntry(x.key, x.new, incremental_operation=AlterConfigOpType.SET)
                    for x in c.configs
                ],
            )
            for c in reconfigure
        ]
        altered = admin.incremental_alter_configs(resources, request_timeout=deadline.left())
        _collect({r.name: f for r, f in altered.items()}, deadline, "altering configs of")
    _wait_for_leaders(admin, wait_for, deadline)
    expected = {s.name: s.desired_config() for s in plan.create}
    expected.update({c.topic: {x.key: x.new for x in c.configs} for c in reconfigure})
    _wait_for_configs(admin, expected, deadline)


def _collect(futures: dict[Any, Any], deadline: Deadline, verb: str) -> None:
    failures = []
    for name, fut in futures.items():
        try:
            deadline.result(fut, f"{verb} {name}")
        except TopicProvisionError as exc:
            failures.append(str(exc))
    if failures:
        raise TopicProvisionError(
            "; ".join(failures) + ". Fix the catalog entry and run apply again (it is idempotent)"
        )


def _wait_for_leaders(admin: AdminClient, want: dict[str, int], deadline: Deadline) -> None:
    """Wait until each topic shows ``want[topic]`` partitions, each with a leader."""
    pending = dict(want)
    while pending:
        md = cluster_metadata(admin, deadline)
        for name in list(pending):
            t = md.topics.get(name)
            if (
                t is not None
                and t.error is None
                and len(t.partitions) >= pending[name]
                and all(p.leader >= 0 for p in t.partitions.values())
            ):
                del pending[name]
        if not pending:
            return
        if deadline.expired():
            raise TopicProvisionError(
                f"{', '.join(sorted(pending))}: partitions without a leader after "
                f"{deadline.timeout}; check the brokers' health, then run apply again"
            )
        time.sleep(0.1)  # metadata propagation has no event to await; poll briefly


def _wait_for_configs(
    admin: AdminClient, want: dict[str, dict[str, str]], deadline: Deadline
) -> None:
    """Wait until the broker reports the configs just set.

    With KRaft the controller commits a change before each broker applies it, so a describe right
    after the alter may still show the old value; waiting here makes "apply returned" mean "the
    cluster reports the catalog", and an immediate second apply report no changes.
    """
    pending = dict(want)
    while pending:
        current = topic_configs(admin, sorted(pending), deadline)
        for name in list(pending):
            have = current[name]
            if all(
                _same(k, have[k].value if k in have else None, v) for k, v in pending[name].items()
            ):
                del pending[name]
        if not pending:
            return
        if deadline.expired():
            raise TopicProvisionError(
                f"{', '.join(sorted(pending))}: configs set but not reported by the broker after "
                f"{deadline.timeout}; check the brokers' health, then run apply again"
            )
        time.sleep(0.1)  # config propagation has no event to await; poll briefly
