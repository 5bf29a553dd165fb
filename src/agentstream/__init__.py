"""AgentStream: AI products built from independent agent processes that talk only through
Avro-typed semantic events on Apache Kafka."""

from __future__ import annotations

from agentstream.errors import AgentStreamError

__all__ = ["AgentStreamError", "__version__"]

__version__ = "0.1.0"
