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


def test_settling_frees_the_slot_but_keeps_the_key_busy() -> None:
    sched = KeyOrderedScheduler(max_in_flight=1)
    a1, b1, a2 = WorkItem("t", 0, 0, b"a"), WorkItem("t", 0, 1, b"b"), WorkItem("t", 0, 2, b"a")
    for i in (a1, b1, a2):
        sched.add(i)
    assert sched.take_ready() == [a1]
    assert sched.take_ready() == []  # the one slot is taken
    sched.settling(a1)  # a1's handler returned; it waits for acknowledgements
    assert (sched.running_count, sched.settling_count) == (0, 1)
    assert sched.take_ready() == [b1]  # the freed slot goes to another key, not to a2
    assert not sched.reacquire(a1), "a retry of a1 must wait for a slot"
    sched.finish(b1)
    assert sched.reacquire(a1) and sched.running_count == 1
    assert sched.take_ready() == []  # a2 still waits for a1 to finish
    sched.finish(a1)
    assert sched.take_ready() == [a2]
    assert sched.watermarks() == {("t", 0): 2}
    assert sched.stats.max_running_seen == 1


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


@settings(max_examples=300, deadline=None)
@given(
    spec=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), min_size=1, max_size=80),
    max_in_flight=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_lifecycles_keep_order_bound_and_watermark(
    spec: list[tuple[int, int]], max_in_flight: int, seed: int
) -> None:
    """Adds, starts, settling (slot back) and finishes (one by one or several at once) in
    random orders; an item may finish straight from running."""
    rng = random.Random(seed)
    sched = KeyOrderedScheduler(max_in_flight=max_in_flight, max_pending=10_000)
    items = _items(spec)
    to_add = list(items)
    stage: dict[int, str] = {}  # id(item) -> running | settling
    live: list[WorkItem] = []
    finished: set[int] = set()
    started: dict[tuple[int, bytes | None], list[int]] = {}
    while to_add or live or sched.pending_count:
        if to_add and rng.random() < 0.5:
            assert sched.add(to_add.pop(0))
        for item in sched.take_ready(rng.choice([None, 1])):
            started.setdefault((item.partition, item.key), []).append(item.offset)
            stage[id(item)] = "running"
            live.append(item)
        holding = [i for i in live if stage[id(i)] == "running"]
        assert len(holding) <= max_in_flight == sched.max_in_flight
        assert sched.running_count == len(holding)
        owners = [(i.partition, i.key) for i in live]
        assert len(owners) == len(set(owners)), "one unfinished item per key"
        if live and rng.random() < 0.7:
            item = rng.choice(live)
            if stage[id(item)] == "running" and rng.random() < 0.6:
                sched.settling(item)
                stage[id(item)] = "settling"
            else:
                done = [item, *rng.sample([i for i in live if i is not item],
                                          k=min(len(live) - 1, rng.randrange(3)))]
                if len(done) > 1:
                    sched.finish_many(done)
                else:
                    sched.finish(item)
                for i in done:
                    live.remove(i)
                    finished.add(id(i))
        _assert_watermarks_safe(sched, items, finished)
    _assert_started_in_offset_order(started, items)
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
    sched.settling(first)  # first's handler returned: its slot is free, its key still busy
    assert sched.take_next() is third
    sched.finish(first)
    sched.finish(other)
    assert sched.take_next() is second
    assert sched.take_next() is None
    assert sched.stats.max_running_seen == 2
