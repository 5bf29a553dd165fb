"""Acceptance: every shipped GitHub, Slack and iCalendar file goes through ``agentstream
normalize``: each yields events (valid against the contract) or a named skip, and none crashes.

There is no list of exceptions: Slack's published documentation examples ``*.docs.raw.txt`` (not
strictly JSON: a trailing comma) are read leniently and yield their events; files that are not
payloads (the signing notes, the signature vector lists, the calendar index) are a named
``not-a-payload`` skip. Input that is a payload but unreadable is still exit code 2.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentstream.cli import app
from agentstream.schemas import from_json, record_class
from agentstream.serde import InMemorySchemaStore, SingleObjectSerde

DATA = Path(__file__).resolve().parents[1] / "data"
SOURCES = {"github": "github", "slack": "slack", "ics": "ics"}
TOPICS = {"github": "events.code", "slack": "events.chat", "ics": "events.calendar"}
NOT_PAYLOADS = {"HEADERS_AND_SIGNATURES.md", "signature_vectors.jsonl", "INDEX.json"}
TRAILING_COMMA = {
    "app_mention.docs.raw.txt",
    "channel_created.docs.raw.txt",
    "message.channels.docs.raw.txt",
    "reaction_added.docs.raw.txt",
}
runner = CliRunner()
serde = SingleObjectSerde(InMemorySchemaStore())


def _files() -> list[tuple[str, Path]]:
    found = []
    for source, folder in SOURCES.items():
        for p in sorted((DATA / folder).rglob("*")):
            if p.is_file():
                found.append((source, p))
    return found


FILES = _files()
OUTCOMES: Counter[str] = Counter()


def test_the_copied_folders_are_complete() -> None:
    by_source = Counter(source for source, _ in FILES)
    assert by_source == {"github": 69, "slack": 80, "ics": 21}


@pytest.mark.parametrize(("source", "path"), FILES, ids=lambda x: str(x).split("tests/data/")[-1])
def test_every_file_yields_events_or_a_named_skip(source: str, path: Path) -> None:
    result = runner.invoke(app, ["normalize", source, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    skips = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert lines or skips, f"{path}: neither events nor a skip reason"
    for skip in skips:
        reason = skip.split(": ", 2)[2]
        assert reason and reason != "nothing of interest", skip
    not_a_payload = [s for s in skips if s.split(": ", 2)[2].startswith("not-a-payload: ")]
    if path.name in NOT_PAYLOADS or path.parent.name == "schema":  # Slack's JSON Schemas
        assert not lines and len(not_a_payload) == 1, result.stderr
    else:
        assert not not_a_payload, f"{path}: a payload taken for a non-payload: {result.stderr}"
    if path.name in TRAILING_COMMA:
        # the lenient read means the same as Slack's corrected example beside it
        fixed = path.with_name(path.name.replace(".raw.txt", ".fixed.json"))
        same = runner.invoke(app, ["normalize", source, str(fixed)])
        assert (result.stdout, _reasons(result.stderr)) == (same.stdout, _reasons(same.stderr))
    for line in lines:
        cls = record_class(line["type"])
        event = cls.from_avro(from_json(line["value"], cls.SCHEMA))
        serde.encode(line["topic"], event)  # valid against the contract
        assert line["key"] == event.meta.subject  # type: ignore[attr-defined]
        assert line["topic"] == TOPICS[source]


def _reasons(stderr: str) -> list[str]:
    return [line.split(": ", 2)[2] for line in stderr.splitlines() if line.startswith("skipped: ")]


def test_the_same_file_gives_the_same_event_ids_every_time() -> None:
    path = DATA / "github" / "pull_request" / "closed.merged.json"
    first = runner.invoke(app, ["normalize", "github", str(path)]).stdout
    again = runner.invoke(app, ["normalize", "github", str(path)]).stdout
    assert first == again and json.loads(first)["type"].endswith("PullRequestMerged")


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = runner.invoke(app, ["normalize", "github", "--event", "pull_request", str(missing)])
    assert result.exit_code == 2 and "cannot be read" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"action": "opened",')
    result = runner.invoke(app, ["normalize", "github", "--event", "pull_request", str(broken)])
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    no_repo = tmp_path / "norepo.json"
    no_repo.write_text('{"action": "opened"}')
    result = runner.invoke(app, ["normalize", "github", "--event", "pull_request", str(no_repo)])
    assert result.exit_code == 2 and "'repository'" in result.stderr


def test_a_payload_broken_beyond_lenient_reading_is_still_an_error(tmp_path: Path) -> None:
    truncated = tmp_path / "envelope.raw.txt"  # a trailing comma, and then the end is missing
    truncated.write_text('{"type": "event_callback", "event": {"type": "message",}')
    result = runner.invoke(app, ["normalize", "slack", str(truncated)])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert "not valid JSON" in result.stderr and "line 1" in result.stderr
    not_ics = tmp_path / "team.ics"
    not_ics.write_text("{this is neither JSON nor iCalendar")
    result = runner.invoke(app, ["normalize", "ics", str(not_ics)])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    day = tmp_path / "general" / "notes.json"  # a list, but not an export day file
    day.parent.mkdir()
    day.write_text("[1, 2]")
    result = runner.invoke(app, ["normalize", "slack", str(day)])
    assert result.exit_code == 2 and "not an export day file" in result.stderr


def test_non_payloads_are_named_skips_whatever_the_source(tmp_path: Path) -> None:
    notes = tmp_path / "NOTES.md"
    notes.write_text("# How we sign webhooks\n\n{not json}\n")
    lines = tmp_path / "rows.jsonl"
    lines.write_text('{"a": 1}\n{"a": 2}\n')
    index = tmp_path / "INDEX.json"
    index.write_text('{"a.json": {"bytes": 3}, "b.json": {"bytes": 4}}')
    for source in ("github", "slack", "ics"):
        for path, why in (
            (notes, "documentation (Markdown)"),
            (lines, "a JSON Lines file (2 records)"),
            (index, "an index of 2 files"),
        ):
            result = runner.invoke(app, ["normalize", source, str(path)])
            assert result.exit_code == 0, result.stderr
            assert result.stdout == "" and f"not-a-payload: {why}" in result.stderr


def test_normalize_keeps_build_state_across_files_and_uses_the_identity_map(
    tmp_path: Path,
) -> None:
    people = tmp_path / "people.toml"
    people.write_text('[people.octo]\ngithub = ["octocat"]\n')
    jobs = DATA / "github" / "workflow_job"
    result = runner.invoke(
        app,
        [
            "normalize",
            "github",
            "--identity-map",
            str(people),
            str(jobs / "completed.failure.json"),
            str(jobs / "completed.success.json"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"].rsplit(".", 1)[1] for line in lines] == ["BuildFailed", "BuildRecovered"]
    sender = json.loads((jobs / "completed.failure.json").read_text())["sender"]["login"]
    actor = lines[0]["value"]["actor"]
    assert actor == sender and lines[0]["value"]["actor_person"] == (
        "octo" if actor.lower() == "octocat" else None
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[people.x]\ngithub = 3\n")
    result = runner.invoke(
        app, ["normalize", "github", "--identity-map", str(bad), str(jobs / "queued.json")]
    )
    assert result.exit_code == 2
    assert "people.x.github must be a list of strings" in result.stderr
