"""``ShadowReplay``: run a candidate version of an agent on a window of production inputs, with
every output kept in the run's namespace, and compare what it emitted with what production did.

The order of a run, and why:

1. The window is fixed first (``resolve_window``: ``[start, end)`` per input partition, end =
   the end offsets at this moment unless ``--to`` / ``--count`` say otherwise), and its inputs'
   event ids are read: they decide which outputs belong to the comparison.
2. The candidate runs as an ``AgentRunner`` under the production agent's NAME (so its event ids,
   sources and timer ids derive exactly as production's do) but with ``KafkaSettings.topic_prefix``
   = the run's namespace (``<prefix>shadow.<run id>.``: its dead letters, dedupe markers, memory
   changelogs, workflow checkpoints, timers, LLM memo and descriptor are all its own, starting
   empty) and consumer group ``<namespace><group>``, whose offsets are committed at the window's
   start (or the warm-up's) before it starts. Inside the run (``agentstream.shadow.entered``)
   ``ctx.emit`` / ``ctx.schedule`` write to ``<namespace><topic>`` and every Kafka client is
   guarded against writing or committing outside the namespace.
   The run is the process's (``enter_process``) while it lasts: run one shadow per process,
   and no production agent beside it.
3. The run ends when the group's committed offsets reach the window's end (the runtime commits
   an input only after its outputs are acknowledged) and no workflow run of the agent is still
   running, or at the deadline (then the result says ``complete: false``).
4. Outputs of both sides caused by the window's inputs are read and compared
   (``diff_outputs``); timers that had not fired count as pending outputs.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType  # type: ignore[attr-defined]

from agentstream.bus import ensure_topic, make_admin, make_consumer
from agentstream.config import KafkaSettings, load
from agentstream.ops.dlq import DeadLetterReadError, read_dead_letters
from agentstream.runtime import Agent, AgentRunner, AgentSettings, Context
from agentstream.serde import Serde
from agentstream.shadow._diff import DEFAULT_IGNORE, DiffReport, Output, diff_outputs
from agentstream.shadow._outputs import read_outputs, read_timer_outputs
from agentstream.shadow._schemas import shadow_serde
from agentstream.shadow._state import ShadowError, ShadowRun, current, enter_process, entered
from agentstream.shadow._window import TP, Start, Stop, Window, read_range, resolve_window

__all__ = ["Progress", "ShadowOptions", "ShadowReplay", "ShadowResult"]

log = logging.getLogger("agentstream.shadow")

# Outputs are read from this long before the window's first input (clocks of hosts differ).
_CLOCK_SLACK_MS = 5 * 60 * 1000
_UNKNOWN_TOPIC = "*"

Progress = Callable[[int, int], None]  # (inputs done, inputs in the window)
_Handler = Callable[[Any, Context], Awaitable[None]]


@dataclass(frozen=True)
class ShadowOptions:
    """How a shadow run is bounded and compared.

    ``start``/``stop``: the window (see ``parse_start`` / ``parse_stop``). ``warmup``: where the
    candidate starts reading instead (earlier than ``start``), so that its memory holds what the
    inputs before the window built; outputs of warm-up inputs are not compared. ``deadline``:
    the longest the candidate runs (default 30 min). ``ignore``: dotted fields left out of the
    comparison (default ``meta.id``, ``meta.time``). ``run_id``: default random.
    ``cleanup``: delete the run's topics and consumer group at the end.
    """

    start: Start = field(default_factory=lambda: Start(earliest=True))
    stop: Stop = field(default_factory=Stop)
    warmup: Start | None = None
    deadline: timedelta = timedelta(minutes=30)
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    run_id: str | None = None
    cleanup: bool = False


@dataclass
class ShadowResult:
    """What a shadow run did and found (``to_json`` is the ``--json`` document)."""

    run: ShadowRun
    agent: str
    candidate: str
    group: str
    window: Window
    inputs: int
    input_types: dict[str, int]
    complete: bool
    elapsed: float
    report: DiffReport
    production_outputs: int
    shadow_outputs: int
    shadow_topics: list[str]
    timers_undecided: list[str] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    production_behind: int = 0
    cleaned_up: bool = False
    baseline: dict[str, Any] | None = None  # the baseline run's summary (``--baseline``)

    def to_json(self, *, sample: int = 5) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "namespace": self.run.namespace,
            "agent": self.agent,
            "candidate": self.candidate,
            "group": self.group,
            "complete": self.complete,
            "elapsed_seconds": round(self.elapsed, 3),
            "window": {"inputs": self.inputs, "types": dict(sorted(self.input_types.items())),
                       "partitions": self.window.to_json()},
            "outputs": {"production": self.production_outputs, "shadow": self.shadow_outputs},
            "shadow_topics": self.shadow_topics,
            "timers_undecided": self.timers_undecided,
            "dead_letters": self.dead_letters,
            "production_behind": self.production_behind,
            "cleaned_up": self.cleaned_up,
            "baseline": self.baseline,
            **self.report.to_json(sample=sample),
        }


@dataclass
class _Inputs:
    ids: set[str] = field(default_factory=set)
    types: dict[str, int] = field(default_factory=dict)
    first_ms: int | None = None
    count: int = 0


class ShadowReplay:
    """One shadow run of ``candidate`` against ``production`` (module docstring).

    ``kafka``: the production cluster's settings (default from the environment); ``settings``:
    the agent's runtime settings (default from the environment; group, ops port and instance id
    are replaced for the run); ``candidate_label`` names the candidate in the report; ``run``:
    the ``ShadowRun`` to use (default: a new one, ``options.run_id`` or random).
    """

    def __init__(
        self,
        production: Agent,
        candidate: Agent,
        *,
        options: ShadowOptions | None = None,
        kafka: KafkaSettings | None = None,
        settings: AgentSettings | None = None,
        candidate_label: str | None = None,
        run: ShadowRun | None = None,
    ) -> None:
        self.production = production
        self.options = options or ShadowOptions()
        self.kafka = kafka or load(KafkaSettings)
        base = settings or load(AgentSettings)
        self.run_info = run or ShadowRun(self.options.run_id or uuid.uuid4().hex[:8],
                                         topic_prefix=self.kafka.topic_prefix)  # fmt: skip
        ns = self.run_info.namespace
        self.production_group = base.group_id or production.name
        self.group = ns + self.production_group
        self.shadow_kafka = self.kafka.model_copy(update={"topic_prefix": ns})
        self.settings = base.model_copy(
            update={"group_id": self.group, "ops_port": None, "instance_id": None}
        )
        self._ends: dict[TP, int] = {}  # the window's ends, once known
        self.candidate = self._as_production(candidate)
        self.candidate_label = candidate_label or f"{candidate.name} {candidate.version}"
        self.codec: Serde = shadow_serde(self.kafka, self.shadow_kafka)
        self._admin: Any = None

    def _as_production(self, candidate: Agent) -> Agent:
        """The candidate under the production agent's name (ids derive as production's), its
        explicit workflow completion topics redirected, its handlers skipping inputs at or past
        the window's end (the consumer reads on until the run stops; those inputs are not the
        run's, and handling them would schedule, cancel and emit for nothing)."""
        for b in candidate.workflows:
            if b.completion_topic is not None:
                b.completion_topic = self.run_info.output_topic(b.completion_topic)
        handlers = [dataclasses.replace(h, fn=self._bounded(h.fn)) for h in candidate.handlers]
        return dataclasses.replace(candidate, name=self.production.name, handlers=handlers)

    def _bounded(self, fn: _Handler) -> _Handler:
        ends = self._ends

        async def handle(event: Any, ctx: Context) -> None:
            end = ends.get((ctx.topic, ctx.partition))
            if end is not None and ctx.offset >= end:
                return
            await fn(event, ctx)

        handle.__name__ = getattr(fn, "__name__", "handle")
        handle.__qualname__ = getattr(fn, "__qualname__", "handle")
        return handle

    # -- the run ------------------------------------------------------------------------------
    def run(self, *, progress: Progress | None = None) -> ShadowResult:
        """Run the candidate over the window, then compare; see the module docstring."""
        t0 = time.monotonic()
        # Process-wide: the runtime starts handler tasks from its consumer thread, which does not
        # carry a context variable; every client and output of this process is the run's now.
        before = current()
        if before is not None and before != self.run_info:
            raise ShadowError(f"shadow run {before.run_id} is active in this process already")
        enter_process(self.run_info)
        try:
            return self._run(t0, progress)
        finally:
            enter_process(before)

    def _run(self, t0: float, progress: Progress | None) -> ShadowResult:
        with entered(self.run_info):
            client = self.kafka.client_config()
            o = self.options
            window = resolve_window(client, self.candidate.topics, o.start, o.stop)
            reading = window
            if o.warmup is not None:
                warm = resolve_window(client, self.candidate.topics, o.warmup, Stop())
                reading = Window({tp: min(warm.starts[tp], s) for tp, s in window.starts.items()},
                                 window.ends)  # fmt: skip
            self._ends.update(window.ends)
            inputs = self._scan(window)
            self._prepare_outputs()
            self._commit_start(reading)
            complete = self._run_candidate(window, reading, progress)
            result = self._compare(window, inputs, complete, t0)
            if o.cleanup:
                self._cleanup()
                result.cleaned_up = True
        result.elapsed = time.monotonic() - t0
        return result

    def _prepare_outputs(self) -> None:
        """Create the shadow copy of every declared output topic now, and of any other topic
        the candidate writes when it is first redirected (``ShadowRun.prepare``)."""
        self._admin = make_admin(self.kafka.client_config())
        used = [t for t in self._admin.list_topics(timeout=30).topics if self.run_info.owns(t)]
        if used:
            raise ShadowError(
                f"shadow run id {self.run_info.run_id!r} was used before ({len(used)} topics "
                f"under {self.run_info.namespace}, e.g. {sorted(used)[0]}): its dedupe markers "
                "would skip every input. Choose another --run-id, or delete those topics"
            )
        object.__setattr__(self.run_info, "prepare", self._mirror)
        for topic in sorted(set(self.production.emits_to) | set(self.candidate.emits_to)):
            if topic != _UNKNOWN_TOPIC:
                self.run_info.output_topic(topic)

    def _mirror(self, topic: str, shadow_topic: str) -> None:
        """``shadow_topic`` like ``topic``: its partition count (keys land as in production)
        and cleanup policy."""
        md = self._admin.list_topics(topic=topic, timeout=30).topics.get(topic)
        partitions, config = 1, {}
        if md is not None and md.error is None and md.partitions:
            partitions = len(md.partitions)
            res = ConfigResource(ResourceType.TOPIC, topic)
            try:
                described = self._admin.describe_configs([res])[res].result(timeout=30)
                config = {"cleanup.policy": described["cleanup.policy"].value}
            except Exception as exc:  # the policy is a nicety; the partitions are what matter
                log.info("could not describe %s: %s", topic, exc)
        ensure_topic(self._admin, shadow_topic, partitions=partitions, config=config)

    def _scan(self, window: Window) -> _Inputs:
        found = _Inputs()
        for msg in read_range(self.kafka.client_config(), window, timeout=timedelta(minutes=5)):
            found.count += 1
            ts = msg.timestamp()[1]
            if ts >= 0:
                found.first_ms = ts if found.first_ms is None else min(found.first_ms, ts)
            try:
                record = self.codec.decode(msg.topic() or "", msg.value(),
                                           partition=msg.partition() or 0, offset=msg.offset() or 0)
            except Exception:
                continue  # the candidate dead-letters it; the report counts dead letters
            meta = getattr(record, "meta", None)
            if meta is None:
                continue
            found.ids.add(str(meta.id))
            name = str(getattr(type(record), "FULLNAME", meta.type))
            found.types[name] = found.types.get(name, 0) + 1
        return found

    def _group_consumer(self) -> Any:
        return make_consumer(self.kafka.client_config(**{
            "group.id": self.group, "enable.auto.commit": False,
        }))

    def _commit_start(self, reading: Window) -> None:
        """Commit the start offsets for the run's fresh group (it then starts there)."""
        c = self._group_consumer()
        try:
            offsets = [TopicPartition(t, p, s) for (t, p), s in sorted(reading.starts.items())]
            if offsets:
                c.commit(offsets=offsets, asynchronous=False)
        finally:
            c.close()

    @staticmethod
    def _committed(c: Any, window: Window) -> dict[TP, int]:
        """The run's committed offset per partition of ``window`` (its start if none), asked
        through ``c``, a consumer of the run's group that never joins it."""
        got = c.committed([TopicPartition(t, p) for t, p in window.starts], timeout=10)
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0
                else window.starts[(tp.topic, tp.partition)] for tp in got}  # fmt: skip

    def _workflows_idle(self) -> bool:
        for b in self.candidate.workflows:
            if b.engine is None:
                continue
            try:
                runs = list(b.engine.runs().values())
            except RuntimeError:  # changed while read: ask again
                return False
            if any(cp.status == "running" for cp in runs):
                return False
        return True

    def _run_candidate(self, window: Window, reading: Window, progress: Progress | None) -> bool:
        runner = AgentRunner(self.candidate, settings=self.settings, kafka=self.shadow_kafka,
                             codec=self.codec)  # fmt: skip
        errors: list[BaseException] = []
        ctx = contextvars.copy_context()

        def main() -> None:
            try:
                ctx.run(asyncio.run, runner.run())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=main, name=f"shadow-{self.run_info.run_id}", daemon=True)
        thread.start()
        deadline = time.monotonic() + self.options.deadline.total_seconds()
        total = reading.total
        complete = False
        probe = self._group_consumer()
        try:
            while not errors and time.monotonic() < deadline:
                at = self._committed(probe, reading)
                done = sum(min(max(at[tp], s), reading.ends[tp]) - s
                           for tp, s in reading.starts.items())
                if progress is not None:
                    progress(done, total)
                if done >= total and self._workflows_idle():
                    complete = True
                    break
                time.sleep(0.3)
        finally:
            probe.close()
            runner.stop()
            thread.join(self.settings.shutdown_timeout.total_seconds() + 30)
        if errors:
            raise ShadowError(
                f"the candidate stopped with {type(errors[0]).__name__}: {errors[0]}; its dead "
                f"letters are in {self.run_info.namespace}dlq.{self.production.name}"
            ) from errors[0]
        if not complete:
            log.warning("shadow run %s reached its deadline (%s) before the window's end",
                        self.run_info.run_id, self.options.deadline)
        return complete

    # -- the comparison -----------------------------------------------------------------------
    def _topics(self) -> set[str]:
        topics = set(self.production.emits_to) | set(self.candidate.emits_to)
        topics |= self.run_info.redirected
        return {t for t in topics if t != _UNKNOWN_TOPIC and not self.run_info.owns(t)}

    def _compare(self, window: Window, inputs: _Inputs, complete: bool, t0: float
                 ) -> ShadowResult:  # fmt: skip
        ns = self.run_info.namespace
        topics = sorted(self._topics())
        shadow = read_outputs(self.kafka.client_config(), {ns + t: t for t in topics}, self.codec,
                              causes=inputs.ids)  # fmt: skip
        sources = {f"agent.{self.production.name}", *shadow.sources}
        since = None if inputs.first_ms is None else inputs.first_ms - _CLOCK_SLACK_MS
        prod = read_outputs(self.kafka.client_config(), {t: t for t in topics}, self.codec,
                            causes=inputs.ids, sources=sources, since_ms=since)  # fmt: skip
        prod_out, shad_out = list(prod.outputs), list(shadow.outputs)
        undecided: list[str] = []
        if self.production.timers or self.candidate.timers:
            undecided = self._add_timers(inputs, prod_out, shad_out, topics)
        report = diff_outputs(prod_out, shad_out, ignore=self.options.ignore)
        return ShadowResult(
            run=self.run_info, agent=f"{self.production.name} {self.production.version}",
            candidate=self.candidate_label, group=self.group, window=window,
            inputs=inputs.count, input_types=inputs.types, complete=complete,
            elapsed=time.monotonic() - t0, report=report,
            production_outputs=len(prod_out), shadow_outputs=len(shad_out),
            shadow_topics=[ns + t for t in topics],
            timers_undecided=undecided, dead_letters=self._dead_letters(inputs),
            production_behind=self._production_behind(window),
        )

    def _production_behind(self, window: Window) -> int:
        """Inputs of the window production's group has not committed yet (their outputs may be
        missing on its side): read-only, from the group's committed offsets."""
        group = self.production_group
        admin = make_admin(self.kafka.client_config())
        try:
            [fut] = admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=30
            ).values()
            committed = {(tp.topic, tp.partition): tp.offset
                         for tp in fut.result(timeout=60).topic_partitions}  # fmt: skip
        except Exception as exc:  # no such group (production never ran with this name)
            log.info("no committed offsets of production group %s: %s", group, exc)
            committed = {}
        return sum(max(0, end - max(committed.get(tp, -1), window.starts[tp]))
                   for tp, end in window.ends.items())  # fmt: skip

    def _add_timers(self, inputs: _Inputs, prod: list[Output], shad: list[Output],
                    topics: list[str]) -> list[str]:  # fmt: skip
        ns = self.run_info.namespace
        name = self.production.name
        p_pending, p_cancelled = read_timer_outputs(self.kafka, name, self.codec,
                                                    causes=inputs.ids)  # fmt: skip
        s_pending, s_cancelled = read_timer_outputs(
            self.shadow_kafka, name, self.codec, causes=inputs.ids,
            report_topic={ns + t: t for t in topics},
        )
        # A timer pending on one side and cancelled on the other was cancelled by an input
        # after the window (or before the shadow caught up): whether it fires is undecided.
        undecided = sorted({o.event_id for o in s_pending if o.event_id in p_cancelled}
                           | {o.event_id for o in p_pending if o.event_id in s_cancelled})
        prod.extend(o for o in p_pending if o.event_id not in undecided)
        shad.extend(o for o in s_pending if o.event_id not in undecided)
        return undecided

    def _dead_letters(self, inputs: _Inputs) -> dict[str, int]:
        out = {}
        for side, kafka in (("production", self.kafka), ("shadow", self.shadow_kafka)):
            try:
                letters = read_dead_letters(kafka, self.production.name)
            except DeadLetterReadError:
                letters = []
            out[side] = sum(1 for e in letters if str(e.letter.event_id) in inputs.ids)
        return out

    def _cleanup(self) -> None:
        """Delete the run's topics and consumer group (every name in its namespace)."""
        admin = make_admin(self.kafka.client_config())
        names = [t for t in admin.list_topics(timeout=30).topics if self.run_info.owns(t)]
        if names:
            for fut in admin.delete_topics(names, operation_timeout=30).values():
                fut.result(timeout=60)
        for fut in admin.delete_consumer_groups([self.group], request_timeout=30).values():
            try:
                fut.result(timeout=60)
            except Exception as exc:  # an empty group may already be gone
                log.info("consumer group %s not deleted: %s", self.group, exc)
