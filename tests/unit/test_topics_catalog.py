"""The topic catalog without a broker: parsing, validation, prefix, co-partition rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agentstream.errors import CatalogError
from agentstream.topics import (
    INFINITE,
    Catalog,
    TopicSpec,
    load_catalog,
    parse_duration,
    platform_catalog,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_parse_duration_units_and_combinations() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration("500ms") == timedelta(milliseconds=500)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "7", "7 days", "d7", "1.5h", "-1d"):
        with pytest.raises(CatalogError, match="invalid duration"):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("..", "not a legal"),
        ("events code", "contains ' '"),
        ("événements", "contains"),
        ("x" * 250, "Kafka allows 249"),
    ],
)
def test_illegal_topic_names_are_rejected(name: str, fragment: str) -> None:
    with pytest.raises(CatalogError, match=fragment):
        TopicSpec.of(name=name)


def test_longest_legal_name_is_accepted() -> None:
    assert TopicSpec.of(name="a" * 249).name == "a" * 249


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"partitions": 0}, "partitions"),
        ({"replication_factor": 0}, "replication_factor"),
        ({"cleanup_policy": "compacted"}, "cleanup_policy"),
        ({"retention": "0ms"}, "at least 1ms"),
        ({"retention": "soon"}, "invalid duration"),
        ({"config": {"retention.ms": "1"}}, "use the cleanup_policy, retention"),
        ({"replication_factor": 1, "min_insync_replicas": 2}, "exceeds replication_factor"),
        ({"copartition_group": " "}, "blank"),
        ({"partitons": 3}, "partitons"),
    ],
)
def test_invalid_spec_values_are_rejected_naming_the_field(
    fields: dict[str, object], fragment: str
) -> None:
    with pytest.raises(CatalogError, match=r"invalid topic 'events.x'") as info:
        TopicSpec.of(name="events.x", **fields)
    assert fragment in str(info.value)


def test_desired_config_spells_what_the_broker_expects() -> None:
    spec = TopicSpec.stream(
        "ingest.github", retention=timedelta(days=7), min_insync_replicas=2,
        replication_factor=3, config={"max.message.bytes": "2097152"},
    )
    assert spec.desired_config() == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * 24 * 3600 * 1000),
        "min.insync.replicas": "2",
        "max.message.bytes": "2097152",
    }
    forever = TopicSpec.stream("events.audit", retention=INFINITE)
    assert forever.desired_config()["retention.ms"] == "-1"
    assert TopicSpec.of(name="x", retention=-1).retention == INFINITE
    # Unset retention is the broker's business, not ours.
    assert "retention.ms" not in TopicSpec.compacted("memory.a.b").desired_config()


def test_toml_catalog_with_defaults_and_overrides() -> None:
    cat = Catalog.from_toml(
        """
        [defaults]
        partitions = 6
        retention = "3d"

        [topics."events.code"]
        copartition_group = "code"

        [topics."memory.risk.prs"]
        cleanup_policy = "compact"
        retention = "infinite"
        copartition_group = "code"

        [topics."dlq.risk"]
        partitions = 1
        config = { "max.message.bytes" = 4194304, "preallocate" = true }
        """
    )
    assert [s.name for s in cat] == ["dlq.risk", "events.code", "memory.risk.prs"]
    code = cat.get("events.code")
    assert (code.partitions, code.retention) == (6, timedelta(days=3))
    assert cat.get("memory.risk.prs").retention == INFINITE
    assert cat.get("dlq.risk").config == {"max.message.bytes": "4194304", "preallocate": "true"}
    assert [s.name for s in cat.groups()["code"]] == ["events.code", "memory.risk.prs"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[topic."a"]\npartitions = 1', "unknown top-level key"),
        ('[topics."a"]\npartitions = "three"', "partitions"),
        ('[topics."a"]\nretension = "1d"', "retension"),
        ("[topics]\na = 1", "must be a table"),
        ('[topics."a"\n', "not valid TOML"),
    ],
)
def test_bad_toml_is_reported_with_the_place(text: str, fragment: str) -> None:
    with pytest.raises(CatalogError, match="<toml>") as info:
        Catalog.from_toml(text)
    assert fragment in str(info.value)


def test_copartition_group_with_different_partition_counts_is_rejected() -> None:
    text = """
    [topics."events.code"]
    partitions = 6
    copartition_group = "code"
    [topics."memory.risk.prs"]
    partitions = 3
    copartition_group = "code"
    """
    with pytest.raises(CatalogError, match=r"co-partition group 'code'.*same partition count"):
        Catalog.from_toml(text)


def test_add_copartition_with_takes_partitions_and_group() -> None:
    cat = Catalog([TopicSpec.stream("events.code", partitions=12)])
    mem = cat.add(TopicSpec.compacted("memory.risk.prs"), copartition_with="events.code")
    assert (mem.partitions, mem.copartition_group) == (12, "events.code")
    assert cat.get("events.code").copartition_group == "events.code"
    with pytest.raises(CatalogError, match="same partition count"):
        cat.add(
            TopicSpec.compacted("memory.other.x", partitions=3, copartition_group="events.code")
        )


def test_duplicates_identical_is_noop_different_is_error() -> None:
    cat = Catalog()
    cat.add(TopicSpec.compacted("memory.a.b", partitions=3))
    cat.add(TopicSpec.compacted("memory.a.b", partitions=3))
    assert len(cat) == 1
    with pytest.raises(CatalogError, match=r"declared twice.*partitions: 3 vs 4"):
        cat.add(TopicSpec.compacted("memory.a.b", partitions=4))
    cat.add(TopicSpec.compacted("memory.a.b", partitions=4), replace=True)
    assert cat.get("memory.a.b").partitions == 4


def test_names_colliding_in_metrics_are_rejected() -> None:
    cat = Catalog([TopicSpec.stream("events.code")])
    with pytest.raises(CatalogError, match="collide"):
        cat.add(TopicSpec.stream("events_code"))


def test_prefix_applies_on_the_cluster_not_to_logical_names() -> None:
    cat = Catalog([TopicSpec.stream("events.code")], prefix="acme.")
    cat.add(TopicSpec.compacted("memory.a.b"))
    assert "memory.a.b" in cat
    assert cat.topic("memory.a.b") == "acme.memory.a.b"
    assert [s.name for s in cat.resolved()] == ["acme.events.code", "acme.memory.a.b"]
    assert [s.name for s in cat.with_prefix("").resolved()] == ["events.code", "memory.a.b"]
    with pytest.raises(CatalogError, match="with prefix 'bad prefix '"):
        Catalog([TopicSpec.stream("events.code")], prefix="bad prefix ")
    with pytest.raises(CatalogError, match=r"not in the catalog; known: events.code"):
        cat.get("events.nope")


def test_platform_topics_ship_inside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = {s.name for s in platform_catalog()}
    assert {"_agentstream.agents", "_agentstream.schemas", "workflows.timers"} <= names
    assert platform_catalog().get("_agentstream.schemas").partitions == 1
    assert all(s.cleanup_policy == "compact" for s in platform_catalog())
    monkeypatch.chdir(tmp_path)  # no topics.toml here
    assert {s.name for s in load_catalog()} == names
    (tmp_path / "topics.toml").write_text(
        '[topics."events.x"]\npartitions = 2\n[topics."_agentstream.agents"]\n'
        'cleanup_policy = "compact"\npartitions = 5\n'
    )
    cat = load_catalog(prefix="p.")
    assert {s.name for s in cat} == names | {"events.x"}
    assert cat.get("_agentstream.agents").partitions == 5  # the file wins
    assert cat.topic("events.x") == "p.events.x"
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "missing.toml")


def test_the_products_catalog_is_valid() -> None:
    cat = load_catalog(REPO_ROOT / "topics.toml")
    names = {s.name for s in cat}
    for expected in (
        "ingest.github", "ingest.slack", "ingest.calendar",
        "events.code", "events.chat", "events.calendar",
        "insights.risks", "insights.briefings", "insights.activity",
        "_agentstream.agents", "_agentstream.schemas",
    ):
        assert expected in names
    assert any(n.startswith("dlq.") for n in names)
    code = {s.name for s in cat.groups()["code"]}
    assert "events.code" in code and any(n.startswith("memory.") for n in code)
    assert all(s.cleanup_policy == "compact" for s in cat if s.name.startswith("memory."))
