"""Record classes that projects generate from their own schemas, registered at import time.

``all_records`` (and so every serde's default reader classes, ``record_class``, workflow
checkpoints) sees the shipped contract plus what is registered here; the ``__init__`` of a package
written by ``agentstream schemas codegen --out`` registers its classes when it is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from agentstream.errors import SchemaLoadError

if TYPE_CHECKING:
    from agentstream.schemas._record import Record

__all__ = ["register_records", "registered_records"]

_LOCK = threading.Lock()
_REGISTERED: dict[str, type[Record]] = {}


def register_records(records: Mapping[str, type[Record]]) -> None:
    """Make ``records`` (Avro full name -> generated class) known to AgentStream's serdes.

    Register before the serdes are built (importing the generated package at the top of the agent
    module does it). Registering a class again is a no-op; another class under a full name that is
    already known raises ``SchemaLoadError`` unless its schema is the same (a re-imported module).
    """
    from agentstream.schemas._record import fingerprint  # noqa: PLC0415 - _record imports us

    with _LOCK:
        for name, cls in records.items():
            if name != cls.FULLNAME:
                raise SchemaLoadError(
                    f"{cls.__name__} is registered as {name} but its FULLNAME is {cls.FULLNAME}; "
                    "register the mapping codegen wrote (RECORDS)"
                )
            if name.startswith("agentstream."):
                raise SchemaLoadError(
                    f"{name}: the agentstream namespace belongs to AgentStream's own contract; "
                    "give your types a namespace of your own"
                )
            known = _REGISTERED.get(name)
            if known is not None and known is not cls and fingerprint(known) != fingerprint(cls):
                raise SchemaLoadError(
                    f"{name} is already registered by {known.__module__} with another schema; "
                    "two packages define the same Avro type: rename one"
                )
        _REGISTERED.update(records)


def registered_records() -> dict[str, type[Record]]:
    """A copy of what ``register_records`` added."""
    with _LOCK:
        return dict(_REGISTERED)
