"""The exception hierarchy: one root, and every subclass says what the user should do."""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "AgentLoadError",
    "AgentStreamError",
    "BrokerStartError",
    "CatalogError",
    "ChangelogPartitionError",
    "ChangelogWriteError",
    "CheckpointError",
    "ConfigError",
    "DecodeError",
    "EmbeddingError",
    "EncodeError",
    "FactOrderError",
    "LLMBudgetExhaustedError",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMRequestError",
    "LLMSaturatedError",
    "LLMServerError",
    "LLMTimeoutError",
    "MissingToolError",
    "NonRetryableError",
    "ProducerFencedError",
    "RestoreError",
    "RetrievalError",
    "RetryAfterError",
    "ScheduleError",
    "SchemaCompatibilityError",
    "SchemaLoadError",
    "SchemaStoreError",
    "StateDirLockedError",
    "StepResultError",
    "StoreNotReadyError",
    "TopicDriftError",
    "TopicProvisionError",
    "UnknownRecordTypeError",
    "UnknownStoreError",
    "WorkflowDefinitionError",
]


class AgentStreamError(Exception):
    """Root of every error AgentStream raises on purpose."""


class ConfigError(AgentStreamError):
    """A setting is missing, unknown or invalid; the message names it and the accepted values."""


class MissingToolError(AgentStreamError):
    """A program AgentStream needs (Java, Maven) is missing; the message says what to install."""


class BrokerStartError(AgentStreamError):
    """The local Kafka broker did not come up; the message carries the tail of its log."""


class CatalogError(AgentStreamError):
    """The topic catalog is invalid (bad name, bad value, co-partition group with differing
    partition counts); the message names the topic and the field to fix."""


class TopicDriftError(AgentStreamError):
    """``topics apply`` refused a change it cannot make safely (shrinking partitions, changing the
    replication factor, breaking a co-partition group); ``report`` holds what was and was not
    done."""

    def __init__(self, message: str, *, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class TopicProvisionError(AgentStreamError):
    """The broker rejected creating or altering a topic; the message names the topic and carries
    the broker's reason."""


class SchemaLoadError(AgentStreamError):
    """An ``.avsc`` file is missing, malformed or names an unknown type; the message names it."""


class UnknownRecordTypeError(AgentStreamError):
    """No generated record class has the given Avro name; the message lists the known names."""


class SchemaCompatibilityError(AgentStreamError):
    """A new schema version cannot be read with (or read) an older one under the chosen mode.

    ``problems`` holds one line per incompatibility: rule, location and message.
    """

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class SchemaStoreError(AgentStreamError):
    """The writer-schema store (topic ``_agentstream.schemas`` or a registry) could not be used."""


class EncodeError(AgentStreamError):
    """A record does not match its schema and cannot be encoded; the message names the field."""


class DecodeError(AgentStreamError):
    """Bytes from a topic could not be decoded into a record.

    ``reason`` is one of ``"tombstone"``, ``"bad-magic"``, ``"truncated"``,
    ``"unknown-fingerprint"``, ``"unknown-schema-id"``, ``"unknown-type"``,
    ``"incompatible-schema"``, ``"corrupt"``.
    """

    def __init__(
        self, topic: str, partition: int, offset: int, reason: str, detail: str = ""
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        where = f"topic {topic!r} partition {partition} offset {offset}"
        hint = {
            "tombstone": "a null value (a tombstone) carries no event; tombstones belong on "
            "compacted topics, not on an agent's input topic",
            "bad-magic": "the message was not written by an AgentStream serde of this wire format "
            "(check AGENTSTREAM_SCHEMA_REGISTRY_URL matches the producer's)",
            "unknown-fingerprint": "its writer schema is not in the schema topic; the producer "
            "must register it (it does so before producing) or the topic was cleaned",
            "unknown-schema-id": "the schema id is not in the Schema Registry",
            "unknown-type": "this process has no record class of that name; upgrade it or pass "
            "reader_records",
            "incompatible-schema": "the writer schema cannot be resolved to this reader's schema",
        }.get(reason, "the bytes are damaged or not Avro of the announced schema")
        super().__init__(f"cannot decode {where}: {reason}: {detail} ({hint})")

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, int, int, str, str]]:
        return (DecodeError, (self.topic, self.partition, self.offset, self.reason, ""))


class NonRetryableError(AgentStreamError):
    """Raised by an agent handler to say "retrying cannot help": the input goes straight to the
    agent's dead-letter topic (``dlq.<agent>``); fix the cause, then ``agentstream dlq replay``."""


class ProducerFencedError(AgentStreamError):
    """A newer instance of this agent took over its exactly-once transactions (zombie fencing);
    this process stopped without committing. Nothing to fix unless two copies run by mistake."""


class AgentLoadError(AgentStreamError):
    """``agentstream run module:attr`` could not import the module or find an ``Agent`` there;
    the message names the module and attribute to check."""


class ChangelogPartitionError(AgentStreamError):
    """A memory changelog topic (``memory.<agent>.<store>``) is missing or does not have the
    partition count of the input it is co-partitioned with; the message names the topic and both
    counts. Create it with ``agentstream.memory.ensure_changelog_topics`` (or the topic catalog)."""


class RestoreError(AgentStreamError):
    """Restoring a memory store from its changelog failed or passed its deadline; the message names
    the store, the partition and how far it got. The partition stays not ready; assign it again."""


class StateDirLockedError(AgentStreamError):
    """Another process (or another ``StoreManager`` in this one) holds the agent's durable state
    directory; the message names it and the holder's pid. Give each process of an agent its own
    ``AGENTSTREAM_MEMORY_STATE_DIR``, or stop the other process first."""


class StoreNotReadyError(AgentStreamError):
    """A memory store was used for a partition this process does not own or has not finished
    restoring; wait for ``StoreManager.assign`` to return before handling that partition."""


class UnknownStoreError(AgentStreamError):
    """No memory store of that name (or of that kind) is declared; the message lists known ones."""


class FactOrderError(AgentStreamError):
    """A bi-temporal fact was recorded with a ``recorded_at`` earlier than facts already recorded
    for the same key; record time only moves forward (pass ``recorded_at`` >= the latest one)."""


class WorkflowDefinitionError(AgentStreamError):
    """A workflow is declared wrongly (no steps, a duplicate step, an unknown ``after=`` step, a
    dependency cycle); the message names the steps to fix."""


class StepResultError(NonRetryableError):
    """A workflow step returned something that cannot be checkpointed; return JSON-serialisable
    data (dict, list, str, number, bool, None) or an Avro ``Record``."""


class CheckpointError(AgentStreamError):
    """A workflow checkpoint or timer record was not acknowledged by Kafka in time, or could not
    be read back. A run in flight writes it again until the broker is back; ``fatal`` (the
    writer was fenced by a newer instance) stops the run, which resumes from its last checkpoint
    where that instance runs. Check that the broker is reachable and the topic exists."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class ScheduleError(AgentStreamError):
    """A timer or schedule is invalid (unknown time zone, bad cron expression, neither or both of
    ``at``/``after``); the message shows the accepted forms."""


class ChangelogWriteError(AgentStreamError):
    """Memory changelog records were not acknowledged by the broker in time (or were refused); the
    message names the topic and the broker's reason. The inputs behind them must not be committed:
    let the agent retry them."""


class RetryAfterError(AgentStreamError):
    """A failure that says when trying again can help: ``retry_after`` (a ``timedelta``, or None
    for no opinion) is how long the other side asked to wait — an HTTP ``Retry-After``, a rate
    limiter's reset. ``RetryPolicy.next_delay`` waits exactly that long before the next attempt
    instead of its own backoff (the attempt still counts towards ``maximum_attempts``). Raise it
    (or subclass it) from a handler or a workflow step when the cause names the wait; the LLM
    layer's errors do. ``next_retry_delay`` is the same value under temporal's name."""

    def __init__(self, message: str, retry_after: timedelta | None) -> None:
        super().__init__(message)
        if retry_after is not None and retry_after < timedelta(0):
            retry_after = timedelta(0)
        self.retry_after: timedelta | None = retry_after

    @property
    def next_retry_delay(self) -> timedelta | None:
        """Alias of ``retry_after``."""
        return self.retry_after


class LLMError(RetryAfterError):
    """An LLM call failed after the layer's own retries; ``retry_after`` (alias
    ``next_retry_delay``, a ``timedelta`` or None) is how long the endpoint asked to wait, and the
    runtime's ``RetryPolicy`` waits that long before the handler's next attempt (earlier calls of
    the input are memoised, not repaid). ``model`` names the model, ``attempts`` counts the HTTP
    requests made."""

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        attempts: int = 0,
        next_retry_delay: timedelta | None = None,
    ) -> None:
        super().__init__(message, next_retry_delay)
        self.model = model
        self.attempts = attempts


class LLMRateLimitError(LLMError):
    """The endpoint kept answering 429 beyond the rate-limit retry budget
    (``AGENTSTREAM_LLM_RATE_LIMIT_RETRIES``); the handler is retried after the endpoint's
    ``Retry-After``. Lower ``AGENTSTREAM_LLM_RPM``/``TPM`` or ask the provider for more quota."""


class LLMServerError(LLMError):
    """The endpoint answered 5xx (or the connection failed) beyond the server-error retry budget
    (``AGENTSTREAM_LLM_SERVER_RETRIES``); the handler is retried later by its ``RetryPolicy``."""


class LLMTimeoutError(LLMError):
    """An LLM call exceeded ``AGENTSTREAM_LLM_TIMEOUT`` on every try of the server-error budget;
    raise the timeout for long generations or check the endpoint."""


class LLMSaturatedError(LLMError):
    """The process-wide rate limiter had no room for this call within
    ``AGENTSTREAM_LLM_LIMITER_WAIT`` (requests or tokens per minute used up); the handler is
    retried after ``next_retry_delay``. A steady stream of these means the agent's input rate
    exceeds the endpoint's quota."""


class LLMRequestError(LLMError, NonRetryableError):
    """The endpoint refused the request itself (400, 401, 403, 404, 422: a bad model name, a bad
    key, a prompt too long); retrying cannot help, so the input is dead-lettered with the
    endpoint's message. Fix the setting or the prompt, then ``agentstream dlq replay``."""


class LLMOutputError(LLMError, NonRetryableError):
    """The model's answer did not match the requested schema, also after one repair request that
    quoted the validation error; the input is dead-lettered with that error (``problems``).
    Improve the prompt or relax the schema, then ``agentstream dlq replay``."""

    def __init__(self, message: str, *, model: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message, model=model)
        self.problems = problems or []


class LLMBudgetExhaustedError(LLMError, NonRetryableError):
    """The agent's daily token budget (``AGENTSTREAM_LLM_DAILY_TOKEN_BUDGET``) is used up; the input
    is parked in the dead-letter topic with reason ``llm-budget-exhausted``. Replay it with
    ``agentstream dlq replay`` after the budget resets (00:00 UTC) or raise the budget."""


class EmbeddingError(AgentStreamError):
    """The embeddings endpoint failed or answered vectors of the wrong size; the message names the
    model and the expected dimension (``AGENTSTREAM_EMBEDDING_DIMENSIONS``)."""


class RetrievalError(AgentStreamError):
    """The retrieval store could not be opened or used (a path held by another process, an
    unreachable Qdrant server, a vector of the wrong size); the message names the collection."""
