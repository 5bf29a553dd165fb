"""The workflow engine: runs steps, checkpoints each finished one, resumes runs after a crash.

The order of writes is the whole guarantee, and it lives here only:

1. ``start`` writes the run's first checkpoint (input, every step pending) and waits for the
   acknowledgement; from then on the run is durable and the trigger may be committed.
2. Each step attempt runs under its timeout and retry policy. When a step finishes, its result
   is written in the run's checkpoint and acknowledged BEFORE any step that depends on it starts.
   So a finished step is never executed again: after a crash the run resumes at its first
   unfinished step with the finished steps' results restored.
3. The run ends by emitting its completion event (``WorkflowCompleted`` / ``WorkflowFailed``, or
   the user's encoding) and recording the final status. In ``exactly-once`` mode both go in one
   Kafka transaction, so the event exists iff the run is recorded as finished. In
   ``at-least-once`` mode the event is acknowledged first and the status second; a crash in
   between re-emits the event on resume with the SAME event id (derived from the run id), so a
   consumer that deduplicates by event id sees it once.

A step interrupted after its side effect but before its checkpoint runs again: that is what
``StepContext.idempotency_key`` is for.

Runs are partitioned: a run lives in one partition of the runs topic (an agent puts it in the
partition of the trigger that started it) and only the process that owns that partition runs
it. ``assign``/``revoke`` move ownership (the agent runtime calls them from its consumer
group's rebalances); a revoked run is stopped, not cancelled, and its next owner resumes it at
its first unfinished step. A partition is read only after every transaction left open on it is
decided, so the read sees every step that finished. In exactly-once mode the owner of a
partition writes through a transactional id of that partition: a new owner fences the old one,
whose later checkpoint writes fail (its runs stop) instead of overwriting newer progress.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType, TracebackType
from typing import Any, Literal

from confluent_kafka import KafkaException

from agentstream.config import KafkaSettings
from agentstream.errors import CheckpointError
from agentstream.ops.metrics import WORKFLOW_CHECKPOINT_LATENCY, WORKFLOW_RUNS, WORKFLOW_STEPS
from agentstream.workflow._checkpoint import (
    RunCheckpoint,
    StepState,
    decode_value,
    encode_value,
    now,
)
from agentstream.workflow._kafka import (
    AckedProducer,
    OutRecord,
    RecordWriter,
    ensure_topic,
    partition_count,
    read_compacted,
    read_partition,
)
from agentstream.workflow._owned import OwnedPartition, PartitionOwner
from agentstream.workflow._workflow import Workflow, execute_step

__all__ = [
    "CompletionEncoder",
    "DeliveryMode",
    "RecordWriter",
    "RunOutcome",
    "WorkflowEngine",
    "read_runs",
    "runs_topic",
]

log = logging.getLogger("agentstream.workflow")

DeliveryMode = Literal["at-least-once", "exactly-once"]

# Namespace for ids derived from run ids and trigger ids (stable across processes and restarts).
ID_NAMESPACE = uuid.UUID("5b0f7a52-3c1e-4d7e-9a51-6f1f6c0e2a11")


def runs_topic(workflow: str, *, prefix: str = "") -> str:
    """The compacted checkpoint topic of a workflow: ``<prefix>workflows.<name>.runs``."""
    return f"{prefix}workflows.{workflow}.runs"


def read_runs(
    workflow: str,
    settings: KafkaSettings | None = None,
    *,
    timeout: timedelta = timedelta(seconds=30),
) -> list[RunCheckpoint]:
    """The last checkpoint of every run of ``workflow``, oldest first (for CLIs and tests)."""
    settings = settings or KafkaSettings()
    topic = runs_topic(workflow, prefix=settings.topic_prefix)
    stored = read_compacted(settings.client_config(), topic, timeout=timeout)
    runs = []
    for value in stored.values():
        try:
            runs.append(RunCheckpoint.from_bytes(value))
        except (ValueError, KeyError):
            continue
    return sorted(runs, key=lambda r: r.created_at)


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts)))


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``event_id`` is the id of its completion event (same on every re-emit)."""

    run_id: str
    workflow: str
    version: str
    status: Literal["succeeded", "failed"]
    results: Mapping[str, Any]
    error: str | None
    failed_step: str | None
    event_id: str
    trigger_id: str | None

    @property
    def event_type(self) -> str:
        kind = "WorkflowCompleted" if self.status == "succeeded" else "WorkflowFailed"
        return f"agentstream.workflow.{kind}"


CompletionEncoder = Callable[[RunOutcome], bytes]


def default_completion_event(outcome: RunOutcome) -> bytes:
    """The default completion event: JSON with a CloudEvents-like ``meta`` like every event."""
    doc = {
        "meta": {
            "id": outcome.event_id,
            "type": outcome.event_type,
            "source": f"workflow.{outcome.workflow}",
            "subject": outcome.run_id,
            "time": now().isoformat(timespec="milliseconds"),
            "correlation_id": outcome.trigger_id or outcome.run_id,
            "causation_id": outcome.trigger_id,
        },
        "run_id": outcome.run_id,
        "workflow": outcome.workflow,
        "version": outcome.version,
        "status": outcome.status,
        "results": {k: encode_value(v) for k, v in outcome.results.items()},
        "error": outcome.error,
        "failed_step": outcome.failed_step,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


# How long a partition whose load failed waits before the next try (the broker is away).
_LOAD_RETRY = (1.0, 30.0)


class WorkflowEngine(PartitionOwner):
    """Runs one ``Workflow``: starts runs, checkpoints steps, resumes unfinished runs.

    Use as ``async with WorkflowEngine(wf) as engine:`` (or ``await open()`` / ``close()``).
    ``open`` provisions the runs topic if missing (``create_topics``, default on; ``partitions``
    default 3) and reads it to the end; ``resume_all`` then continues every unfinished run.

    **Partitions.** A run lives in one partition of the runs topic (``start(...,
    partition=p)``; by default the run id's hash). With ``partitioned=True`` the engine owns no
    partition after ``open``: ``assign(ps)`` loads partitions ``ps`` (in the background;
    ``await ready()``) and resumes their unfinished runs, ``revoke(ps)`` stops them where they
    are (not cancelled: the next owner resumes them at their first unfinished step). Without it
    ``open`` owns every partition (one process per workflow).

    ``mode`` (default ``"at-least-once"``) decides how the completion event is made unique (see
    the module docstring). Under ``exactly-once`` each owned partition has its own
    transactional producer, id ``<transactional_prefix>.<runs topic>.<partition>``: the next
    owner of a partition fences the previous one (a zombie's writes fail), and its transaction
    left open by a crash is aborted when the next owner takes over. ``completion_topic``
    defaults to ``<prefix>workflows.<name>.events``; ``encode_completion`` replaces the default
    JSON event (e.g. with an Avro record whose ``meta.id`` is ``outcome.event_id``).
    ``ack_timeout`` (default 30 s) bounds every write, ``read_timeout`` (default 60 s) the read
    of a partition (which first waits for transactions a killed owner left open: keep it above
    ``transaction.timeout.ms``).
    """

    def __init__(
        self,
        workflow: Workflow,
        *,
        settings: KafkaSettings | None = None,
        mode: DeliveryMode = "at-least-once",
        completion_topic: str | None = None,
        encode_completion: CompletionEncoder | None = None,
        create_topics: bool = True,
        partitions: int = 3,
        ack_timeout: timedelta = timedelta(seconds=30),
        read_timeout: timedelta = timedelta(seconds=60),
        partitioned: bool = False,
        transactional_prefix: str = "agentstream.workflow",
    ) -> None:
        workflow.order()  # fail fast on a bad declaration
        self.workflow = workflow
        self.settings = settings or KafkaSettings()
        prefix = self.settings.topic_prefix
        self.mode: DeliveryMode = mode
        self.runs_topic = runs_topic(workflow.name, prefix=prefix)
        self.completion_topic = completion_topic or f"{prefix}workflows.{workflow.name}.events"
        self.partitioned = partitioned
        self.partition_count = partitions
        self._encode = encode_completion or default_completion_event
        self._create_topics = create_topics
        self._read_timeout = read_timeout
        self._ack_timeout = ack_timeout
        self._tx_prefix = transactional_prefix
        # at-least-once: one idempotent producer for every partition; exactly-once: one
        # transactional producer per owned partition (made by ``assign``).
        self._shared = (
            None if mode == "exactly-once"
            else AckedProducer(self.settings.client_config(), ack_timeout=ack_timeout)
        )
        self._parts: dict[int, OwnedPartition] = {}
        self._runs: dict[str, RunCheckpoint] = {}
        self._part_of: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._opened = False

    async def __aenter__(self) -> WorkflowEngine:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Provision topics, connect, and (unless ``partitioned``) load every partition."""
        if self._opened:
            return
        config = self.settings.client_config()
        if self._create_topics:
            for topic, compacted in ((self.runs_topic, True), (self.completion_topic, False)):
                await asyncio.to_thread(
                    ensure_topic, config, topic, partitions=self.partition_count,
                    timeout=self._read_timeout, compacted=compacted,
                )
        count = await asyncio.to_thread(
            partition_count, config, self.runs_topic, timeout=self._read_timeout
        )
        if count is None:
            raise CheckpointError(
                f"the runs topic {self.runs_topic!r} does not exist; create it (agentstream "
                "topics apply) or let the engine create it (create_topics=True)"
            )
        self.partition_count = count
        if self._shared is not None:
            await self._shared.open()
        self._opened = True
        if not self.partitioned:
            self.assign(range(count), resume=False)
            await self.ready()

    async def close(self) -> None:
        """Stop running runs where they are (they resume on the next start) and disconnect."""
        await self.revoke(list(self._parts))
        if self._shared is not None:
            await self._shared.close()
        self._opened = False

    # -- partitions -------------------------------------------------------------------------------
    def assign(self, partitions: Iterable[int], *, resume: bool = True) -> None:
        """Own ``partitions`` from now on: each is loaded in the background (``ready``), then its
        unfinished runs are resumed (``resume``). Call on the event loop."""
        self._need_open()
        self._own(partitions, topic=self.runs_topic, load=lambda part: self._load(part, resume),
                  error=CheckpointError, hint="the partition count of the workflow's trigger topic")

    def revoke(self, partitions: Iterable[int]) -> Awaitable[None]:
        """Stop owning ``partitions``: their runs stop where they are (not cancelled: the next
        owner resumes them) and are forgotten here. The ownership ends at once (call on the
        loop); await the result for the runs to have stopped and the writes to be flushed."""
        return self._release(partitions, what=f"workflow {self.workflow.name}")

    def _drop_item(self, item_id: str) -> None:
        self._runs.pop(item_id, None)
        self._part_of.pop(item_id, None)

    async def _load(self, part: OwnedPartition, resume: bool) -> None:
        """Fence the partition's previous owner (exactly-once), read it, resume its runs; tried
        again while the broker is away, until it works or the partition is revoked."""
        delay = _LOAD_RETRY[0]
        while True:
            try:
                if self._shared is None and part.producer is None:
                    # Set before it opens: revoke closes it, which waits for the open to end
                    # (an init_transactions finishing after the next owner's would fence it).
                    part.producer = AckedProducer(
                        self.settings.client_config(),
                        transactional_id=f"{self._tx_prefix}.{self.runs_topic}.{part.partition}",
                        ack_timeout=self._ack_timeout,
                    )
                if part.producer is not None and not part.producer.opened:
                    # init_transactions aborts what a killed owner left open, so the read
                    # below is not held back by it; it also fences that owner.
                    await part.producer.open()
                stored = await asyncio.to_thread(
                    read_partition, self.settings.client_config(), self.runs_topic,
                    part.partition, timeout=self._read_timeout,
                )
                break
            except (CheckpointError, KafkaException) as exc:
                log.warning("workflow %s: loading partition %d failed (%s); again in %.0fs",
                            self.workflow.name, part.partition, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LOAD_RETRY[1])
        for key, value in stored.items():
            try:
                cp = RunCheckpoint.from_bytes(value)
            except (ValueError, KeyError) as exc:
                log.warning("skipping unreadable checkpoint %r on %s[%d]: %s",
                            key, self.runs_topic, part.partition, exc)
                continue
            self._runs[key] = cp
            self._part_of[key] = part.partition
            part.ids.add(key)
        part.ready.set()
        if resume:
            resumed = self._resume(part.ids)
            log.info("workflow %s: partition %d loaded, %d run(s) resumed",
                     self.workflow.name, part.partition, len(resumed))

    def _part(self, partition: int) -> OwnedPartition:
        part = self._parts.get(partition)
        if part is None:
            raise CheckpointError(
                f"partition {partition} of {self.runs_topic!r} is not owned by this process "
                f"(owned: {self.owned}); the run belongs to whoever owns it"
            )
        return part

    def _partition_of(self, run_id: str) -> int:
        p = self._part_of.get(run_id)
        if p is None:
            raise CheckpointError(f"run {run_id!r} is not in a partition this process owns")
        return p

    def _producer_of(self, partition: int) -> AckedProducer:
        if self._shared is not None:
            return self._shared
        producer = self._part(partition).producer
        if producer is None:
            raise CheckpointError(f"partition {partition} of {self.runs_topic!r} is not loaded")
        return producer

    def _need_open(self) -> None:
        if not self._opened:
            raise RuntimeError("WorkflowEngine is not open: use `async with` or await open()")

    def runs(self) -> dict[str, RunCheckpoint]:
        """The last known checkpoint of every run of the owned partitions (updated as runs go)."""
        return dict(self._runs)

    def partition_for(self, run_id: str) -> int:
        """The partition of a run started without one: the run id's hash."""
        return zlib.crc32(run_id.encode()) % self.partition_count

    async def start(
        self,
        trigger: Any,
        *,
        run_id: str | None = None,
        trigger_id: str | None = None,
        partition: int | None = None,
        write: RecordWriter | None = None,
    ) -> str:
        """Start a run for ``trigger`` and return its run id once the run is durable.

        ``trigger`` is the run's input: a JSON value or an Avro event ``Record``. The run id
        defaults to one derived from the trigger's event id (``meta.id`` of a record, or
        ``trigger_id``), so a redelivered trigger finds the existing run instead of starting a
        second one; with neither, a random id is used. Starting a known run id starts nothing
        (a known unfinished run is resumed if it is not running in this process).
        ``partition``: where the run lives (the trigger's partition when co-partitioned; default
        the run id's hash); it must be owned, and is waited for while it loads. ``write``: who
        writes the first checkpoint (the agent's transactional producer, so that it commits
        with the trigger's offset); default the engine.
        """
        self._need_open()
        meta = getattr(trigger, "meta", None)
        trigger_id = trigger_id or getattr(meta, "id", None)
        if run_id is None:
            run_id = (
                derived_id(self.workflow.name, trigger_id) if trigger_id else str(uuid.uuid4())
            )
        p = self.partition_for(run_id) if partition is None else partition
        part = self._part(p)
        await part.ready.wait()
        if self._parts.get(p) is not part:
            raise CheckpointError(f"partition {p} of {self.runs_topic!r} was revoked meanwhile")
        known = self._runs.get(run_id)
        if known is not None:
            if known.status == "running" and run_id not in self._tasks:
                self._spawn(known)
            return run_id
        cp = RunCheckpoint(
            run_id=run_id,
            workflow=self.workflow.name,
            version=self.workflow.version,
            input=encode_value(trigger, what="workflow input"),
            steps={n: StepState() for n in self.workflow.order()},
            trigger_id=trigger_id,
            trigger_type=getattr(meta, "type", None),
        )
        if write is None:
            await self._checkpoint(cp, partition=p)
        else:
            cp.updated_at = now()
            await write(OutRecord(self.runs_topic, run_id, cp.to_bytes(), partition=p))
            self._remember(cp, p)
        if self._parts.get(p) is part:  # (still owned: else the next owner resumes it)
            self._spawn(cp)
        return run_id

    def _remember(self, cp: RunCheckpoint, partition: int) -> None:
        part = self._parts.get(partition)
        if part is None:
            return  # revoked while the write was on its way: the next owner reads it
        self._runs[cp.run_id] = cp
        self._part_of[cp.run_id] = partition
        part.ids.add(cp.run_id)

    async def resume_all(self) -> list[str]:
        """Continue every run recorded as running (not already running here); returns their ids."""
        self._need_open()
        await self.ready()
        return self._resume(list(self._runs))

    def _resume(self, run_ids: Iterable[str]) -> list[str]:
        resumed = []
        for run_id in list(run_ids):
            cp = self._runs.get(run_id)
            if cp is not None and cp.status == "running" and run_id not in self._tasks:
                log.info("resuming run %s of %s at step %s", run_id, cp.workflow,
                         cp.first_unfinished())
                self._spawn(cp)
                resumed.append(run_id)
        return resumed

    async def wait(self, run_id: str, *, timeout: timedelta = timedelta(minutes=5)) -> RunOutcome:
        """Wait for a run to end and return how it ended (``TimeoutError`` at the deadline)."""
        task = self._tasks.get(run_id)
        if task is not None:
            async with asyncio.timeout(timeout.total_seconds()):
                return await asyncio.shield(task)
        cp = self._runs.get(run_id)
        if cp is None:
            raise KeyError(f"no run {run_id!r} of workflow {self.workflow.name!r}")
        if cp.status == "running":
            raise RuntimeError(f"run {run_id!r} is unfinished and not running; call resume_all()")
        return self._outcome(cp)

    async def run(self, trigger: Any, *, run_id: str | None = None,
                  timeout: timedelta = timedelta(minutes=5)) -> RunOutcome:
        """``start`` then ``wait``: convenient in scripts and tests."""
        return await self.wait(await self.start(trigger, run_id=run_id), timeout=timeout)

    def _spawn(self, cp: RunCheckpoint) -> None:
        task = asyncio.create_task(self._execute(cp), name=f"workflow-run-{cp.run_id}")
        self._tasks[cp.run_id] = task

        def forget(t: asyncio.Task[RunOutcome]) -> None:
            if self._tasks.get(cp.run_id) is t:
                del self._tasks[cp.run_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("run %s of %s stopped: %s", cp.run_id, cp.workflow, t.exception())

        task.add_done_callback(forget)

    async def _checkpoint(
        self, cp: RunCheckpoint, *extra: OutRecord, partition: int | None = None
    ) -> None:
        p = self._partition_of(cp.run_id) if partition is None else partition
        cp.updated_at = now()
        record = OutRecord(self.runs_topic, cp.run_id, cp.to_bytes(), partition=p)
        t0 = time.perf_counter()
        await self._producer_of(p).write([*extra, record])
        WORKFLOW_CHECKPOINT_LATENCY.labels(self.workflow.name).observe(time.perf_counter() - t0)
        self._remember(cp, p)

    async def _persist(self, cp: RunCheckpoint, *extra: OutRecord) -> None:
        """``_checkpoint`` for a run in flight: a write the broker did not acknowledge in time
        (the broker is away) is written again, 1 s, 2 s, ... 30 s apart, until it is or the
        engine closes — a run never stops because the broker restarted. A fenced engine (a
        newer owner of the partition took over) stops the run."""
        delay, warned = 1.0, False
        while True:
            try:
                await self._checkpoint(cp, *extra)
            except CheckpointError as exc:
                if exc.fatal or not self._opened or cp.run_id not in self._part_of:
                    raise
                if not warned:
                    log.warning("run %s of %s: checkpoint not acknowledged (%s); writing it "
                                "again until the broker is back", cp.run_id, cp.workflow, exc)
                    warned = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            else:
                if warned:
                    log.warning("run %s of %s: checkpoint written; run continues",
                                cp.run_id, cp.workflow)
                return

    async def _execute(self, cp: RunCheckpoint) -> RunOutcome:
        inputs = decode_value(cp.input)
        results = cp.results()
        succeeded = set(results)
        started = set(succeeded)
        failed = next((n for n, s in cp.steps.items() if s.status == "failed"), None)
        pending: dict[asyncio.Task[StepState], str] = {}
        try:
            while True:
                if failed is None:
                    for name in self.workflow.ready_steps(succeeded, started):
                        started.add(name)
                        coro = execute_step(self.workflow, cp.run_id, name, inputs, dict(results))
                        pending[asyncio.create_task(coro)] = name
                if not pending:
                    break
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    name = pending.pop(t)
                    state = cp.steps[name] = t.result()
                    WORKFLOW_STEPS.labels(self.workflow.name, name, state.status).inc()
                    if state.status == "succeeded":
                        succeeded.add(name)
                        results[name] = decode_value(state.result)
                    else:
                        failed = failed or name
                # The checkpoint is acknowledged before any dependent step may start.
                await self._persist(cp)
        finally:
            # Reached with steps still running only when this run is being stopped (close, or a
            # checkpoint that could not be written): they are unfinished and rerun on resume.
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if failed is not None:
            cp.status, cp.failed_step = "failed", failed
            cp.error = f"step {failed!r} failed: {cp.steps[failed].error}"
        else:
            cp.status = "succeeded"
        return await self._finish(cp)

    async def _finish(self, cp: RunCheckpoint) -> RunOutcome:
        cp.completion_event_id = derived_id(cp.run_id, "completed")
        WORKFLOW_RUNS.labels(cp.workflow, cp.status).inc()
        outcome = self._outcome(cp)
        event = OutRecord(
            self.completion_topic,
            cp.run_id,
            self._encode(outcome),
            [
                ("agentstream.event_id", outcome.event_id.encode()),
                ("agentstream.event_type", outcome.event_type.encode()),
                ("agentstream.run_id", cp.run_id.encode()),
            ],
        )
        if self._shared is None:  # exactly-once: the event and the final status in one transaction
            await self._persist(cp, event)
        else:
            await self._persist_event(event, cp)
            await self._persist(cp)
        return outcome

    async def _persist_event(self, event: OutRecord, cp: RunCheckpoint) -> None:
        """The completion event (at-least-once), written again while the broker is away."""
        delay = 1.0
        while True:
            try:
                await self._producer_of(self._partition_of(cp.run_id)).write([event])
                return
            except CheckpointError as exc:
                if exc.fatal or not self._opened or cp.run_id not in self._part_of:
                    raise
                log.warning("run %s of %s: completion not acknowledged (%s); again in %.0fs",
                            cp.run_id, cp.workflow, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _outcome(self, cp: RunCheckpoint) -> RunOutcome:
        if cp.status == "running":
            raise RuntimeError(f"run {cp.run_id!r} has not ended")
        return RunOutcome(
            run_id=cp.run_id,
            workflow=cp.workflow,
            version=cp.version,
            status=cp.status,
            results=MappingProxyType(cp.results()),
            error=cp.error,
            failed_step=cp.failed_step,
            event_id=cp.completion_event_id or derived_id(cp.run_id, "completed"),
            trigger_id=cp.trigger_id,
        )

