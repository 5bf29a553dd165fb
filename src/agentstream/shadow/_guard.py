"""The transport guard of a shadow run: Kafka clients that cannot touch production.

``agentstream.bus`` builds every client of the platform; inside a shadow run it passes them
through here. The guarded clients refuse (``ShadowWriteError``, nothing sent) to produce to a
topic outside the run's namespace, to commit offsets of a consumer group outside it, or to create,
delete or alter topics, partitions, configs or groups outside it. Consumers of groups outside
the namespace (the platform's ad-hoc readers) get ``enable.auto.commit=false``. Reads are
unrestricted: a shadow run reads production topics as they are.

This is the second line: the runtime already redirects outputs (``output_topic``) and derives
every internal name from the namespace; the guard turns a service that forgot to honour the
shadow flag into a loud error instead of a write to production.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from agentstream.shadow._state import ShadowRun, ShadowWriteError

__all__ = ["consumer_config", "guard_admin", "guard_consumer", "guard_producer"]


def _refuse(run: ShadowRun, what: str, name: str) -> ShadowWriteError:
    return ShadowWriteError(
        f"shadow run {run.run_id} refused to {what} {name!r}: it is outside the run's "
        f"namespace {run.namespace!r} (production). Publish through ctx.emit or "
        "agentstream.shadow.output_topic(topic), and skip effects outside Kafka when "
        "agentstream.shadow.active()"
    )


class _GuardedProducer:
    """A producer that writes only topics of the run (everything else is delegated)."""

    def __init__(self, inner: Producer, run: ShadowRun) -> None:
        self._inner = inner
        self._run = run

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        if not self._run.owns(topic):
            raise _refuse(self._run, "produce to topic", topic)
        self._inner.produce(topic, *args, **kwargs)

    def __len__(self) -> int:
        return len(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _GuardedConsumer:
    """A consumer that commits only offsets of a group of the run."""

    def __init__(self, inner: Consumer, group: str | None, run: ShadowRun) -> None:
        self._inner = inner
        self._group = group
        self._run = run

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        if self._group is None or not self._run.owns(self._group):
            raise _refuse(self._run, "commit offsets of consumer group", str(self._group))
        return self._inner.commit(*args, **kwargs)

    def store_offsets(self, *args: Any, **kwargs: Any) -> Any:
        if self._group is None or not self._run.owns(self._group):
            raise _refuse(self._run, "store offsets of consumer group", str(self._group))
        return self._inner.store_offsets(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _names(items: Iterable[Any], attr: str) -> list[str]:
    return [str(getattr(i, attr, i)) for i in items]


class _GuardedAdmin:
    """An admin client that changes only topics and groups of the run (reads are free)."""

    def __init__(self, inner: AdminClient, run: ShadowRun) -> None:
        self._inner = inner
        self._run = run

    def _check(self, what: str, names: Iterable[str]) -> None:
        for name in names:
            if not self._run.owns(name):
                raise _refuse(self._run, what, name)

    def create_topics(self, new_topics: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("create topic", _names(new_topics, "topic"))
        return self._inner.create_topics(new_topics, *args, **kwargs)

    def delete_topics(self, topics: list[str], *args: Any, **kwargs: Any) -> Any:
        self._check("delete topic", topics)
        return self._inner.delete_topics(topics, *args, **kwargs)

    def create_partitions(self, new_partitions: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("add partitions to topic", _names(new_partitions, "topic"))
        return self._inner.create_partitions(new_partitions, *args, **kwargs)

    def alter_configs(self, resources: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("alter the configuration of", _names(resources, "name"))
        return self._inner.alter_configs(resources, *args, **kwargs)

    def incremental_alter_configs(self, resources: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("alter the configuration of", _names(resources, "name"))
        return self._inner.incremental_alter_configs(resources, *args, **kwargs)

    def delete_records(self, partitions: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("delete records of topic", _names(partitions, "topic"))
        return self._inner.delete_records(partitions, *args, **kwargs)

    def delete_consumer_groups(self, group_ids: list[str], *args: Any, **kwargs: Any) -> Any:
        self._check("delete consumer group", group_ids)
        return self._inner.delete_consumer_groups(group_ids, *args, **kwargs)

    def alter_consumer_group_offsets(self, requests: list[Any], *args: Any, **kwargs: Any) -> Any:
        self._check("alter offsets of consumer group", _names(requests, "group_id"))
        return self._inner.alter_consumer_group_offsets(requests, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def consumer_config(config: dict[str, Any], run: ShadowRun) -> dict[str, Any]:
    """``config`` for a consumer built inside ``run``: auto-commit off unless the group is the
    run's."""
    group = config.get("group.id")
    if group is not None and run.owns(str(group)):
        return config
    return {**config, "enable.auto.commit": False}


def guard_producer(producer: Producer, run: ShadowRun) -> Producer:
    """``producer`` restricted to the topics of ``run``."""
    return cast(Producer, _GuardedProducer(producer, run))


def guard_consumer(consumer: Consumer, config: dict[str, Any], run: ShadowRun) -> Consumer:
    """``consumer`` (built from ``config``) restricted to commit the groups of ``run``."""
    group = config.get("group.id")
    return cast(Consumer, _GuardedConsumer(consumer, None if group is None else str(group), run))


def guard_admin(admin: AdminClient, run: ShadowRun) -> AdminClient:
    """``admin`` restricted to change the topics and groups of ``run``."""
    return cast(AdminClient, _GuardedAdmin(admin, run))
