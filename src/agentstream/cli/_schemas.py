"""``agentstream schemas``: list the contract, check its evolution against git, run codegen —
for the shipped contract or for a project's own schemas directory (``--dir``)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from agentstream.errors import SchemaLoadError
from agentstream.schemas import COMPATIBILITY_MODES as MODES
from agentstream.schemas import (
    GENERATED_DIR,
    GENERATED_PATH,
    CompatibilityMode,
    SchemaSet,
    compatibility_problems,
    default_schema_set,
    fingerprint,
    generate_package,
    is_project_dir,
    load_project,
    package_of,
    project_set,
    read_dir,
    schema_dir,
)
from agentstream.schemas import generate_record_modules as generate

__all__ = ["register", "schemas"]

schemas = typer.Typer(
    help="The Avro contract in schemas/*.avsc (or your own, with --dir): list, check evolution, "
    "codegen."
)

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Schema directory (default: the shipped contract). Your own schemas may refer to "
        "AgentStream's types (agentstream.meta.EventMeta, ...) by full name.",
    ),
]


def _load(path: Path | None) -> SchemaSet:
    return SchemaSet.from_dir(path) if path else default_schema_set()



@schemas.command("list")
def list_(directory: DirOpt = None) -> None:
    """Print every record type's full name and CRC-64-AVRO fingerprint (hex)."""
    if is_project_dir(directory):
        s, own = load_project(directory)
        names = [n for n in s.records() if n in own]
    else:
        s = _load(directory)
        names = list(s.records())
    for name in names:
        typer.echo(f"{fingerprint(s.self_contained(name)):016x}  {name}")


def _git_sources(repo: Path, ref: str, rel: str) -> dict[str, str]:
    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        if proc.returncode:
            raise SchemaLoadError(
                f"git {' '.join(args)} failed: {proc.stderr.strip()}; pass a valid --against ref "
                "and run inside the repository"
            )
        return proc.stdout

    git("rev-parse", "--verify", f"{ref}^{{commit}}")
    try:
        listing = git("ls-tree", "--name-only", f"{ref}:{rel}").split()
    except SchemaLoadError:
        return {}  # the ref predates the directory: every type is new
    names = [n for n in listing if n.endswith(".avsc")]
    return {n: git("show", f"{ref}:{rel}/{n}") for n in names}


@schemas.command()
def check(
    against: Annotated[
        str, typer.Option("--against", help="Git ref of the published version.")
    ] = "HEAD",
    mode: Annotated[str, typer.Option("--mode", help=f"One of {', '.join(MODES)}.")] = "BACKWARD",
    directory: DirOpt = None,
) -> None:
    """Compare schemas/ with its version at a git ref; exit 1 on an incompatible change.

    BACKWARD (default) means consumers on the new schemas can read what the old ones wrote.
    Removing a published type is reported as incompatible too.
    """
    if mode not in MODES:
        raise typer.BadParameter(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    new_dir = (directory or schema_dir()).resolve()
    top = subprocess.run(
        ["git", "-C", str(new_dir), "rev-parse", "--show-toplevel"],
        capture_output=True, text=True, check=False,
    )
    if top.returncode:
        raise SchemaLoadError(f"{new_dir} is not inside a git repository; run from a checkout")
    repo = Path(top.stdout.strip())
    old_sources = _git_sources(repo, against, new_dir.relative_to(repo).as_posix())
    if is_project_dir(new_dir):
        # A project's files, each side read on top of the contract installed here.
        old, old_own = project_set(old_sources)
        new, new_own = project_set(read_dir(new_dir))
        names = (set(old.records()) & old_own) | (set(new.records()) & new_own)
    else:
        old, new = SchemaSet(old_sources), SchemaSet.from_dir(new_dir)
        names = set(old.records()) | set(new.records())
    failures = 0
    for name in sorted(names):
        if name not in new.named:
            typer.echo(f"INCOMPATIBLE {name}: removed (published at {against})")
            failures += 1
            continue
        if name not in old.named:
            typer.echo(f"new          {name}")
            continue
        problems = compatibility_problems(
            new.self_contained(name), [old.self_contained(name)], mode=_mode(mode)
        )
        if problems:
            failures += 1
            for p in problems:
                typer.echo(f"INCOMPATIBLE {name}: {p}")
        elif fingerprint(new.self_contained(name)) != fingerprint(old.self_contained(name)):
            typer.echo(f"changed ok   {name}")
    if failures:
        typer.echo(f"{failures} incompatible change(s) against {against} in {mode} mode", err=True)
        raise typer.Exit(1)
    typer.echo(f"{new_dir.name}/ is {mode}-compatible with {against}")


def _mode(mode: str) -> CompatibilityMode:
    assert mode in MODES
    return mode  # type: ignore[return-value]


@schemas.command()
def codegen(
    check_only: Annotated[
        bool, typer.Option("--check", help="Only report whether the generated files are current.")
    ] = False,
    directory: DirOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Your own package's directory (with --dir): generate your schemas' classes there.",
        ),
    ] = None,
    package: Annotated[
        str | None,
        typer.Option(
            "--package",
            help="Import path of --out (default: from the __init__.py files above it).",
        ),
    ] = None,
) -> None:
    """Regenerate record classes: the shipped contract's in src/agentstream/events/, or (with
    --dir and --out) your own schemas' in your own package.

    Your types need a namespace of their own; the AgentStream types they refer to (e.g.
    agentstream.meta.EventMeta) are imported from agentstream.events, not generated again.
    """
    if out is None:
        if is_project_dir(directory):
            raise typer.BadParameter(
                f"{directory} is not AgentStream's contract: pass --out <your package dir> to "
                "generate your own record classes there", param_hint="--out",
            )
        target, wanted = GENERATED_DIR, generate(_load(directory))
        existing = {p.name: p for p in GENERATED_DIR.glob("_gen_*.py")}
        existing[GENERATED_PATH.name] = GENERATED_PATH
        hint = "agentstream schemas codegen"
    else:
        if directory is None:
            raise typer.BadParameter("--out needs --dir <your schemas dir>", param_hint="--dir")
        both, own = load_project(directory)
        target = out.resolve()
        wanted = generate_package(both, own=own, package=package or package_of(target))
        existing = {p.name: p for p in target.glob("_gen_*.py")} if target.is_dir() else {}
        hint = f"agentstream schemas codegen --dir {directory} --out {out}"
    stale = sorted(set(existing) - set(wanted))
    changed = sorted(
        name for name, text in wanted.items()
        if not (target / name).exists() or (target / name).read_text(encoding="utf-8") != text
    )  # fmt: skip
    if check_only:
        if changed or stale:
            typer.echo(
                f"generated modules in {target} are out of date "
                f"({', '.join(changed + stale)}); run `{hint}`",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"generated modules in {target} are up to date")
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in changed:
        (target / name).write_text(wanted[name], encoding="utf-8")
    for name in stale:
        existing[name].unlink()
    typer.echo(f"wrote {len(changed)} and removed {len(stale)} module(s) in {target}")


def register(app: typer.Typer) -> None:
    app.add_typer(schemas, name="schemas")
