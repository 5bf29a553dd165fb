"""Codegen beyond the shipped contract: modules split past the size limit, and a project's own
schemas generated into the project's own package (no broker needed)."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import fastavro
import pytest
import typer
from typer.testing import CliRunner

import agentstream.events
from agentstream.cli import _schemas
from agentstream.errors import SchemaLoadError
from agentstream.events import EventMeta, RiskSeverity
from agentstream.schemas import (
    Record,
    SchemaSet,
    _registered,
    all_records,
    decoding_schema,
    fingerprint,
    new_meta,
    parsed_schema,
    register_records,
    schema_dir,
)
from agentstream.schemas._codegen import MODULE_LINES, generate, generate_package
from agentstream.schemas._project import package_of, project_set

app = typer.Typer()
_schemas.register(app)
runner = CliRunner()


def _shipped() -> SchemaSet:
    return SchemaSet.from_dir(schema_dir())


def test_every_generated_module_stays_under_the_limit_and_exports_the_same_names() -> None:
    files = generate(_shipped())
    assert max(len(text.splitlines()) for text in files.values()) <= MODULE_LINES
    # The code namespace no longer fits one module; agentstream.events still exports every
    # named type of the contract by its simple name (and RECORDS), and nothing else.
    assert {"_gen_events_code.py", "_gen_events_code_2.py"} <= set(files)
    names = {n.rpartition(".")[2] for n, d in _shipped().named.items()
             if d["type"] in ("record", "enum")}
    assert set(agentstream.events.__all__) == names | {"RECORDS"}
    assert len(agentstream.events.__all__) == len(set(agentstream.events.__all__))


def test_a_smaller_limit_gives_more_modules_each_class_once() -> None:
    big, small = generate(_shipped()), generate(_shipped(), module_lines=250)
    code = sorted(n for n in small if n.startswith("_gen_events_code"))
    assert len(code) > len([n for n in big if n.startswith("_gen_events_code")])
    classes = [line.split()[1].split("(")[0] for name in code
               for line in small[name].splitlines() if line.startswith("class ")]
    assert len(classes) == len(set(classes)) == 20
    # A later part imports what it uses from an earlier one (ReviewSubmitted uses ReviewState).
    users = [n for n in code if "class ReviewSubmitted(" in small[n]]
    assert "from agentstream.events._gen_events_code import ReviewState" in small[users[0]]


def _avsc(directory: Path, doc: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{doc['namespace']}.{doc['name']}"
    (directory / f"{name}.avsc").write_text(json.dumps(doc), encoding="utf-8")


def _project_schemas(directory: Path, namespace: str) -> None:
    _avsc(directory, {
        "type": "record", "name": "NoteTaken", "namespace": f"{namespace}.notes",
        "doc": "A note about an incident.",
        "fields": [
            {"name": "meta", "type": "agentstream.meta.EventMeta", "doc": "Envelope."},
            {"name": "text", "type": "string", "doc": "The note."},
            {"name": "severity", "type": "agentstream.insights.RiskSeverity",
             "doc": "AgentStream's severity enum, reused."},
            {"name": "tags", "type": {"type": "array", "items": "string"}, "default": [],
             "doc": "Tags."},
        ],
    })
    _avsc(directory, {
        "type": "record", "name": "IncidentClosed", "namespace": f"{namespace}.incidents",
        "doc": "An incident was closed.",
        "fields": [
            {"name": "meta", "type": "agentstream.meta.EventMeta", "doc": "Envelope."},
            {"name": "last_note", "type": f"{namespace}.notes.NoteTaken", "doc": "The last."},
            {"name": "state", "type": {"type": "enum", "name": "Resolution",
                                       "symbols": ["fixed", "wontfix"], "default": "fixed"},
             "default": "fixed", "doc": "How it ended."},
        ],
    })


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process-wide registry of project records, emptied for one test."""
    monkeypatch.setattr(_registered, "_REGISTERED", {})
    yield


@pytest.fixture
def project(tmp_path: Path, fresh_registry: None) -> Iterator[tuple[Path, str]]:
    """A project with schemas/ and src/<pkg>/ (``<pkg>`` unique), on sys.path for the test."""
    pkg = f"incidents_{uuid.uuid4().hex[:8]}"
    _project_schemas(tmp_path / "schemas", pkg)
    (tmp_path / "src" / pkg).mkdir(parents=True)
    (tmp_path / "src" / pkg / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path / "src"))
    try:
        yield tmp_path, pkg
    finally:
        sys.path.remove(str(tmp_path / "src"))
        for name in [m for m in sys.modules if m == pkg or m.startswith(f"{pkg}.")]:
            del sys.modules[name]


def _codegen(root: Path, pkg: str, *extra: str) -> Any:
    return runner.invoke(app, ["schemas", "codegen", "--dir", str(root / "schemas"),
                               "--out", str(root / "src" / pkg / "events"), *extra])


def test_a_projects_package_imports_agentstream_types_and_round_trips(
    project: tuple[Path, str],
) -> None:
    root, pkg = project
    res = _codegen(root, pkg)
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (root / "src" / pkg / "events").iterdir())
    assert files == ["__init__.py", "_contract.py", "_gen_" + pkg + "_incidents.py",
                     "_gen_" + pkg + "_notes.py", "_generated.py"]
    notes = (root / "src" / pkg / "events" / f"_gen_{pkg}_notes.py").read_text()
    assert "from agentstream.events import EventMeta, RiskSeverity" in notes
    assert "class EventMeta" not in notes and "class RiskSeverity" not in notes
    assert "agentstream.schemas._" not in notes, "a project's code uses public names only"

    events = importlib.import_module(f"{pkg}.events")
    assert sorted(events.__all__) == ["IncidentClosed", "NoteTaken", "RECORDS", "Resolution"]
    closed_cls, note_cls = events.IncidentClosed, events.NoteTaken
    assert closed_cls.SCHEMA["fields"][0]["type"]["name"] == EventMeta.FULLNAME
    assert all_records()[f"{pkg}.incidents.IncidentClosed"] is closed_cls  # registered
    note = note_cls(meta=new_meta(note_cls, source="t", subject="inc-1"), text="db down",
                    severity=RiskSeverity.HIGH)
    closed = closed_cls(meta=new_meta(closed_cls, source="t", subject="inc-1"), last_note=note)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema(closed_cls), closed.to_avro())
    buf.seek(0)
    back = closed_cls.from_avro(fastavro.schemaless_reader(buf, decoding_schema(closed_cls)))
    assert back == closed and back.state is events.Resolution.FIXED

    assert _codegen(root, pkg, "--check").exit_code == 0
    _avsc(root / "schemas", {"type": "record", "name": "Extra", "namespace": f"{pkg}.notes",
                             "fields": [{"name": "x", "type": "int"}]})
    res = _codegen(root, pkg, "--check")
    assert res.exit_code == 1 and f"_gen_{pkg}_notes.py" in res.output


def test_codegen_refuses_what_it_cannot_place(project: tuple[Path, str]) -> None:
    root, pkg = project
    res = runner.invoke(app, ["schemas", "codegen", "--dir", str(root / "schemas")])
    assert res.exit_code == 2 and "--out" in res.output, "never into agentstream/events"
    res = runner.invoke(app, ["schemas", "codegen", "--out", str(root / "src" / pkg)])
    assert res.exit_code == 2 and "--dir" in res.output


def test_the_agentstream_namespace_and_clashing_names_are_refused(tmp_path: Path) -> None:
    mine = {"x.avsc": json.dumps({"type": "record", "name": "Mine",
                                  "namespace": "agentstream.events.mine", "fields": []})}
    schemas, own = project_set(mine)
    with pytest.raises(SchemaLoadError, match="agentstream namespace belongs to AgentStream"):
        generate_package(schemas, own=own, package="acme.events")
    clash = {"acme.EventMeta.avsc": json.dumps({
        "type": "record", "name": "EventMeta", "namespace": "acme",
        "fields": [{"name": "meta", "type": "agentstream.meta.EventMeta"}]})}
    schemas, own = project_set(clash)
    with pytest.raises(SchemaLoadError, match="share a simple name"):
        generate_package(schemas, own=own, package="acme.events")
    copied = {"agentstream.meta.EventMeta.avsc": (schema_dir() / "agentstream.meta.EventMeta.avsc")
              .read_text()}
    with pytest.raises(SchemaLoadError, match="refer to its types by full name"):
        project_set(copied)


def test_package_of_follows_the_init_files(tmp_path: Path) -> None:
    (tmp_path / "src" / "acme" / "deploys").mkdir(parents=True)
    (tmp_path / "src" / "acme" / "__init__.py").write_text("")
    (tmp_path / "src" / "acme" / "deploys" / "__init__.py").write_text("")
    assert package_of(tmp_path / "src" / "acme" / "deploys" / "events") == "acme.deploys.events"
    assert package_of(tmp_path / "src" / "events") == "events"


def test_register_records_refuses_conflicts(fresh_registry: None) -> None:
    with pytest.raises(SchemaLoadError, match="agentstream namespace"):
        register_records({EventMeta.FULLNAME: EventMeta})

    class A(Record):
        FULLNAME = "acme.A"
        SCHEMA: ClassVar[dict[str, Any]] = {"type": "record", "name": "acme.A", "fields": []}

    class B(Record):
        FULLNAME = "acme.A"
        SCHEMA: ClassVar[dict[str, Any]] = {
            "type": "record", "name": "acme.A", "fields": [{"name": "x", "type": "int"}]
        }

    register_records({"acme.A": A})
    register_records({"acme.A": A})  # again: a no-op
    assert all_records()["acme.A"] is A and fingerprint(A) != fingerprint(B)
    with pytest.raises(SchemaLoadError, match="already registered"):
        register_records({"acme.A": B})
    with pytest.raises(SchemaLoadError, match=r"FULLNAME is acme\.A"):
        register_records({"acme.B": A})
    assert "acme.B" not in all_records(), "a refused batch registers nothing"


def test_check_of_a_project_reports_its_own_types_only(project: tuple[Path, str]) -> None:
    root, pkg = project
    git = ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "schemas"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    path = root / "schemas" / f"{pkg}.notes.NoteTaken.avsc"
    doc = json.loads(path.read_text())
    doc["fields"].append({"name": "author", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(doc))
    args = ["schemas", "check", "--dir", str(root / "schemas"), "--against", "HEAD"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [  # IncidentClosed embeds NoteTaken: changed too
        f"changed ok   {pkg}.incidents.IncidentClosed",
        f"changed ok   {pkg}.notes.NoteTaken",
        "schemas/ is BACKWARD-compatible with HEAD",
    ]
    doc["fields"].append({"name": "minutes", "type": "int"})
    path.write_text(json.dumps(doc))
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert f"INCOMPATIBLE {pkg}.notes.NoteTaken" in res.output and "minutes" in res.output
    assert f"INCOMPATIBLE {pkg}.incidents.IncidentClosed" in res.output
