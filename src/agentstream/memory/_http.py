"""``GET /memory/...`` on the agent's ops port: read the live state of a running agent.

Mount with ``ops_server.add_json_route("/memory", memory_route(manager))``:

- ``/memory``: stores, their changelog topics and entity counts, partition statuses, and how
  each partition's last restore went (records read, warm from a local checkpoint or why not),
  and durable stores' local checkpoints (changelog offsets).
- ``/memory/<store>?limit=100&partition=N``: the first keys of a store.
- ``/memory/<store>/<key>``: a key's value; for a fact store its whole history, or with
  ``?valid_at=<ISO time>[&known_at=<ISO time>]`` the fact true then, as known then.

Keys are percent-decoded, so keys holding ``/`` can be asked for as ``%2F``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote

from agentstream.errors import StoreNotReadyError, UnknownStoreError
from agentstream.memory._manager import FactStore, StoreManager

__all__ = ["memory_route"]

Route = Any  # agentstream.ops._server.JsonRoute: (path, query) -> (status, body)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _overview(manager: StoreManager) -> dict[str, Any]:
    return {
        "agent": manager.agent,
        "stores": {
            name: {
                "topic": manager.any_store(name).topic,
                "kind": "facts" if isinstance(manager.any_store(name), FactStore) else "kv",
                "entities": manager.any_store(name).count(),
            }
            for name in manager.names
        },
        "partitions": {str(p): s.value for p, s in manager.statuses().items()},
        "restores": {
            str(p): {
                "records": st.records,
                "seconds": round(st.seconds, 3),
                "warm": st.warm,
                "reasons": st.reasons,
                "reverted": st.reverted,
            }
            for p in manager.statuses()
            if (st := manager.restore_stats(p)) is not None
        },
        "checkpoints": {
            str(p): cps for p in manager.statuses() if (cps := manager.checkpoints(p))
        },
    }


def _keys(manager: StoreManager, name: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    core = manager.any_store(name)
    limit = int(_first(query, "limit") or 100)
    part = _first(query, "partition")
    keys: list[str] = []
    for _, k, _v in core.raw_items(partition=None if part is None else int(part)):
        keys.append(k.decode("utf-8", "replace"))
        if len(keys) >= limit:
            break
    return 200, {"store": name, "keys": sorted(keys)}


def _value(
    manager: StoreManager, name: str, key: str, query: dict[str, list[str]]
) -> tuple[int, Any]:
    core = manager.any_store(name)
    part = core.partition_of(key)
    if part is None:
        return 404, {"error": f"no key {key!r} in store {name!r} of this process"}
    if isinstance(core, FactStore):
        valid_at = _first(query, "valid_at")
        if valid_at is None:
            return 200, {"store": name, "key": key, "partition": part,
                         "facts": [f.to_json() for f in core.history(key)]}
        known = _first(query, "known_at")
        fact = core.as_of(
            key,
            datetime.fromisoformat(valid_at),
            known_at=None if known is None else datetime.fromisoformat(known),
        )
        if fact is None:
            return 404, {"error": f"no fact for {key!r} valid at {valid_at}"}
        return 200, {"store": name, "key": key, "partition": part, "fact": fact.to_json()}
    value = core.get(key)
    return 200, {"store": name, "key": key, "partition": part, "value": value}


def memory_route(manager: StoreManager) -> Route:
    """A JSON route serving reads of ``manager``'s stores (see the module docstring)."""

    def route(path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = path.split("/", 1) if path else []
        try:
            if not parts:
                return 200, _overview(manager)
            name = unquote(parts[0])
            if len(parts) == 1:
                return _keys(manager, name, query)
            return _value(manager, name, unquote(parts[1]), query)
        except UnknownStoreError as exc:
            return 404, {"error": str(exc)}
        except StoreNotReadyError as exc:
            return 503, {"error": str(exc)}
        except ValueError as exc:
            return 400, {"error": f"bad query: {exc}"}

    return route
