"""``agentstream schemas``: list the contract, check its evolution against git, run codegen."""

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
    schema_dir,
)
from agentstream.schemas import generate_record_modules as generate

__all__ = ["register", "schemas"]

schemas = typer.Typer(help="The Avro contract in schemas/*.avsc: list, check evolution, codegen.")

DirOpt = Annotated[
    Path | None, typer.Option("--dir", help="Schema directory (default: the shipped contract).")
]


def _load(path: Path | None) -> SchemaSet:
    return SchemaSet.from_dir(path) if path else default_schema_set()


@schemas.command("list")
def list_(directory: DirOpt = None) -> None:
    """Print every record type's full name and CRC-64-AVRO fingerprint (hex)."""
    s = _load(directory)
    for name in s.records():
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
    old = SchemaSet(_git_sources(repo, against, new_dir.relative_to(repo).as_posix()))
    new = SchemaSet.from_dir(new_dir)
    failures = 0
    for name in sorted(set(old.records()) | set(new.records())):
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
    typer.echo(f"schemas/ is {mode}-compatible with {against}")


def _mode(mode: str) -> CompatibilityMode:
    assert mode in MODES
    return mode  # type: ignore[return-value]


@schemas.command()
def codegen(
    check_only: Annotated[
        bool, typer.Option("--check", help="Only report whether the generated file is current.")
    ] = False,
    directory: DirOpt = None,
) -> None:
    """Regenerate the record classes in src/agentstream/events/ from the schemas."""
    wanted = generate(_load(directory))
    existing = {p.name: p for p in GENERATED_DIR.glob("_gen_*.py")}
    existing[GENERATED_PATH.name] = GENERATED_PATH
    stale = sorted(set(existing) - set(wanted))
    changed = sorted(
        name for name, text in wanted.items()
        if not (GENERATED_DIR / name).exists() or (GENERATED_DIR / name).read_text() != text
    )  # fmt: skip
    if check_only:
        if changed or stale:
            typer.echo(
                f"generated modules in {GENERATED_DIR} are out of date "
                f"({', '.join(changed + stale)}); run `agentstream schemas codegen`",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"generated modules in {GENERATED_DIR} are up to date")
        return
    for name in changed:
        (GENERATED_DIR / name).write_text(wanted[name])
    for name in stale:
        existing[name].unlink()
    typer.echo(f"wrote {len(changed)} and removed {len(stale)} module(s) in {GENERATED_DIR}")


def register(app: typer.Typer) -> None:
    app.add_typer(schemas, name="schemas")
