"""``Agent``: the declaration of an agent (name, version, what it consumes and emits, handlers).

A declaration is data: the runtime, the descriptor publisher and the CLI read it; nothing here
touches Kafka. Handlers are typed coroutines ``async def handle(event: PullRequestOpened, ctx)``;
retry and timeout are declared next to them, as temporal declares them on activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from agentstream.memory import FactStoreSpec, StoreSpec
from agentstream.policy import DEFAULT_RETRY, RetryPolicy
from agentstream.runtime._durable import WorkflowBinding

if TYPE_CHECKING:
    from agentstream.runtime._context import Context
    from agentstream.workflow import Workflow

__all__ = ["UNKNOWN_TOPIC", "Agent", "HandlerFn", "HandlerSpec"]

# The topic shown for an emitted type whose topic the agent did not declare (``emits_to``).
UNKNOWN_TOPIC = "*"

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
    descriptor and ``agentstream agents`` show it); ``emits_to`` says on which topic each is
    published (``{"insights.risks": [RiskDetected]}``; its classes count as emitted too), so the
    topology can draw the edge. ``stores`` declares memory stores (``StoreSpec``/``FactStoreSpec``;
    or ``agent.store(spec)``): restored per input partition before its events are handled,
    folded after each handled event, reachable in handlers as ``ctx.store(name)``.
    ``timers=True`` gives handlers durable timers (``ctx.schedule``); ``agent.workflow(...)``
    starts a durable workflow run per trigger event.
    Run it with ``agentstream run module:attr``; several processes of one agent share the
    partitions through the consumer group (``name`` unless ``AGENTSTREAM_AGENT_GROUP_ID`` says
    otherwise).
    """

    name: str
    version: str = "0.0.0"
    emits: Sequence[type[Any]] = ()
    description: str = ""
    handlers: list[HandlerSpec] = field(default_factory=list)
    emits_to: Mapping[str, Sequence[type[Any]]] = field(default_factory=dict)
    stores: list[StoreSpec | FactStoreSpec] = field(default_factory=list)
    timers: bool = False
    workflows: list[WorkflowBinding] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in " /\\:"):
            raise ValueError(f"agent name {self.name!r} must be non-empty without spaces, / or :")
        for cls in self.emits:
            _fullname(cls)
        for classes in self.emits_to.values():
            for cls in classes:
                _fullname(cls)
        self.stores = list(self.stores)
        names = [s.name for s in self.stores]
        if len(set(names)) != len(names):
            raise ValueError(f"agent {self.name}: store names must be unique, got {names}")

    def store(self, spec: StoreSpec | FactStoreSpec) -> StoreSpec | FactStoreSpec:
        """Declare a memory store (see ``agentstream.memory.StoreSpec``); returns ``spec``."""
        if any(s.name == spec.name for s in self.stores):
            raise ValueError(f"agent {self.name}: a store named {spec.name!r} exists already")
        self.stores.append(spec)
        return spec

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

    def workflow(
        self,
        workflow: Workflow,
        *,
        trigger: type[Any],
        topic: str,
        completion_topic: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: timedelta | None = None,
    ) -> WorkflowBinding:
        """Start a run of ``workflow`` for every ``trigger`` event read from ``topic``.

        The run id derives from the trigger's event id, so a redelivered trigger does not start
        a second run; the trigger's offset commits only once the run is durable. The runner
        opens the workflow's engine and resumes unfinished runs before consuming.
        ``completion_topic`` defaults to ``workflows.<name>.events``.
        """
        if any(b.workflow.name == workflow.name for b in self.workflows):
            raise ValueError(f"agent {self.name}: workflow {workflow.name!r} is declared already")
        binding = WorkflowBinding(workflow, trigger, topic, completion_topic)
        self.handler(trigger, topic=topic, retry=retry, timeout=timeout)(binding.start)
        self.workflows.append(binding)
        return binding

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

    def consumes_by_topic(self) -> dict[str, list[str]]:
        """Input topic -> full names of the types handled there (declaration order)."""
        out: dict[str, list[str]] = {}
        for s in self.handlers:
            out.setdefault(s.topic, []).append(s.type_name)
        return out

    def emits_by_topic(self) -> dict[str, list[str]]:
        """Output topic -> full names of the types emitted there; types declared in ``emits``
        without a topic in ``emits_to`` are listed under ``UNKNOWN_TOPIC`` ("*")."""
        out: dict[str, list[str]] = {}
        placed: set[str] = set()
        for topic, classes in self.emits_to.items():
            names = list(dict.fromkeys(_fullname(c) for c in classes))
            out[topic] = names
            placed.update(names)
        rest = [n for n in dict.fromkeys(_fullname(c) for c in self.emits) if n not in placed]
        if rest:
            out.setdefault(UNKNOWN_TOPIC, []).extend(rest)
        return out

    def describe(self) -> dict[str, Any]:
        """The published interface as plain data (the descriptor publisher reads it)."""
        emitted = [n for names in self.emits_by_topic().values() for n in names]
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "consumes": [
                {"topic": s.topic, "type": s.type_name, "timeout": s.timeout, "retry": s.retry}
                for s in self.handlers
            ],
            "emits": list(dict.fromkeys(emitted)),
            "emits_to": self.emits_by_topic(),
            "stores": [s.name for s in self.stores],
        }
