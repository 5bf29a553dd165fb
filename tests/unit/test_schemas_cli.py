"""``agentstream schemas`` against a throwaway git repository (no broker needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import typer
from typer.testing import CliRunner

from agentstream.cli import _schemas
from agentstream.schemas import schema_dir

app = typer.Typer()
_schemas.register(app)
runner = CliRunner()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(schema_dir(), repo / "schemas")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v1")
    return repo


def _add_field(repo: Path, field: dict[str, object]) -> None:
    path = repo / "schemas" / "agentstream.events.code.PullRequestOpened.avsc"
    doc = json.loads(path.read_text())
    doc["fields"].append(field)
    path.write_text(json.dumps(doc))


def test_compatible_change_passes(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _add_field(repo, {"name": "labels", "type": {"type": "array", "items": "string"},
                      "default": [], "doc": "Labels."})
    res = runner.invoke(app, ["schemas", "check", "--against", "HEAD",
                              "--dir", str(repo / "schemas")])
    assert res.exit_code == 0, res.output
    assert "changed ok   agentstream.events.code.PullRequestOpened" in res.output


def test_incompatible_change_fails_and_says_where(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _add_field(repo, {"name": "priority", "type": "int", "doc": "No default."})
    res = runner.invoke(app, ["schemas", "check", "--dir", str(repo / "schemas")])
    assert res.exit_code == 1
    assert "INCOMPATIBLE agentstream.events.code.PullRequestOpened" in res.output
    assert "reader_field_missing_default_value" in res.output and "priority" in res.output
    # The same change is fine for FORWARD (old readers ignore the new field).
    res = runner.invoke(app, ["schemas", "check", "--mode", "FORWARD",
                              "--dir", str(repo / "schemas")])
    assert res.exit_code == 0, res.output


def test_removed_type_is_incompatible(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "schemas" / "agentstream.insights.BriefingReady.avsc").unlink()
    res = runner.invoke(app, ["schemas", "check", "--dir", str(repo / "schemas")])
    assert res.exit_code == 1
    assert "agentstream.insights.BriefingReady: removed" in res.output


def test_list_and_codegen_check() -> None:
    res = runner.invoke(app, ["schemas", "list"])
    assert res.exit_code == 0
    assert "agentstream.events.code.PullRequestOpened" in res.output
    res = runner.invoke(app, ["schemas", "codegen", "--check"])
    assert res.exit_code == 0, res.output
