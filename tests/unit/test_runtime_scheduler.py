"""KeyOrderedScheduler: per-key order, bounds, and a watermark that never passes unfinished work."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentstream.runtime import KeyOrderedScheduler, WorkItem


def _items(spec: list[tuple[int, int]]) -> list[WorkItem]:
    """(partition, key) pairs -> items with increasing offsets per partition."""
    next_off: dict[int, int] = {}
    out = []
    for part, key in spec:
        off = next_off.get(part, 0)
        next_off[part] = off + 1
        out.append(WorkItem("t", part, off, f"k{key}".encode()))
    return out


def _assert_watermarks_safe(sched: KeyOrderedScheduler, items: list[WorkItem],
                            finished: set[int]) -> None:
    for (topic, part), mark in sched.watermarks().items():
        assert topic == "t"
        below = [i for i in items if i.partition == part and i.offset < mark]
        assert all(id(i) in finished for i in below), "watermark passed unfinished work"


def _assert_started_in_offset_order(
    started: dict[tuple[int, bytes | None], list[int]], items: list[WorkItem]
) -> None:
    for (part, key), offsets in started.items():
        expected = [i.offset for i in items if i.partition == part and i.key == key]
        assert offsets == expected, "per-key start order must be offset order"


def test_watermark_stops_at_lowest_unfinished() -> None:
    sched = KeyOrderedScheduler(max_in_flight=10)
    a, b, c = (WorkItem("t", 0, i, k) for i, k in enumerate([b"a", b"b", b"c"]))
    for i in (a, b, c):
        sched.add(i)
    assert sched.take_ready() == [a, b, c]
    sched.finish(c)
    sched.finish(b)
    assert sched.watermarks() == {("t", 0): 0}
    sched.finish(a)
    assert sched.watermarks() == {("t", 0): 3}


def test_same_key_waits_for_previous() -> None:
    sched = KeyOrderedScheduler(max_in_flight=10)
    first, second = WorkItem("t", 0, 0, b"k"), WorkItem("t", 0, 1, b"k")
    other = WorkItem("t", 0, 2, b"x")
    for i in (first, second, other):
        sched.add(i)
    assert sched.take_ready() == [first, other]
    assert sched.take_ready() == []
    sched.finish(first)
    assert sched.take_ready() == [second]


def test_room_bounds_pending_and_duplicates_are_ignored() -> None:
    sched = KeyOrderedScheduler(max_in_flight=2, max_pending=3)
    for off in range(3):
        assert sched.add(WorkItem("t", 0, off, b"k"))
    assert sched.room() == 0
    assert not sched.add(WorkItem("t", 0, 1, b"k"))
    assert sched.stats.duplicates_ignored == 1


def test_drop_queued_keeps_offsets_unfinished_and_forget_clears() -> None:
    sched = KeyOrderedScheduler(max_in_flight=1)
    a, b = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"b")
    sched.add(a)
    sched.add(b)
    [started] = sched.take_ready()
    assert started is a
    assert sched.drop_queued() == [b]
    sched.finish(a)
    assert sched.watermarks() == {("t", 0): 1}, "dropped b must stay uncommitted"
    sched.forget([("t", 0)])
    assert sched.watermarks() == {} and sched.pending_count == 0
    sched.add(WorkItem("t", 1, 0, b"c"))
    assert len(sched.take_ready()) == 1


def test_invalid_bound() -> None:
    with pytest.raises(ValueError):
        KeyOrderedScheduler(max_in_flight=0)


def test_settling_frees_the_slot_and_the_key() -> None:
    """A returned handler gives back its slot and its key: the key's next input starts while
    the first one's writes are still on their way (the producer keeps their order)."""
    sched = KeyOrderedScheduler(max_in_flight=1)
    a1, b1, a2 = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"b"), WorkItem("t", 0, 2, b"a")
    for i in (a1, b1, a2):
        sched.add(i)
    assert sched.take_ready() == [a1]
    assert sched.take_ready() == []  # the one slot is taken
    sched.settling(a1)  # a1's handler returned; it waits for acknowledgements
    assert (sched.running_count, sched.settling_count) == (0, 1)
    assert sched.take_ready() == [b1]
    sched.settling(b1)
    assert sched.take_ready() == [a2], "a2 starts before a1's writes are acknowledged"
    assert sched.watermarks() == {("t", 0): 0}
    assert sched.stats.max_running_seen == 1


def test_with_key_waits_for_acks_a_key_moves_on_only_once_finished() -> None:
    """Exactly-once: a returned handler gives back its slot, not its key."""
    sched = KeyOrderedScheduler(max_in_flight=1, key_waits_for_acks=True)
    a1, b1, a2 = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"b"), WorkItem("t", 0, 2, b"a")
    for i in (a1, b1, a2):
        sched.add(i)
    assert sched.take_ready() == [a1]
    sched.settling(a1)
    assert sched.take_ready() == [b1], "the slot goes to another key"
    sched.settling(b1)
    assert sched.take_ready() == [], "a2 waits for a1's acknowledgements"
    assert sched.finish(a1) == [a1]
    assert sched.take_ready() == [a2]


def test_a_key_finishes_in_offset_order() -> None:
    """An input acknowledged before its key's predecessor finishes with it, not before (its
    dedupe marker must not be written while the predecessor may still run again)."""
    sched = KeyOrderedScheduler(max_in_flight=4)
    a1, a2, b1 = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"a"), WorkItem("t", 0, 2, b"b")
    for i in (a1, a2, b1):
        sched.add(i)
    assert sched.take_ready() == [a1, b1]
    sched.settling(a1)
    assert sched.take_ready() == [a2]
    assert sched.finish(a2) == [], "a2 waits for a1"
    assert sched.finish(b1) == [b1]
    assert sched.watermarks() == {("t", 0): 0} and sched.pending_count == 2
    told: list[WorkItem] = []
    assert sched.finish_many([a1], told.extend) == [a1, a2] == told
    assert sched.watermarks() == {("t", 0): 3} and sched.pending_count == 0


def test_a_failed_write_rolls_back_the_keys_later_inputs() -> None:
    """a1's write fails after a2 started: a2 runs again after a1's retry, as a new item (late
    callbacks of the old a2 are ignored); other keys are not touched."""
    sched = KeyOrderedScheduler(max_in_flight=4)
    a1, a2, a3 = (WorkItem("t", 0, off, b"a") for off in (0, 1, 2))
    b1 = WorkItem("t", 0, 3, b"b")
    for i in (a1, a2, a3, b1):
        sched.add(i)
    assert sched.take_ready() == [a1, b1]
    sched.settling(a1)
    assert sched.take_ready() == [a2]
    sched.settling(a2)
    assert sched.take_ready() == [a3]  # a3 is running when a1's write fails
    assert sched.rollback(a1)
    assert sched.stats.rolled_back == 2
    assert sched.take_ready() == [], "the key waits for a1's retry"
    assert sched.running_count == 1  # b1; a3's slot is back
    sched.settling(a3)  # late callbacks of the rolled-back inputs change nothing
    assert sched.finish(a2) == [] and sched.finish(a3) == [] and not sched.rollback(a2)
    assert sched.reacquire(a1) and sched.running_count == 2
    assert sched.take_ready() == []
    sched.settling(a1)  # the retry returned: the key goes on, from a2 again
    again = sched.take_ready()
    assert [(i.offset, i is a2) for i in again] == [(1, False)]
    assert sched.finish(a1) == [a1]
    sched.settling(again[0])
    [a3_again] = sched.take_ready()
    assert a3_again.offset == 2 and a3_again is not a3
    assert sched.finish_many([a3_again, again[0], b1]) == [again[0], a3_again, b1]
    assert sched.watermarks() == {("t", 0): 4} and sched.pending_count == 0


def test_a_rolled_back_input_that_is_dead_lettered_lets_its_key_go_on() -> None:
    sched = KeyOrderedScheduler(max_in_flight=2)
    a1, a2 = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"a")
    sched.add(a1)
    sched.add(a2)
    [first] = sched.take_ready()
    sched.settling(first)
    assert sched.take_ready() == [a2]
    assert sched.rollback(a1)
    assert sched.finish(a1) == [a1]  # dead-lettered without running again
    [again] = sched.take_ready()
    assert again.offset == 1 and again is not a2


def test_forgetting_a_settling_item_releases_no_slot_twice() -> None:
    sched = KeyOrderedScheduler(max_in_flight=2)
    items = [WorkItem("t", p, 0, b"k") for p in (0, 1)]
    for i in items:
        sched.add(i)
    assert sched.take_ready() == items
    sched.settling(items[0])
    sched.forget([("t", 0), ("t", 1)])
    assert (sched.running_count, sched.settling_count, sched.pending_count) == (0, 0, 0)
    sched.finish(items[0])  # a late acknowledgement of a forgotten partition is ignored
    assert sched.running_count == 0


class _Lifecycles:
    """What the engine does to the scheduler, at random, and what it must see."""

    def __init__(self, sched: KeyOrderedScheduler, rng: random.Random) -> None:
        self.sched, self.rng = sched, rng
        self.stage: dict[int, str] = {}  # id(item) -> running | settling | early | rolled
        self.live: list[WorkItem] = []
        self.stale: list[WorkItem] = []  # rolled back: the engine may still call back
        self.finished: set[tuple[int, int]] = set()
        self.final_runs: set[WorkItem] = set()  # the runs (items) that finished
        self.finish_order: dict[tuple[int, bytes | None], list[int]] = {}
        # Delivered writes per key: (offset, the run that wrote it).
        self.writes: dict[tuple[int, bytes | None], list[tuple[int, WorkItem]]] = {}

    def start(self) -> None:
        for item in self.sched.take_ready(self.rng.choice([None, 1])):
            self.stage[id(item)] = "running"
            self.live.append(item)

    def check_bounds(self) -> None:
        holding = [i for i in self.live if self.stage[id(i)] == "running"]
        assert len(holding) <= self.sched.max_in_flight
        assert self.sched.running_count == len(holding)
        owners = [(i.partition, i.key) for i in self.live
                  if self.stage[id(i)] in ("running", "rolled")]
        assert len(owners) == len(set(owners)), "one handler (or retry) per key at a time"

    def late_callback(self) -> None:
        """A callback about a rolled-back item changes nothing."""
        old = self.rng.choice(self.stale)
        before = self.sched.running_count
        self.sched.settling(old)
        assert self.sched.finish(old) == [] and not self.sched.rollback(old)
        assert self.sched.running_count == before

    def finish(self, done: list[WorkItem]) -> None:
        told: list[WorkItem] = []  # what the ledger would queue dedupe markers for
        if len(done) > 1:
            out = self.sched.finish_many(done, told.extend)
            assert out == told
        else:
            out = self.sched.finish(done[0])
        for i in out:
            self.live.remove(i)
            assert (i.partition, i.offset) not in self.finished, "finished twice"
            self.finished.add((i.partition, i.offset))
            self.final_runs.add(i)
            self.finish_order.setdefault((i.partition, i.key), []).append(i.offset)
        for i in done:
            if i in self.live:
                self.stage[id(i)] = "early"

    def returned(self, item: WorkItem) -> None:
        self.sched.settling(item)  # the handler returned: its writes are on their way
        self.stage[id(item)] = "settling"
        self.writes.setdefault((item.partition, item.key), []).append((item.offset, item))

    def write_failed(self, item: WorkItem) -> None:
        key = (item.partition, item.key)
        ours = self.writes[key]  # its last write is not delivered
        del ours[len(ours) - 1 - ours[::-1].index((item.offset, item))]
        assert self.sched.rollback(item)
        self.stage[id(item)] = "rolled"
        for later in [i for i in self.live if (i.partition, i.key) == key
                      and i.offset > item.offset]:
            self.live.remove(later)
            self.stale.append(later)

    def step(self) -> None:
        rng = self.rng
        item = rng.choice(self.live)
        at = self.stage[id(item)]
        if at == "running" and rng.random() < 0.6:
            self.returned(item)
        elif at == "settling" and rng.random() < 0.15:
            self.write_failed(item)
        elif at == "rolled":
            if rng.random() < 0.3:
                self.finish([item])  # dead-lettered without running again
            elif self.sched.reacquire(item):
                self.stage[id(item)] = "running"
        elif at in ("running", "settling"):
            others = [i for i in self.live if i is not item and self.stage[id(i)] == "settling"]
            self.finish([item, *rng.sample(others, k=min(len(others), rng.randrange(3)))])


@settings(max_examples=300, deadline=None)
@given(
    spec=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), min_size=1, max_size=80),
    max_in_flight=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_lifecycles_keep_order_bound_and_watermark(
    spec: list[tuple[int, int]], max_in_flight: int, seed: int
) -> None:
    """Adds, starts, returns (slot and key back), acknowledgements (one by one or several at
    once, in any order), failed writes (rollback), retries and late callbacks of rolled-back
    items, in random orders.

    Checked throughout: the bound, one handler per key, a watermark that never passes an
    unfinished input. At the end: every input finished once, in key order, and per key the
    delivered writes of the runs that finished come in offset order (a rolled-back run's writes
    are duplicates before them)."""
    rng = random.Random(seed)
    sched = KeyOrderedScheduler(max_in_flight=max_in_flight, max_pending=10_000)
    run = _Lifecycles(sched, rng)
    items = _items(spec)
    to_add = list(items)
    steps = 0
    while to_add or run.live or sched.pending_count:
        steps += 1
        assert steps < 50_000, "no progress: an input can never finish"
        if to_add and rng.random() < 0.5:
            assert sched.add(to_add.pop(0))
        run.start()
        run.check_bounds()
        if run.stale and rng.random() < 0.2:
            run.late_callback()
        if run.live and rng.random() < 0.7:
            run.step()
        marks = sched.watermarks()
        for i in items:
            if (i.partition, i.offset) not in run.finished:
                assert marks.get(("t", i.partition), 0) <= i.offset, "passed unfinished work"
    for (part, key), offsets in run.finish_order.items():
        expected = [i.offset for i in items if i.partition == part and i.key == key]
        assert offsets == expected, "inputs of a key finish once each, in offset order"
    for delivered in run.writes.values():
        final = [off for off, by in delivered if by in run.final_runs]
        assert final == sorted(set(final)), "writes of the finished runs out of order"
    last = {i.partition: i.offset for i in items}
    assert sched.watermarks() == {("t", p): o + 1 for p, o in last.items()}


def test_finish_many_equals_finishing_one_by_one() -> None:
    one, many = KeyOrderedScheduler(max_in_flight=8), KeyOrderedScheduler(max_in_flight=8)
    for sched in (one, many):
        for item in _items([(0, 0), (0, 1), (0, 0), (1, 2)]):
            sched.add(item)
    started_one, started_many = one.take_ready(), many.take_ready()
    for item in started_one:
        one.finish(item)
    many.finish_many(started_many)
    assert one.watermarks() == many.watermarks()
    assert [i.offset for i in one.take_ready()] == [i.offset for i in many.take_ready()]
    assert one.pending_count == many.pending_count == 1


def test_take_next_is_take_ready_of_one() -> None:
    """A worker's next record: the head of a ready key, within max_in_flight, in key order."""
    sched = KeyOrderedScheduler(max_in_flight=2)
    first, second = WorkItem("t", 0, 0, b"k"), WorkItem("t", 0, 1, b"k")
    other, third = WorkItem("t", 0, 2, b"x"), WorkItem("t", 0, 3, b"y")
    for i in (first, second, other, third):
        sched.add(i)
    assert sched.take_next() is first
    assert sched.take_next() is other  # second waits for first (same key)
    assert sched.take_next() is None  # both slots taken
    sched.settling(first)  # first's handler returned: its slot and its key are free
    assert sched.take_next() is third  # ready before second (whose key was busy until now)
    assert sched.take_next() is None
    sched.finish(other)
    assert sched.take_next() is second
    assert sched.take_next() is None
    assert sched.stats.max_running_seen == 2
