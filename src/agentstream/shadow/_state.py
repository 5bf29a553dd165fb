"""Whether this code runs in a shadow run, and where its outputs go then.

A shadow run (``agentstream shadow``) runs a candidate version of an agent on production inputs
with everything it writes kept apart: every topic it writes and every consumer group or
transactional id it uses starts with the run's *namespace* ``<topic_prefix>shadow.<run id>.``.
The runtime resolves the topic of every ``ctx.emit`` / ``ctx.schedule`` through
``output_topic``; services that write to Kafka on their own, or act outside Kafka (post to Slack,
call a webhook, write files, upsert vectors), ask ``active()`` and hold back.

The current run is the process's (``enter_process``: what ``agentstream shadow`` and
``ShadowReplay.run`` do, before anything of the candidate runs), because the runtime starts
handler tasks from its consumer thread, which carries no context variable. ``entered`` scopes a
run to a block and what it starts with its context (tests of one client or one service call).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from agentstream.errors import AgentStreamError

__all__ = [
    "ShadowError",
    "ShadowRun",
    "ShadowWriteError",
    "active",
    "current",
    "enter_process",
    "entered",
    "output_topic",
    "state_topic",
]

_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class ShadowError(AgentStreamError):
    """A shadow run could not be set up or finished; the message says what to fix."""


class ShadowWriteError(ShadowError):
    """A shadow run was about to write outside its namespace (a production topic, a production
    consumer group's offsets). Nothing was written. Publish through ``ctx.emit`` or
    ``agentstream.shadow.output_topic(topic)``, and skip effects outside Kafka when
    ``agentstream.shadow.active()``."""


@dataclass(frozen=True)
class ShadowRun:
    """One shadow run: its id and namespace (every name it writes starts with ``namespace``).

    ``redirected`` collects the production topics whose outputs were redirected (the report reads
    the production side of exactly those). ``prepare(production_topic, shadow_topic)``, if set,
    is called once per topic before the first record is redirected to it (the replay creates the
    shadow topic there, like the production one), in the thread that redirects.
    """

    run_id: str
    topic_prefix: str = ""
    redirected: set[str] = field(default_factory=set, compare=False, repr=False)
    prepare: Callable[[str, str], None] | None = field(default=None, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _RUN_ID.match(self.run_id):
            raise ShadowError(
                f"shadow run id {self.run_id!r} must be 1-32 lowercase letters, digits or '-' "
                "(it becomes part of topic and consumer group names)"
            )

    @property
    def namespace(self) -> str:
        """``<topic_prefix>shadow.<run id>.``: the start of every name this run writes."""
        return f"{self.topic_prefix}shadow.{self.run_id}."

    def owns(self, name: str) -> bool:
        """Whether ``name`` (topic, group, transactional id) belongs to this run."""
        return name.startswith(self.namespace)

    def output_topic(self, topic: str) -> str:
        """Where an output meant for ``topic`` goes in this run (names of the run stay)."""
        if self.owns(topic):
            return topic
        shadow_topic = self.namespace + topic
        if topic not in self.redirected:
            with self._lock:
                if topic not in self.redirected:
                    if self.prepare is not None:
                        self.prepare(topic, shadow_topic)
                    self.redirected.add(topic)
        return shadow_topic

    def state_topic(self, topic: str) -> str:
        """Where a component's own state topic ``topic`` lives in this run (not an output)."""
        return topic if self.owns(topic) else self.namespace + topic

    def production_topic(self, topic: str) -> str:
        """The production topic a redirected topic stands for (``topic`` if it is none)."""
        return topic[len(self.namespace):] if self.owns(topic) else topic


_CURRENT: ContextVar[ShadowRun | None] = ContextVar("agentstream_shadow_run", default=None)
_PROCESS: list[ShadowRun] = []  # the process-wide run, if any (at most one)


def current() -> ShadowRun | None:
    """The shadow run this code runs in, or None (production)."""
    return _CURRENT.get() or (_PROCESS[0] if _PROCESS else None)


def active() -> bool:
    """True inside a shadow run: skip every effect outside Kafka (Slack, webhooks, files)."""
    return current() is not None


def output_topic(topic: str) -> str:
    """``topic`` in production; its shadow topic (``<namespace><topic>``) inside a shadow run.

    Services that produce records themselves (not through ``ctx.emit``) pass every topic they
    write through this, so that a shadow run of them writes only its own topics.
    """
    run = current()
    return topic if run is None else run.output_topic(topic)


def state_topic(topic: str) -> str:
    """``topic`` in production; inside a shadow run, the run's copy of it. For state a component
    keeps in a topic of its own naming (the LLM memo), so a shadow run starts with its own."""
    run = current()
    return topic if run is None else run.state_topic(topic)


@contextmanager
def entered(run: ShadowRun) -> Iterator[ShadowRun]:
    """Run the block (and every task and thread it starts with its context) inside ``run``."""
    token = _CURRENT.set(run)
    try:
        yield run
    finally:
        _CURRENT.reset(token)


def enter_process(run: ShadowRun | None) -> None:
    """Make ``run`` the shadow run of the whole process (None: leave it). The CLI calls this
    before it imports the candidate, so its module-level code sees the flag too."""
    _PROCESS.clear()
    if run is not None:
        _PROCESS.append(run)
