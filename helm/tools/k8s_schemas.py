"""Standalone Kubernetes JSON schemas for kubeconform, from the `kubernetes-validate` package.

kubeconform downloads its schemas from GitHub by default; where that is unreachable, this writes
the schemas it needs into a local directory laid out as kubeconform expects
(``<out>/v<version>-standalone-strict/<kind>-<group>-<version>.json``). The `kubernetes-validate`
PyPI package ships the official OpenAPI-derived schemas, but as "local" files whose ``$ref``s
point into a shared ``_definitions.json`` that kubeconform cannot resolve, so every ``$ref`` is
inlined here (a recursive definition is cut to ``{}`` at its second occurrence).

    python helm/tools/k8s_schemas.py --version 1.35.0 --out .cache/k8s-schemas rendered.yaml...

Only the kinds that appear in the given manifests are written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml


def _file_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0].lower()}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def _inline(node: Any, defs: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            name = ref.split("#/$defs/", 1)[1]
            if name in stack:
                return {}
            merged = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(defs[name], defs, (*stack, name)), **merged}
        return {k: _inline(v, defs, stack) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs, stack) for v in node]
    return node


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True, help="Kubernetes version, e.g. 1.35.0")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("manifests", nargs="+", type=Path)
    args = ap.parse_args(argv)
    shipped = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    src = shipped / f"v{args.version}-local-strict"
    if not src.is_dir():
        versions = sorted(p.name for p in shipped.iterdir() if p.name.endswith("-local-strict"))
        print(f"no schemas for {args.version} in kubernetes-validate; it has {versions}",
              file=sys.stderr)
        return 2
    defs = json.loads((src / "_definitions.json").read_text())["$defs"]
    dest = args.out / f"v{args.version}-standalone-strict"
    dest.mkdir(parents=True, exist_ok=True)
    wanted: set[str] = set()
    for manifest in args.manifests:
        for doc in yaml.safe_load_all(manifest.read_text()):
            if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc:
                wanted.add(_file_name(doc["apiVersion"], doc["kind"]))
    written = 0
    for name in sorted(wanted):
        if not (src / name).is_file():
            continue  # a custom resource (e.g. ServiceMonitor): kubeconform reports it
        schema = _inline(json.loads((src / name).read_text()), defs, ())
        (dest / name).write_text(json.dumps(schema))
        written += 1
    print(f"{written} schema(s) for Kubernetes {args.version} in {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
