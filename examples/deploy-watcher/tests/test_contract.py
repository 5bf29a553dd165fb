"""The project's own contract: generated classes match schemas/, and its evolution is checked."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from agentstream.events import EventMeta
from agentstream.schemas import all_records, fingerprint
from click.testing import Result

from deploywatch import events
from deploywatch.events import DeployFinished, DeployFlagged, DeployOutcome
from support import PROJECT, agentstream_cli, agentstream_process

CODEGEN = ["schemas", "codegen", "--dir", "schemas", "--out", "src/deploywatch/events"]


def test_generated_package_matches_the_schemas() -> None:
    res = agentstream_process(*CODEGEN, "--check")  # exactly what CI runs
    assert res.returncode == 0, res.stderr
    assert "up to date" in res.stdout


def test_generated_classes_use_agentstreams_event_meta_and_are_registered() -> None:
    assert DeployFinished.__dataclass_fields__["meta"].type == "EventMeta"
    assert DeployFinished.SCHEMA["fields"][0]["type"]["name"] == EventMeta.FULLNAME
    assert set(events.RECORDS) == {
        "deploywatch.events.DeployStarted",
        "deploywatch.events.DeployFinished",
        "deploywatch.insights.DeployFlagged",
    }
    # Importing the package registered its records: AgentStream's serdes decode them.
    assert all_records()["deploywatch.insights.DeployFlagged"] is DeployFlagged
    assert list(DeployOutcome) == ["succeeded", "failed", "rolled_back"]
    # The fingerprint is that of the schema `agentstream schemas list --dir schemas` prints.
    listed = agentstream_cli("schemas", "list", "--dir", "schemas").output
    assert f"{fingerprint(DeployFlagged):016x}  deploywatch.insights.DeployFlagged" in listed
    assert "agentstream." not in listed, "only the project's own types are listed"


def _copy_project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT / "schemas", copy / "schemas")
    shutil.copytree(PROJECT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _add_field(schemas: Path, record: str, field: dict[str, object]) -> None:
    path = schemas / f"{record}.avsc"
    doc = json.loads(path.read_text())
    doc["fields"].append(field)
    path.write_text(json.dumps(doc, indent=2))


def test_drift_is_caught_and_codegen_repairs_it(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    _add_field(project / "schemas", "deploywatch.events.DeployStarted",
               {"name": "region", "type": ["null", "string"], "default": None, "doc": "Region."})
    res = agentstream_cli(*CODEGEN, "--check", cwd=project)
    assert res.exit_code == 1
    assert "_gen_deploywatch_events.py" in res.output and "_contract.py" in res.output
    assert agentstream_cli(*CODEGEN, cwd=project).exit_code == 0
    assert agentstream_cli(*CODEGEN, "--check", cwd=project).exit_code == 0
    code = (project / "src/deploywatch/events/_gen_deploywatch_events.py").read_text()
    assert "region: str | None = None" in code


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args],
        check=True, capture_output=True,
    )


def _published(tmp_path: Path) -> Path:
    """A git repository whose HEAD holds the project's schemas as published."""
    project = _copy_project(tmp_path)
    _git(project, "init", "-q")
    _git(project, "add", "schemas")
    _git(project, "commit", "-qm", "published contract")
    return project


def _check(project: Path) -> Result:
    return agentstream_cli("schemas", "check", "--dir", "schemas", "--against", "HEAD",
                           cwd=project)


def test_a_compatible_change_passes_the_evolution_check(tmp_path: Path) -> None:
    project = _published(tmp_path)
    _add_field(project / "schemas", "deploywatch.events.DeployFinished",
               {"name": "region", "type": ["null", "string"], "default": None, "doc": "Region."})
    res = _check(project)
    assert res.exit_code == 0, res.output
    assert "changed ok   deploywatch.events.DeployFinished" in res.output
    assert "agentstream." not in res.output, "AgentStream's own types are not the project's"


def test_an_incompatible_change_is_refused_naming_the_field(tmp_path: Path) -> None:
    project = _published(tmp_path)
    # New readers could not read the deployments already on the topic: no default for them.
    _add_field(project / "schemas", "deploywatch.events.DeployFinished",
               {"name": "region", "type": "string", "doc": "Region, required."})
    res = _check(project)
    assert res.exit_code == 1
    [line] = [x for x in res.output.splitlines() if x.startswith("INCOMPATIBLE")]
    assert "deploywatch.events.DeployFinished" in line
    assert "reader_field_missing_default_value" in line and "region" in line
    assert "1 incompatible change(s) against HEAD" in res.output


def test_removing_a_published_type_is_refused(tmp_path: Path) -> None:
    project = _published(tmp_path)
    (project / "schemas" / "deploywatch.events.DeployStarted.avsc").unlink()
    res = _check(project)
    assert res.exit_code == 1
    assert "INCOMPATIBLE deploywatch.events.DeployStarted: removed" in res.output
