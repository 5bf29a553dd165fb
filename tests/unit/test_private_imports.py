"""No package reaches into another package's private modules (``agentstream.<pkg>._<mod>``).

What one package needs from another belongs in that package's public surface (its
``__init__``/``__all__`` or a public module). Walks every module of ``src/agentstream``,
``services/`` and ``examples/`` with ``ast``, including imports inside functions; tests under
``tests/`` may import privates.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "src") if path.is_relative_to(ROOT / "src") else path.relative_to(
        ROOT)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, importer: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importer's package
                base = importer.split(".")[: -node.level]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out.extend((node.lineno, f"{module}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return out


def cross_package_private_imports(source: str, importer: str) -> list[tuple[int, str]]:
    """(line, name) for each private agentstream name ``importer`` imports from outside its
    owner (the package the private part belongs to)."""
    found = []
    for line, name in _imported(ast.parse(source), importer):
        segs = name.split(".")
        if segs[0] != "agentstream":
            continue
        private = next((i for i, s in enumerate(segs) if s.startswith("_")
                        and not s.startswith("__")), None)
        if private is None:
            continue
        owner = ".".join(segs[:private])
        if importer != owner and not importer.startswith(owner + "."):
            found.append((line, name))
    return found


def _sources() -> list[Path]:
    """The SDK, the services and (when present) the example projects, which must show users
    the public API only."""
    roots = [ROOT / "src" / "agentstream", ROOT / "services", ROOT / "examples"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.py")
                  if ".venv" not in p.parts)


def test_no_cross_package_private_imports() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in _sources()
        for line, name in cross_package_private_imports(path.read_text(), _module_name(path))
    ]
    assert not bad, "import these through the owning package's public names:\n" + "\n".join(bad)


def test_the_check_sees_what_it_must() -> None:
    """The walker flags direct, from-, submodule and in-function private imports."""
    source = (
        "from agentstream.runtime._engine import Engine\n"
        "from agentstream.runtime import _scheduler\n"
        "import agentstream.serde._store\n"
        "from agentstream.llm._client import LLM\n"  # its own package: allowed
        "from ._memo import MemoStore\n"  # relative, its own package: allowed
        "from agentstream.schemas import Record\n"  # public: allowed
        "def f():\n    from agentstream.memory._codec import X\n"
    )
    names = [name for _, name in cross_package_private_imports(source, "agentstream.llm._probe")]
    assert "agentstream.runtime._engine" in names
    assert "agentstream.runtime._scheduler" in names
    assert "agentstream.serde._store" in names
    assert "agentstream.memory._codec" in names
    assert not [n for n in names if n.startswith(("agentstream.llm", "agentstream.schemas"))]
    services = cross_package_private_imports(
        "from agentstream.runtime._dlq import dlq_topic\n", "services.notifier.agent")
    assert [n for _, n in services] == ["agentstream.runtime._dlq",
                                        "agentstream.runtime._dlq.dlq_topic"]
