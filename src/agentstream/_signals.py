"""Stop signals that arrive before an agent's event loop installs its own handlers.

``agentstream run`` installs ``catch_early_stop`` before it imports anything heavy: a SIGTERM in
the first second of a process (an orchestrator scaling down a pod that is still starting) is
then remembered instead of killing the process with -15, and the runner stops cleanly (exit 0)
as soon as it can.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

__all__ = ["catch_early_stop", "early_stop_signal"]

_received: list[int] = []


def _remember(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def catch_early_stop() -> None:
    """Remember SIGTERM/SIGINT from now on (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _remember)


def early_stop_signal() -> signal.Signals | None:
    """The first stop signal remembered by ``catch_early_stop``, if any."""
    return signal.Signals(_received[0]) if _received else None
