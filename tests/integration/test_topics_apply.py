"""``apply`` and ``agentstream topics`` against the real broker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.errors import TopicDriftError, TopicProvisionError
from agentstream.testing import (
    WaitTimeoutError,
    create_topic,
    delete_topics,
    produce,
    unique_name,
)
from agentstream.topics import (
    Catalog,
    TopicSpec,
    apply,
    describe_topic,
    list_cluster_topics,
    load_catalog,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = timedelta(seconds=60)


@pytest.fixture
def prefix(kafka_admin: AdminClient) -> Iterator[str]:
    """A unique prefix per test; every topic under it is deleted afterwards."""
    pfx = unique_name("cat") + "."
    yield pfx
    names = [n for n in list_cluster_topics(kafka_admin) if n.startswith(pfx)]
    delete_topics(kafka_admin, names)


def _configs(admin: AdminClient, name: str) -> dict[str, str | None]:
    state = describe_topic(admin, name, timeout=TIMEOUT)
    assert state is not None, f"{name} does not exist"
    return {k: v.value for k, v in state.configs.items()}


def _await_config(admin: AdminClient, name: str, key: str, value: str) -> None:
    """The broker applies an altered config shortly after the controller accepted it."""
    deadline = time.monotonic() + TIMEOUT.total_seconds()
    while _configs(admin, name).get(key) != value:
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"{name} never reported {key}={value}")
        time.sleep(0.1)


def _partitions(admin: AdminClient, name: str) -> int:
    return list_cluster_topics(admin, timeout=TIMEOUT)[name]


def _small_catalog(prefix: str) -> Catalog:
    cat = Catalog(prefix=prefix)
    cat.add(TopicSpec.stream("events.code", partitions=3, retention=timedelta(days=3),
                             copartition_group="code"))
    cat.add(TopicSpec.compacted("memory.risk.prs"), copartition_with="events.code")
    cat.add(TopicSpec.stream("dlq.risk", retention="infinite", min_insync_replicas=1,
                             config={"max.message.bytes": "2097152"}))
    return cat


def test_apply_twice_second_run_changes_nothing(kafka_admin: AdminClient, prefix: str) -> None:
    cat = load_catalog(REPO_ROOT / "topics.toml", prefix=prefix)
    first = apply(kafka_admin, cat, timeout=TIMEOUT)
    assert first.changed
    assert sorted(s.name for s in first.created) == sorted(s.name for s in cat.resolved())
    on_cluster = list_cluster_topics(kafka_admin, timeout=TIMEOUT)
    for spec in cat.resolved():
        assert on_cluster[spec.name] == spec.partitions
    code = _configs(kafka_admin, cat.topic("events.code"))
    assert code["retention.ms"] == str(30 * 24 * 3600 * 1000)
    dedupe = _configs(kafka_admin, cat.topic("_agentstream.dedupe.risk"))
    # Delete-only: dedupe markers are batched keyless records, which compaction would refuse.
    assert str(dedupe["cleanup.policy"]) == "delete"

    second = apply(kafka_admin, cat, timeout=TIMEOUT)
    assert not second.changed
    assert (second.created, second.altered, second.refused) == ((), (), ())
    assert len(second.unchanged) == len(cat)
    assert second.lines() == [f"no changes: {len(cat)} topics match the catalog"]


def test_config_drift_on_the_cluster_is_fixed_and_reported(
    kafka_admin: AdminClient, prefix: str
) -> None:
    cat = _small_catalog(prefix)
    apply(kafka_admin, cat, timeout=TIMEOUT)
    dlq = cat.topic("dlq.risk")
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        dlq,
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("max.message.bytes", "1000", incremental_operation=AlterConfigOpType.SET),
            # A key the catalog does not manage: apply must leave it alone.
            ConfigEntry("segment.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ],
    )
    kafka_admin.incremental_alter_configs([res])[res].result(timeout=30)
    _await_config(kafka_admin, dlq, "retention.ms", "1000")

    report = apply(kafka_admin, cat, timeout=TIMEOUT)
    assert report.changed and not report.created
    [change] = report.altered
    assert change.topic == dlq and change.partitions is None
    assert {(c.key, c.old, c.new) for c in change.configs} == {
        ("retention.ms", "1000", "-1"),
        ("max.message.bytes", "1000", "2097152"),
    }
    assert any("retention.ms 1000 -> -1" in line for line in report.lines())
    after = _configs(kafka_admin, dlq)
    assert (after["retention.ms"], after["max.message.bytes"]) == ("-1", "2097152")
    assert after["segment.ms"] == "3600000"
    assert not apply(kafka_admin, cat, timeout=TIMEOUT).changed


def test_partition_increase_grows_the_whole_group(kafka_admin: AdminClient, prefix: str) -> None:
    cat = _small_catalog(prefix)
    apply(kafka_admin, cat, timeout=TIMEOUT)
    grown = Catalog(prefix=prefix)
    grown.add(TopicSpec.stream("events.code", partitions=6, retention=timedelta(days=3),
                               copartition_group="code"))
    grown.add(TopicSpec.compacted("memory.risk.prs"), copartition_with="events.code")
    report = apply(kafka_admin, grown, timeout=TIMEOUT)
    assert {(c.topic, c.partitions) for c in report.altered} == {
        (cat.topic("events.code"), (3, 6)),
        (cat.topic("memory.risk.prs"), (3, 6)),
    }
    assert _partitions(kafka_admin, cat.topic("events.code")) == 6
    assert _partitions(kafka_admin, cat.topic("memory.risk.prs")) == 6
    state = describe_topic(kafka_admin, cat.topic("memory.risk.prs"), timeout=TIMEOUT)
    assert state is not None and all(p.leader >= 0 for p in state.partitions)


def test_shrinking_is_refused_and_leaves_the_topic_alone(
    kafka_admin: AdminClient, prefix: str
) -> None:
    name = create_topic(kafka_admin, prefix + "events.code", partitions=4)
    cat = Catalog([TopicSpec.stream("events.code", partitions=2)], prefix=prefix)
    with pytest.raises(TopicDriftError, match="has 4 partitions, the catalog says 2") as info:
        apply(kafka_admin, cat, timeout=TIMEOUT)
    report = info.value.report
    assert [r.topic for r in report.refused] == [name]
    assert _partitions(kafka_admin, name) == 4
    # Nothing else was due, and nothing was changed.
    assert not report.changed


def test_breaking_a_copartition_group_is_refused(kafka_admin: AdminClient, prefix: str) -> None:
    """events.code already has 4 partitions; creating its memory topic with 2 would break keys."""
    create_topic(kafka_admin, prefix + "events.code", partitions=4)
    cat = Catalog(prefix=prefix)
    cat.add(TopicSpec.stream("events.code", partitions=2, copartition_group="code"))
    cat.add(TopicSpec.compacted("memory.risk.prs", partitions=2, copartition_group="code"))
    cat.add(TopicSpec.stream("insights.risks", partitions=1))
    report = apply(kafka_admin, cat, timeout=TIMEOUT, on_refusal="report")
    refused = {r.topic: r.reason for r in report.refused}
    assert set(refused) == {cat.topic("events.code"), cat.topic("memory.risk.prs")}
    assert "co-partition group 'code' would break" in refused[cat.topic("memory.risk.prs")]
    # The group's member was not created; the unrelated topic was.
    on_cluster = list_cluster_topics(kafka_admin, timeout=TIMEOUT)
    assert cat.topic("memory.risk.prs") not in on_cluster
    assert [s.name for s in report.created] == [cat.topic("insights.risks")]


def test_replication_factor_above_broker_count_names_the_topic(
    kafka_admin: AdminClient, prefix: str
) -> None:
    cat = Catalog([TopicSpec.stream("events.big", replication_factor=3)], prefix=prefix)
    with pytest.raises(TopicDriftError, match=rf"{prefix}events.big: replication_factor 3 but"):
        apply(kafka_admin, cat, timeout=TIMEOUT)
    assert prefix + "events.big" not in list_cluster_topics(kafka_admin, timeout=TIMEOUT)


def test_dry_run_reports_and_changes_nothing(kafka_admin: AdminClient, prefix: str) -> None:
    cat = _small_catalog(prefix)
    dry = apply(kafka_admin, cat, dry_run=True, timeout=TIMEOUT)
    assert dry.changed and len(dry.created) == 3
    assert dry.lines()[0].startswith("would create")
    assert not any(n.startswith(prefix) for n in list_cluster_topics(kafka_admin))
    apply(kafka_admin, cat, timeout=TIMEOUT)
    grown = cat.with_prefix(prefix)
    grown.add(TopicSpec.stream("dlq.risk", retention=timedelta(hours=1)), replace=True)
    dry = apply(kafka_admin, grown, dry_run=True, timeout=TIMEOUT)
    assert [c.topic for c in dry.altered] == [cat.topic("dlq.risk")]
    assert _configs(kafka_admin, cat.topic("dlq.risk"))["retention.ms"] == "-1"


@pytest.fixture
def cli(
    bootstrap_servers: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    monkeypatch.setenv("AGENTSTREAM_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("AGENTSTREAM_TOPIC_PREFIX", prefix)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def test_cli_apply_twice_list_and_describe(
    cli: Callable[..., Result], prefix: str, bootstrap_servers: str
) -> None:
    catalog = str(REPO_ROOT / "topics.toml")
    first = cli("topics", "apply", "--catalog", catalog)
    assert first.exit_code == 0, first.output
    assert f"created {prefix}events.code (3 partitions" in first.output

    second = cli("topics", "apply", "--catalog", catalog)
    assert second.exit_code == 0
    n = len(load_catalog(Path(catalog)))
    assert second.output.strip() == f"no changes: {n} topics match the catalog"

    produce(bootstrap_servers, prefix + "events.code", [(b"k", b"v")] * 5)
    described = cli("topics", "describe", "events.code")
    out = described.output
    assert described.exit_code == 0, out
    assert f"{prefix}events.code: 3 partitions" in out
    assert "retention.ms" in out and "2592000000" in out
    assert " 5 " in out  # the high watermark of the partition key b"k" went to

    listed = cli("topics", "list", "--catalog", catalog)
    assert listed.exit_code == 0
    assert "memory.risk.prs" in listed.output


def test_cli_exits_1_on_refusal(
    cli: Callable[..., Result], kafka_admin: AdminClient, prefix: str, tmp_path: Path
) -> None:
    create_topic(kafka_admin, prefix + "events.code", partitions=4)
    path = tmp_path / "topics.toml"
    path.write_text('[topics."events.code"]\npartitions = 2\n')
    result = cli("topics", "apply", "--catalog", str(path))
    assert result.exit_code == 1
    assert f"refused {prefix}events.code: has 4 partitions" in result.output
    missing = cli("topics", "describe", "no.such.topic")
    assert missing.exit_code == 1


def test_broker_rejection_names_the_topic(kafka_admin: AdminClient, prefix: str) -> None:
    cat = Catalog([TopicSpec.stream("events.odd", config={"no.such.config": "1"})], prefix=prefix)
    with pytest.raises(TopicProvisionError, match=rf"creating {prefix}events\.odd: .*refused"):
        apply(kafka_admin, cat, timeout=TIMEOUT)
