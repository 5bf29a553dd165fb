"""Shadow runs: a candidate version of an agent on production inputs, its outputs kept apart.

This package is what every process may ask (it imports nothing of the runtime):

* ``active()`` / ``current()``: whether the code runs inside a shadow run (``agentstream
  shadow``). Services skip effects outside Kafka then: no Slack post, no webhook call, no file
  written, no vector upserted.
* ``output_topic(topic)``: the topic to write instead of ``topic`` (itself in production). The
  runtime applies it to every ``ctx.emit`` and ``ctx.schedule``; services that produce on their
  own apply it themselves.
* ``state_topic(topic)``: the run's own copy of a state topic a component names itself (the LLM
  memo uses it, so a candidate with a new prompt is not served production's memoised answers).
* ``ShadowRun`` (run id, namespace), ``entered`` / ``enter_process``: make a run current.
* The transport guard (``guard_producer`` / ``guard_consumer`` / ``guard_admin`` /
  ``consumer_config``): ``agentstream.bus`` passes every Kafka client built inside a shadow
  run through it, so nothing outside the run's namespace is written or committed.

Running a shadow and diffing it against production is ``agentstream.shadow.replay``
(``agentstream shadow`` on the command line); see docs/shadow.md.
"""

from __future__ import annotations

from agentstream.shadow._guard import consumer_config, guard_admin, guard_consumer, guard_producer
from agentstream.shadow._state import (
    ShadowError,
    ShadowRun,
    ShadowWriteError,
    active,
    current,
    enter_process,
    entered,
    output_topic,
    state_topic,
)

__all__ = [
    "ShadowError",
    "ShadowRun",
    "ShadowWriteError",
    "active",
    "consumer_config",
    "current",
    "enter_process",
    "entered",
    "guard_admin",
    "guard_consumer",
    "guard_producer",
    "output_topic",
    "state_topic",
]
