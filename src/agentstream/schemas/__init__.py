"""The Avro contract: load the ``.avsc`` files, the ``Record`` base class and lookups around it.

``schemas/*.avsc`` (shipped in the wheel as ``agentstream/_avsc``) is the single source of truth;
``agentstream.events`` holds the classes generated from it. ``fingerprint`` is CRC-64-AVRO of the
Parsing Canonical Form; ``check_compatibility`` applies the ``avro`` package's checker.
"""

from __future__ import annotations

from agentstream.schemas._codegen import GENERATED_DIR, GENERATED_PATH, generate_package
from agentstream.schemas._codegen import generate as generate_record_modules
from agentstream.schemas._compat import MODES as COMPATIBILITY_MODES
from agentstream.schemas._compat import (
    CompatibilityMode,
    check_compatibility,
    compatibility_problems,
    reader_writer_problems,
)
from agentstream.schemas._json import JsonFieldError, from_json, to_json
from agentstream.schemas._loader import SchemaSet, default_schema_set, schema_dir, strip_uuid
from agentstream.schemas._project import (
    is_project_dir,
    load_project,
    package_of,
    project_set,
    read_dir,
)
from agentstream.schemas._record import (
    Record,
    all_records,
    decoding_schema,
    fingerprint,
    new_meta,
    parsed_schema,
    record_class,
    schema_of,
)
from agentstream.schemas._registered import register_records

__all__ = [
    "COMPATIBILITY_MODES",
    "GENERATED_DIR",
    "GENERATED_PATH",
    "CompatibilityMode",
    "JsonFieldError",
    "Record",
    "SchemaSet",
    "all_records",
    "check_compatibility",
    "compatibility_problems",
    "decoding_schema",
    "default_schema_set",
    "fingerprint",
    "from_json",
    "generate_package",
    "generate_record_modules",
    "is_project_dir",
    "load_project",
    "new_meta",
    "package_of",
    "parsed_schema",
    "project_set",
    "read_dir",
    "reader_writer_problems",
    "record_class",
    "register_records",
    "schema_dir",
    "schema_of",
    "strip_uuid",
    "to_json",
]
