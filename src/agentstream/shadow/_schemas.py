"""The writer-schema store of a shadow run: production's, read-only, plus its own.

Inputs and production outputs were written with schemas registered in production's
``_agentstream.schemas``; the shadow reads them there. A schema only the candidate uses (a new
version of an event) is registered in the run's own schema topic, never in production's.
"""

from __future__ import annotations

from typing import Any

from agentstream.config import KafkaSettings
from agentstream.schemas import fingerprint
from agentstream.serde import KafkaSchemaStore, Serde, SingleObjectSerde, make_serde
from agentstream.shadow._state import ShadowWriteError

__all__ = ["ShadowSchemaStore", "shadow_serde"]


class ShadowSchemaStore:
    """``lookup`` in the run's store, then production's; ``register`` in the run's store unless
    production has the schema already."""

    def __init__(self, production: KafkaSchemaStore, own: KafkaSchemaStore) -> None:
        self.production = production
        self.own = own

    def _production(self, fp: int) -> dict[str, Any] | None:
        try:
            return self.production.lookup(fp)
        except ShadowWriteError:  # production has no schema topic (yet): nothing to find there
            return None

    def register(self, schema: dict[str, Any]) -> int:
        fp = fingerprint(schema)
        if self._production(fp) is not None:
            return fp
        return self.own.register(schema)

    def lookup(self, fp: int) -> dict[str, Any] | None:
        return self._production(fp) or self.own.lookup(fp)


def shadow_serde(production: KafkaSettings, shadow: KafkaSettings) -> Serde:
    """The serde of a shadow run. With a Schema Registry configured, the registry's serde
    (a schema the candidate introduces is registered there, as its deployment would)."""
    if production.schema_registry_url:
        return make_serde(production)
    store = ShadowSchemaStore(KafkaSchemaStore(production), KafkaSchemaStore(shadow))
    return SingleObjectSerde(store)
