"""``agentstream normalize``, ``agentstream gateway`` and ``agentstream import``.

``normalize`` is a dry run without a broker: files in, semantic events out as JSON lines (or the
skip reason on stderr), through the same ``Normalizer`` as the normalizer service. Exit codes:
0 for events or skips, 2 for input it cannot read (the message says why).
``import`` writes the same raw records the gateway writes (``ingest.<source>``, acknowledged,
ids from the source so a re-run writes the same ids) and prints a summary line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentstream.config import KafkaSettings, check_environment, load
from agentstream.connectors import (
    FileRecords,
    GatewaySettings,
    IdentityMap,
    IdentityMapError,
    MalformedPayloadError,
    Normalizer,
    NormalizerSettings,
    RawPublisher,
    github_file,
    ics_file,
    ingest_topic,
    run_gateway,
    slack_export_channel_ids,
    slack_file,
)
from agentstream.events import RawRecord
from agentstream.schemas import to_json

__all__ = ["register"]

normalize_app = typer.Typer(
    help="Dry run: print the semantic events files mean (no broker needed).", no_args_is_help=True
)
import_app = typer.Typer(
    help="Batch connectors: write files to ingest.<source> as raw records.", no_args_is_help=True
)

IdentityOpt = Annotated[
    Path | None, typer.Option("--identity-map", help="TOML identity map (docs/connectors.md).")
]
FilesArg = Annotated[list[Path], typer.Argument(help="Payload files.", exists=False)]


def _normalizer(
    identity_map: Path | None, past_days: float | None = None, future_days: float | None = None
) -> Normalizer:
    base: NormalizerSettings = load(NormalizerSettings)
    changes: dict[str, object] = {}
    if past_days is not None:
        changes["calendar_past"] = timedelta(days=past_days)
    if future_days is not None:
        changes["calendar_future"] = timedelta(days=future_days)
    if identity_map is not None:
        changes["identity_map"] = identity_map
    settings = base.model_copy(update=changes) if changes else base
    try:
        identity = (
            IdentityMap.load(settings.identity_map) if settings.identity_map else IdentityMap()
        )
    except IdentityMapError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    return Normalizer(settings=settings, identity=identity)


def _print_records(normalizer: Normalizer, files: list[FileRecords]) -> None:
    for fr in files:
        if fr.skipped:
            typer.echo(f"skipped: {fr.path}: {fr.skipped}", err=True)
            continue
        for raw in fr.records:
            result = normalizer.normalize(raw)
            for e in result.events:
                line = {
                    "topic": e.topic,
                    "key": e.key,
                    "type": type(e.event).FULLNAME,
                    "value": to_json(e.event.to_avro(), e.event.SCHEMA),
                }
                typer.echo(json.dumps(line, ensure_ascii=False, sort_keys=True))
            if result.skipped:
                typer.echo(f"skipped: {fr.path}: {result.skipped}", err=True)


def _run(read: Iterator[FileRecords], normalizer: Normalizer) -> None:
    try:
        _print_records(normalizer, list(read))
    except MalformedPayloadError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


@normalize_app.command("github")
def normalize_github(
    files: FilesArg,
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            help="The X-GitHub-Event (default: a recorded delivery's own "
            "header, else the file's folder name).",
        ),
    ] = None,
    identity_map: IdentityOpt = None,
) -> None:
    """GitHub webhook payloads (or recorded deliveries) → events.code, as JSON lines.

    Several files are normalized in order, so a failed build followed by a successful one
    shows as BuildRecovered."""
    _run((github_file(p, event=event) for p in files), _normalizer(identity_map))


@normalize_app.command("slack")
def normalize_slack(files: FilesArg, identity_map: IdentityOpt = None) -> None:
    """Slack Events API bodies or export files (day files, channels.json) → events.chat."""
    _run((slack_file(p) for p in files), _normalizer(identity_map))


@normalize_app.command("ics")
def normalize_ics(
    files: FilesArg,
    identity_map: IdentityOpt = None,
    past_days: Annotated[
        float | None,
        typer.Option(
            "--past-days", help="Expand recurrences from N days before today (default 30)."
        ),
    ] = None,
    future_days: Annotated[
        float | None, typer.Option("--future-days", help="... to N days after today (default 180).")
    ] = None,
) -> None:
    """iCalendar files → events.calendar (recurrences expanded over the window)."""
    _run((ics_file(p) for p in files), _normalizer(identity_map, past_days, future_days))


def gateway(
    host: Annotated[
        str | None, typer.Option("--host", help="Address (default AGENTSTREAM_GATEWAY_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default AGENTSTREAM_GATEWAY_PORT, 8080).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Worker processes sharing the port (AGENTSTREAM_GATEWAY_WORKERS, 1)."
        ),
    ] = None,
) -> None:
    """Serve the webhook gateway: POST /webhooks/github and /webhooks/slack → ingest.*.

    Secrets: AGENTSTREAM_GATEWAY_GITHUB_SECRETS, AGENTSTREAM_GATEWAY_SLACK_SIGNING_SECRETS
    (comma-separated for rotation). A 2xx is sent only after Kafka acknowledged the record."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    check_environment()
    given = {"host": host, "port": port, "workers": workers}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings: GatewaySettings = load(GatewaySettings, **overrides)
    run_gateway(settings, load(KafkaSettings))


def _walk(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in suffixes)
            )
        elif p.is_file():
            found.append(p)
        else:
            typer.secho(f"error: {p} does not exist", err=True, fg=typer.colors.RED)
            raise typer.Exit(2)
    return found


def _import(source: str, files: list[Path], read: object) -> None:
    settings: KafkaSettings = load(KafkaSettings)
    topic = ingest_topic(source, prefix=settings.topic_prefix)
    records: list[tuple[str, str, RawRecord]] = []
    skipped = 0
    problems: list[str] = []
    for path in files:
        try:
            fr: FileRecords = read(path)  # type: ignore[operator]
        except MalformedPayloadError as exc:
            problems.append(str(exc))
            continue
        if fr.skipped:
            skipped += 1
        for raw in fr.records:
            records.append(
                (topic, raw.headers.get("channel") or raw.headers.get("file") or "", raw)
            )
    publisher = RawPublisher(settings, timeout=timedelta(seconds=30))
    with Progress(
        TextColumn(f"importing to {topic}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("records", total=len(records))
        try:
            ok, failed = publisher.publish_all(records, on_done=lambda _ok: bar.advance(task))
        finally:
            publisher.close()
    for p in problems:
        typer.secho(f"unreadable: {p}", err=True, fg=typer.colors.YELLOW)
    typer.echo(
        f"imported {ok} record(s) from {len(files)} file(s) to {topic}: {failed} failed, "
        f"{skipped} file(s) without records, {len(problems)} unreadable"
    )
    if failed or problems:
        raise typer.Exit(1)


@import_app.command("slack-export")
def import_slack_export(
    folder: Annotated[Path, typer.Argument(help="An unzipped Slack workspace export.")],
) -> None:
    """A Slack export folder: channels.json (channel creations) and <channel>/<day>.json."""
    if not folder.is_dir():
        typer.secho(f"error: {folder} is not a folder", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    ids = slack_export_channel_ids(folder)
    files = [folder / "channels.json"] if (folder / "channels.json").is_file() else []
    files += sorted(p for p in folder.glob("*/*.json") if p.is_file())
    _import("slack", files, lambda p: slack_file(p, channel_ids=ids))


@import_app.command("ics")
def import_ics(
    paths: Annotated[list[Path], typer.Argument(help="iCalendar files or folders.")],
) -> None:
    """iCalendar files (.ics), one raw record per file (id from its content)."""
    _import("ics", _walk(paths, (".ics",)), ics_file)


@import_app.command("github-folder")
def import_github_folder(
    folder: Annotated[Path, typer.Argument(help="A folder of GitHub webhook payloads (.json).")],
    event: Annotated[
        str | None,
        typer.Option(
            "--event",
            help="X-GitHub-Event of every file "
            "(default: a recorded delivery's header, else the file's folder name).",
        ),
    ] = None,
) -> None:
    """A folder of GitHub webhook payloads, e.g. <event>/<name>.json or recorded deliveries."""
    _import("github", _walk([folder], (".json",)), lambda p: github_file(p, event=event))


def register(app: typer.Typer) -> None:
    app.add_typer(normalize_app, name="normalize")
    app.add_typer(import_app, name="import")
    app.command()(gateway)
