"""Shadow replay: run a candidate version of an agent on a window of production inputs and
compare its outputs with production's (``agentstream shadow``; docs/shadow.md).

``ShadowReplay(production, candidate, options=ShadowOptions(...)).run()`` returns a
``ShadowResult``; its ``report`` (``DiffReport``) has per event type counts (same, changed,
only-production, only-shadow) and every ``Difference``. ``diff_outputs`` is the comparison on its
own, over ``Output`` values; ``mark_noise`` marks what a baseline run (production's version
against itself) differed in too. ``parse_start`` / ``parse_stop`` read the command line's
``--from`` / ``--to`` / ``--count``; ``resolve_window`` turns them into offsets.
"""

from __future__ import annotations

from agentstream.shadow._diff import (
    DEFAULT_IGNORE,
    Difference,
    DiffKind,
    DiffReport,
    Output,
    TypeCounts,
    diff_outputs,
    mark_noise,
)
from agentstream.shadow._replay import Progress, ShadowOptions, ShadowReplay, ShadowResult
from agentstream.shadow._window import (
    Start,
    Stop,
    Window,
    parse_start,
    parse_stop,
    resolve_window,
)

__all__ = [
    "DEFAULT_IGNORE",
    "DiffKind",
    "DiffReport",
    "Difference",
    "Output",
    "Progress",
    "ShadowOptions",
    "ShadowReplay",
    "ShadowResult",
    "Start",
    "Stop",
    "TypeCounts",
    "Window",
    "diff_outputs",
    "mark_noise",
    "parse_start",
    "parse_stop",
    "resolve_window",
]
