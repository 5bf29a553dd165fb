"""The topic catalog: every topic declared in one place, provisioned idempotently.

Declare topics in ``topics.toml`` (or in code with ``Catalog.add``), then ``apply`` them::

    catalog = load_catalog(prefix=KafkaSettings().topic_prefix)
    catalog.add(TopicSpec.compacted("memory.risk.prs"), copartition_with="events.code")
    report = apply(admin, catalog)      # creates, grows, aligns configs; refuses what is unsafe

See docs/topics.md for the file format and the rules ``apply`` follows.
"""

from __future__ import annotations

from agentstream.topics._apply import ApplyReport, ConfigChange, Refusal, TopicChange, apply
from agentstream.topics._catalog import (
    DEFAULT_CATALOG_FILE,
    Catalog,
    load_catalog,
    platform_catalog,
)
from agentstream.topics._cluster import (
    ConfigValue,
    PartitionState,
    TopicState,
    describe_topic,
    list_cluster_topics,
)
from agentstream.topics._spec import INFINITE, CleanupPolicy, TopicSpec, parse_duration

__all__ = [
    "DEFAULT_CATALOG_FILE",
    "INFINITE",
    "ApplyReport",
    "Catalog",
    "CleanupPolicy",
    "ConfigChange",
    "ConfigValue",
    "PartitionState",
    "Refusal",
    "TopicChange",
    "TopicSpec",
    "TopicState",
    "apply",
    "describe_topic",
    "list_cluster_topics",
    "load_catalog",
    "parse_duration",
    "platform_catalog",
]
