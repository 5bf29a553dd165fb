"""Errors of the connectors; each says what the caller should do about it."""

from __future__ import annotations

from agentstream.errors import AgentStreamError, NonRetryableError

__all__ = ["IdentityMapError", "MalformedPayloadError", "SignatureError"]


class SignatureError(AgentStreamError):
    """A webhook's signature is missing, malformed, wrong or too old; check the source's secret
    (and, for Slack, the clocks). The message never contains a secret."""


class MalformedPayloadError(NonRetryableError):
    """A payload cannot be read as what its source says it is (not JSON, a required field
    missing, a calendar that does not parse); the message names the problem. The normalizer
    dead-letters such records."""


class IdentityMapError(AgentStreamError):
    """The identity map file cannot be used; the message names the file, person and key."""
