"""``Agent``: the declaration of an agent (name, version, what it consumes and emits, handlers).

A declaration is data: the runtime, the descriptor publisher and the CLI read it; nothing here
touches Kafka. Handlers are typed coroutines ``async def handle(event: PullRequestOpened, ctx)``;
retry and timeout are declared next to them, as temporal declares them on activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from agentstream.runtime._retry import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    from agentstream.runtime._context import Context

__all__ = ["Agent", "HandlerFn", "HandlerSpec"]

E = TypeVar("E")
HandlerFn = Callable[[E, "Context"], Awaitable[None]]


def _fullname(event_type: type[Any]) -> str:
    name = getattr(event_type, "FULLNAME", None)
    if not isinstance(name, str):
        raise TypeError(
            f"{event_type!r} is not an event record class (it has no FULLNAME); "
            "handle classes from agentstream.events or generated from your .avsc"
        )
    return name


@dataclass(frozen=True)
class HandlerSpec:
    """One subscription: events of ``event_type`` read from ``topic`` go to ``fn``.

    ``timeout`` bounds one attempt (None = unbounded); ``retry`` says what happens after a failed
    attempt (default ``RetryPolicy()``: 5 attempts, 1 s doubling, ±20 % jitter).
    """

    event_type: type[Any]
    topic: str
    fn: HandlerFn[Any]
    retry: RetryPolicy = DEFAULT_RETRY
    timeout: timedelta | None = None

    @property
    def type_name(self) -> str:
        return _fullname(self.event_type)


@dataclass
class Agent:
    """An agent: a named, versioned set of handlers that runs as one consumer group.

    ``emits`` lists the event classes the agent may publish (its published interface; the
    descriptor and ``agentstream agents`` show it). Run it with ``agentstream run module:attr``;
    several processes of one agent share the partitions through the consumer group (``name``
    unless ``AGENTSTREAM_AGENT_GROUP_ID`` says otherwise).
    """

    name: str
    version: str = "0.0.0"
    emits: Sequence[type[Any]] = ()
    description: str = ""
    handlers: list[HandlerSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in " /\\:"):
            raise ValueError(f"agent name {self.name!r} must be non-empty without spaces, / or :")
        for cls in self.emits:
            _fullname(cls)

    def handler(
        self,
        event_type: type[E],
        *,
        topic: str,
        retry: RetryPolicy | None = None,
        timeout: timedelta | None = None,
    ) -> Callable[[HandlerFn[E]], HandlerFn[E]]:
        """Decorator: handle ``event_type`` events read from ``topic``.

        One handler per (topic, event type); events of other types on the topic are skipped
        (and committed), since an ``events.<domain>`` topic carries many types.
        """
        type_name = _fullname(event_type)

        def register(fn: HandlerFn[E]) -> HandlerFn[E]:
            if self.find(topic, type_name) is not None:
                raise ValueError(f"agent {self.name}: two handlers for {type_name} on {topic}")
            self.handlers.append(
                HandlerSpec(
                    event_type=event_type,
                    topic=topic,
                    fn=fn,
                    retry=retry or DEFAULT_RETRY,
                    timeout=timeout,
                )
            )
            return fn

        return register

    def find(self, topic: str, type_name: str) -> HandlerSpec | None:
        for spec in self.handlers:
            if spec.topic == topic and spec.type_name == type_name:
                return spec
        return None

    @property
    def topics(self) -> list[str]:
        """Input topics, in declaration order."""
        return list(dict.fromkeys(s.topic for s in self.handlers))

    @property
    def consumes(self) -> list[type[Any]]:
        return list(dict.fromkeys(s.event_type for s in self.handlers))

    def describe(self) -> dict[str, Any]:
        """The published interface as plain data (hook for the descriptor publisher)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "consumes": [
                {"topic": s.topic, "type": s.type_name, "timeout": s.timeout, "retry": s.retry}
                for s in self.handlers
            ],
            "emits": [_fullname(c) for c in self.emits],
        }
