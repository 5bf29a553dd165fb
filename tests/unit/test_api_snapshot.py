"""The public surface of every ``agentstream`` package and public module, pinned.

``tests/unit/api_snapshot.json`` holds each public module's ``__all__``. A name added, removed
or renamed fails this test until the snapshot is refreshed on purpose, so API changes show up in
review::

    .venv/bin/python tests/unit/test_api_snapshot.py --update

Public modules are the ones with no path segment starting with ``_``; each must declare
``__all__``, and every name in it must exist (as temporal's ``test_workflow_exports.py``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import agentstream

SNAPSHOT = Path(__file__).with_name("api_snapshot.json")


def public_modules() -> dict[str, ModuleType]:
    found = {"agentstream": agentstream}
    for info in pkgutil.walk_packages(agentstream.__path__, "agentstream."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found[info.name] = importlib.import_module(info.name)
    return dict(sorted(found.items()))


def current_surface() -> dict[str, list[str]]:
    return {name: sorted(getattr(mod, "__all__", ())) for name, mod in public_modules().items()}


def test_every_public_module_declares_all_and_its_names_exist() -> None:
    problems = []
    for name, mod in public_modules().items():
        names = getattr(mod, "__all__", None)
        if names is None:
            problems.append(f"{name}: no __all__")
            continue
        problems += [f"{name}.{n}: in __all__ but not defined" for n in names
                     if not hasattr(mod, n)]
        dupes = {n for n in names if list(names).count(n) > 1}
        problems += [f"{name}.{n}: listed twice in __all__" for n in sorted(dupes)]
    assert not problems, "\n".join(problems)


def test_public_surface_matches_the_snapshot() -> None:
    pinned = json.loads(SNAPSHOT.read_text())
    now = current_surface()
    diff = []
    for module in sorted(set(pinned) | set(now)):
        before, after = set(pinned.get(module, ())), set(now.get(module, ()))
        if module not in now:
            diff.append(f"- module {module} is gone")
        elif module not in pinned:
            diff.append(f"+ module {module} is new: {sorted(after)}")
        diff += [f"- {module}.{n}" for n in sorted(before - after)]
        diff += [f"+ {module}.{n}" for n in sorted(after - before)]
    assert not diff, (
        "the public API changed; if that is intended, refresh the snapshot with\n"
        "    .venv/bin/python tests/unit/test_api_snapshot.py --update\n" + "\n".join(diff)
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/unit/test_api_snapshot.py --update")
    SNAPSHOT.write_text(json.dumps(current_surface(), indent=1) + "\n")
    print(f"wrote {SNAPSHOT}")
