"""The exception hierarchy: one root, and every subclass says what the user should do."""

from __future__ import annotations

__all__ = [
    "AgentStreamError",
    "BrokerStartError",
    "ConfigError",
    "MissingToolError",
]


class AgentStreamError(Exception):
    """Root of every error AgentStream raises on purpose."""


class ConfigError(AgentStreamError):
    """A setting is missing, unknown or invalid; the message names it and the accepted values."""


class MissingToolError(AgentStreamError):
    """A program AgentStream needs (Java, Maven) is not installed; the message says what to install."""


class BrokerStartError(AgentStreamError):
    """The local Kafka broker did not come up; the message carries the tail of its log."""
