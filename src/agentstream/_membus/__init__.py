"""The in-memory bus behind ``bootstrap.servers = memory://<name>`` (see ``agentstream.bus``).

Kafka's semantics that the platform relies on — partitioned logs, consumer groups with
rebalance callbacks, committed offsets, transactions with read_committed visibility and
fencing — kept in this process for tests without a broker. ``tests/contract`` runs one
behavioural suite against this bus and a real broker.
"""

from agentstream._membus._admin import MemoryAdmin
from agentstream._membus._broker import Broker, broker_for, drop_broker
from agentstream._membus._consumer import MemoryConsumer, MemoryMessage
from agentstream._membus._producer import MemoryProducer

__all__ = [
    "Broker",
    "MemoryAdmin",
    "MemoryConsumer",
    "MemoryMessage",
    "MemoryProducer",
    "broker_for",
    "drop_broker",
]
