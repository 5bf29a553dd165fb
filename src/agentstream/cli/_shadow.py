"""``agentstream shadow PRODUCTION --candidate CANDIDATE --from ...``: shadow replay.

Runs the candidate version of an agent on a window of production inputs with every output
redirected to the run's shadow topics (``shadow.<run id>.<topic>``) and no effect outside them,
then prints how its outputs differ from production's: per event type the counts (same, changed,
only production, only shadow) and a sample of differing pairs side by side (``--json`` for
machines). See docs/shadow.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import uuid
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentstream.config import KafkaSettings, check_environment, load
from agentstream.runtime import AgentSettings, load_agent
from agentstream.shadow import ShadowError, ShadowRun, enter_process
from agentstream.shadow.replay import (
    DEFAULT_IGNORE,
    Difference,
    ShadowOptions,
    ShadowReplay,
    ShadowResult,
    Start,
    Stop,
    mark_noise,
    parse_start,
    parse_stop,
)

__all__ = ["register"]

_DURATION = {"s": 1, "m": 60, "h": 3600}


def _duration(text: str) -> timedelta:
    t = text.strip()
    try:
        if t[-1:] in _DURATION:
            return timedelta(seconds=float(t[:-1]) * _DURATION[t[-1]])
        return timedelta(seconds=float(t))
    except ValueError:
        raise typer.BadParameter(f"--deadline {text!r}: use seconds or e.g. 90s, 30m, 2h") from None


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def _cells(p: Any, s: Any) -> tuple[str, str]:
    """Two differing values for side-by-side cells; long texts from shortly before where they
    start to differ (a model's answer differs somewhere in its middle)."""
    if not (isinstance(p, str) and isinstance(s, str)) or max(len(p), len(s)) <= 160:
        return _cell(p), _cell(s)
    i = next((n for n, (a, b) in enumerate(zip(p, s, strict=False)) if a != b),
             min(len(p), len(s)))  # fmt: skip
    start = max(0, i - 40)
    lead = "..." if start else ""
    return _cell(lead + p[start:]), _cell(lead + s[start:])


def _leaf(fields: Any, path: str) -> Any:
    node = fields
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return "—"
        node = node[part]
    return node


def _pair_table(d: Difference) -> Table:
    p, s = d.production, d.shadow
    title = (f"{d.kind}: {d.subject or '-'}  (caused by {d.causation_id}; production "
             f"{p.event_id if p else '—'}, shadow {s.event_id if s else '—'})")
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("field", style="bold")
    table.add_column("production", overflow="fold")
    table.add_column("shadow", overflow="fold")
    if d.kind == "changed" and p is not None and s is not None:
        for path in d.changed_fields:
            table.add_row(path, *_cells(_leaf(p.fields, path), _leaf(s.fields, path)))
    else:
        side = p or s
        assert side is not None
        for key, value in side.fields.items():
            if key == "meta":
                continue
            pv, sv = (_cell(value), "—") if p is not None else ("—", _cell(value))
            table.add_row(key, pv, sv)
    if (p and p.pending) or (s and s.pending):
        table.caption = "pending timer: scheduled, not fired yet"
    return table


def _print_pairs(result: ShadowResult, console: Console, sample: int) -> None:
    shown: dict[str, int] = {}
    for d in result.report.signal:
        n = shown.get(d.event_type, 0)
        if n < sample:
            console.print(_pair_table(d))
        shown[d.event_type] = n + 1
    for etype, n in shown.items():
        if n > sample:
            console.print(f"... {n - sample} more difference(s) of {etype} (--sample, --json)")


def _print(result: ShadowResult, console: Console, sample: int) -> None:
    w = result.to_json(sample=sample)
    console.print(
        f"[bold]shadow run {result.run.run_id}[/]: {result.agent} vs candidate "
        f"{result.candidate}; {result.inputs} inputs; outputs: production "
        f"{result.production_outputs}, shadow {result.shadow_outputs}; "
        f"{'complete' if result.complete else '[red]INCOMPLETE (deadline)[/]'} in "
        f"{result.elapsed:.1f}s"
    )
    noise = result.baseline is not None
    table = Table(title="outputs by event type", title_justify="left")
    cols = ["event type", "same", "changed", "only production", "only shadow"]
    for col in [*cols, *(["of which noise"] if noise else [])]:
        table.add_column(col, justify="left" if col == "event type" else "right")
    for etype, c in sorted(result.report.counts.items()):
        row = [etype, str(c.same), str(c.changed), str(c.only_production), str(c.only_shadow)]
        table.add_row(*row, *([str(c.noise or 0)] if noise else []))
    console.print(table)
    _print_pairs(result, console, sample)
    quiet = len(result.report.differences) - len(result.report.signal)
    if quiet:
        console.print(f"{quiet} difference(s) are noise: the baseline run of production's own "
                      "version differed the same way (--json lists them)")
    if result.report.identical:
        console.print("[green]no differences[/]")
    elif noise and not result.report.signal:
        console.print("[green]no differences beyond the noise floor[/]")
    dl = w["dead_letters"]
    if dl.get("shadow") or dl.get("production"):
        console.print(f"dead letters of window inputs: production {dl.get('production', 0)}, "
                      f"shadow {dl.get('shadow', 0)}")
    if result.production_behind:
        console.print(f"[yellow]production's group has not committed {result.production_behind} "
                      "input(s) of the window yet: their outputs may be missing on its side[/]")
    if result.timers_undecided:
        console.print(f"{len(result.timers_undecided)} timer(s) pending on one side and "
                      "cancelled on the other (by inputs after the window): not compared")
    where = "deleted (--cleanup)" if result.cleaned_up else f"kept under {result.run.namespace}*"
    console.print(f"shadow topics and group {result.group}: {where}")


def shadow(  # noqa: PLR0917 - one parameter per option of the command line
    production: Annotated[str, typer.Argument(help="The production agent: module:attr.")],
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", "-c",
                     help="The version to evaluate: module:attr (default: the production one, "
                     "e.g. with another model in the environment)."),
    ] = None,
    from_: Annotated[
        str,
        typer.Option("--from", help="Window start: earliest, an ISO 8601 time "
                     "(2026-11-30T00:00Z), a time ago (24h), an offset, or \\[topic:]p=o,..."),
    ] = "earliest",
    to: Annotated[
        str | None,
        typer.Option("--to", help="Window end (exclusive): an ISO time, a time ago, "
                     "\\[topic:]p=o,...; default: the end offsets when the run starts."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", help="Window: the first N inputs from --from.")
    ] = None,
    warmup_from: Annotated[
        str | None,
        typer.Option("--warmup-from", help="Start reading here (before --from) so the "
                     "candidate's memory holds what earlier inputs built; not compared."),
    ] = None,
    deadline: Annotated[
        str, typer.Option("--deadline", help="Longest the candidate runs (e.g. 30m).")
    ] = "30m",
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="A dotted field left out of the comparison (repeatable; "
                     "meta.id and meta.time always are)."),
    ] = None,
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Differing pairs shown per event type.")
    ] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON document.")
    ] = False,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Id of the run (default: random).")
    ] = None,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Delete the run's topics and group at the end.")
    ] = False,
    fail_on_diff: Annotated[
        bool, typer.Option("--fail-on-diff", help="Exit 1 when any output differs (beyond the "
                           "noise floor with --baseline).")
    ] = False,
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="First shadow production's own version over the same "
                     "window: the candidate's differences it has too are marked as noise."),
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="Python log level.")] = "WARNING",
) -> None:
    """Shadow replay: evaluate a candidate version of an agent on real traffic before it ships.

    The candidate reads the window of the production agent's inputs in a consumer group of its
    own and writes only shadow topics (shadow.<run id>.<topic>); services skip effects outside
    Kafka in a shadow run. Exit code 2 when the deadline passed before the window's end.
    """
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    prod_agent = load_agent(production)
    kafka = load(KafkaSettings)
    try:
        options = ShadowOptions(
            start=parse_start(from_), stop=parse_stop(to, count),
            warmup=None if warmup_from is None else parse_start(warmup_from),
            deadline=_duration(deadline),
            ignore=(*DEFAULT_IGNORE, *(ignore or ())),
            run_id=run_id or uuid.uuid4().hex[:8], cleanup=cleanup,
        )
        run = ShadowRun(options.run_id or "", topic_prefix=kafka.topic_prefix)
    except ShadowError as exc:
        raise typer.BadParameter(str(exc)) from None
    if baseline and candidate is None:
        raise typer.BadParameter("--baseline measures production's own noise to set a "
                                 "candidate's differences against: give --candidate")
    # Before the candidate is imported: its module-level code sees agentstream.shadow.active().
    enter_process(run)
    cand_agent = load_agent(candidate) if candidate else prod_agent
    check_environment()
    settings = load(AgentSettings)
    base: ShadowResult | None = None
    if baseline:
        enter_process(None)
        base = _run(ShadowReplay(
            prod_agent, prod_agent, kafka=kafka, settings=settings, candidate_label="baseline",
            options=dataclasses.replace(options, run_id=f"{run.run_id}-base"),
        ), "baseline")
        # The candidate reads exactly the baseline's window.
        options = dataclasses.replace(
            options, start=Start(offsets=dict(base.window.starts)),
            stop=Stop(offsets=dict(base.window.ends)),
        )
        enter_process(run)
    result = _run(ShadowReplay(prod_agent, cand_agent, options=options, kafka=kafka,
                               settings=settings, candidate_label=candidate or production,
                               run=run), run.run_id)  # fmt: skip
    if base is not None:
        result.report = mark_noise(result.report, base.report)
        result.baseline = {"run_id": base.run.run_id, "complete": base.complete,
                           "differences": len(base.report.differences),
                           "types": {t: c.to_json() for t, c in base.report.counts.items()}}
    if as_json:
        typer.echo(json.dumps(result.to_json(sample=sample), default=str))
    else:
        _print(result, Console(), sample)
    if not result.complete or (base is not None and not base.complete):
        raise typer.Exit(2)
    if fail_on_diff and result.report.signal:
        raise typer.Exit(1)


def _run(replay: ShadowReplay, label: str) -> ShadowResult:
    err = Console(stderr=True)
    with Progress(TextColumn(f"shadow {label}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=not err.is_terminal) as bar:  # fmt: skip
        task = bar.add_task("inputs", total=None)
        return replay.run(progress=lambda done, total: bar.update(task, completed=done,
                                                                  total=total))


def register(app: typer.Typer) -> None:
    app.command("shadow")(shadow)
