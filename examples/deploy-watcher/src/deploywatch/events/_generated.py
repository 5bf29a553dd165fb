"""Every record class generated from ``schemas/*.avsc``, and ``RECORDS``.

DO NOT EDIT.

Regenerate with
``agentstream schemas codegen --dir <schemas> --out <this package>``;
the classes live in the ``_gen_*`` modules,
one per Avro namespace (split into several past 600 lines).
"""

from __future__ import annotations

from agentstream.schemas import Record, register_records

from deploywatch.events._gen_deploywatch_events import DeployFinished, DeployOutcome, DeployStarted
from deploywatch.events._gen_deploywatch_insights import DeployFlagged, FlagKind

__all__ = [
    "RECORDS",
    "DeployFinished",
    "DeployFlagged",
    "DeployOutcome",
    "DeployStarted",
    "FlagKind",
]

RECORDS: dict[str, type[Record]] = {
    "deploywatch.events.DeployFinished": DeployFinished,
    "deploywatch.events.DeployStarted": DeployStarted,
    "deploywatch.insights.DeployFlagged": DeployFlagged,
}

# The serdes (and so every agent in this process) decode these records.
register_records(RECORDS)
