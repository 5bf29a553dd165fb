"""The Avro contract: load the ``.avsc`` files, the ``Record`` base class and lookups around it.

``schemas/*.avsc`` (shipped in the wheel as ``agentstream/_avsc``) is the single source of truth;
``agentstream.events`` holds the classes generated from it. ``fingerprint`` is CRC-64-AVRO of the
Parsing Canonical Form; ``check_compatibility`` applies the ``avro`` package's checker.
"""

from __future__ import annotations

from agentstream.schemas._compat import (
    CompatibilityMode,
    check_compatibility,
    compatibility_problems,
)
from agentstream.schemas._json import from_json, to_json
from agentstream.schemas._loader import SchemaSet, default_schema_set, schema_dir
from agentstream.schemas._record import (
    Record,
    all_records,
    decoding_schema,
    fingerprint,
    new_meta,
    parsed_schema,
    record_class,
)
from agentstream.schemas._registered import register_records

__all__ = [
    "CompatibilityMode",
    "Record",
    "SchemaSet",
    "all_records",
    "check_compatibility",
    "compatibility_problems",
    "decoding_schema",
    "default_schema_set",
    "fingerprint",
    "from_json",
    "new_meta",
    "parsed_schema",
    "record_class",
    "register_records",
    "schema_dir",
    "to_json",
]
