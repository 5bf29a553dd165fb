"""Back-pressure from outside the runtime: sources (the LLM rate limiter) that cap concurrency.

Public so that layers above the runtime (``agentstream.llm``) register their sources without
reaching into runtime internals: ``register(source)`` / ``unregister(source)``.

A source is any object with ``concurrency_cap() -> int | None`` (None: no cap) and
``fetch_paused() -> bool``. The scheduler starts no more than the lowest cap of the registered
sources, and reports no room while any source asks to pause fetching, so the consumer pauses
its partitions instead of buffering records the endpoint cannot take. Sources are per process.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["PressureSource", "concurrency_cap", "fetch_paused", "register", "unregister"]


class PressureSource(Protocol):
    def concurrency_cap(self) -> int | None: ...

    def fetch_paused(self) -> bool: ...


_SOURCES: list[PressureSource] = []


def register(source: PressureSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def unregister(source: PressureSource) -> None:
    if source in _SOURCES:
        _SOURCES.remove(source)


def concurrency_cap() -> int | None:
    """The lowest cap of the registered sources (at least 1), or None."""
    caps = [c for c in (s.concurrency_cap() for s in _SOURCES) if c is not None]
    return max(1, min(caps)) if caps else None


def fetch_paused() -> bool:
    return any(s.fetch_paused() for s in _SOURCES)
