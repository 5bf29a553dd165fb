"""The forget follower's pure parts: which records are forgets, which offsets are acted on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest
from tests.unit.test_memory import Rec

from agentstream.errors import StoreNotReadyError
from agentstream.memory import FORGET_ECHO, FORGET_HEADER, StoreManager, StoreSpec, is_forget
from agentstream.memory._follow import FollowCursor

WAIT = timedelta(seconds=10)


@pytest.mark.parametrize(
    ("headers", "value", "expected"),
    [
        ([(FORGET_HEADER, b"1")], None, True),
        ([("other", b"x"), (FORGET_HEADER, b"1")], None, True),
        ([(FORGET_HEADER, FORGET_ECHO)], None, False),  # a running owner's echo
        (None, None, False),  # a reducer's or handler's delete
        ([], None, False),
        ([(FORGET_HEADER, b"1")], b"{}", False),  # not a tombstone
    ],
)
def test_is_forget(
    headers: list[tuple[str, bytes | None]] | None, value: bytes | None, expected: bool
) -> None:
    assert is_forget(headers, value) is expected


def test_cursor_acts_on_each_offset_once_from_the_start_and_only_while_followed() -> None:
    c = FollowCursor()
    assert c.admit("cl", 0, 5) is None  # not followed
    e1 = c.follow(0, {"cl": 10})
    assert c.admit("cl", 0, 9) is None  # before the restore's end: restored already
    assert c.admit("cl", 0, 10) == e1
    assert c.admit("cl", 0, 10) is None  # read again across an assignment change
    assert c.admit("cl", 0, 12) == e1
    assert c.admit("other", 0, 0) == e1  # a topic without a start: from wherever it is read
    assert c.epoch(0) == e1 and c.epoch(1) is None
    assert c.unfollow(0) and not c.unfollow(0)
    assert c.admit("cl", 0, 13) is None and c.epoch(0) is None


def test_a_refollow_gets_a_new_epoch_and_skips_stale_prefetched_records() -> None:
    c = FollowCursor()
    e1 = c.follow(3, {"cl": 0})
    assert c.admit("cl", 3, 0) == e1
    e2 = c.follow(3, {"cl": 50})  # revoked and restored again (e.g. after an aborted txn)
    assert e2 != e1 and c.epoch(3) == e2
    assert c.admit("cl", 3, 1) is None  # read under the old assignment: the restore covered it
    assert c.admit("cl", 3, 50) == e2


class Log:
    """A changelog in memory whose readers report where they stopped, like the Kafka reader."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, int], list[Rec]] = {}

    def produce(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        self.records.setdefault((topic, partition), []).append(Rec(key, value))

    def open(self) -> Log.Reader:
        return Log.Reader(self)

    class Reader:
        def __init__(self, log: Log) -> None:
            self.log = log
            self.ends: dict[tuple[str, int], int] = {}

        def batches(
            self, topic: str, partition: int, *, deadline: float, cancelled: Callable[[], bool]
        ) -> Iterator[Sequence[Rec]]:
            recs = list(self.log.records.get((topic, partition), []))
            self.ends[(topic, partition)] = len(recs)
            if recs:
                yield recs

        def end_offset(self, topic: str, partition: int) -> int | None:
            return self.ends.get((topic, partition))

        def close(self) -> None:
            pass


def test_restore_reports_where_it_stopped_and_evict_drops_only_local_state() -> None:
    log = Log()
    spec = StoreSpec("n", key_of=lambda e: e, reducer=lambda s, e: (s or 0) + 1)
    m = StoreManager("a", [spec], writer=log, source=log)
    topic = m.store("n").topic
    m.assign_blocking([0], timeout=WAIT)
    for key in ["x", "x", "y"]:
        m.apply(key, 0)
    assert m.restored_ends(0) == {topic: 0}
    m.revoke([0])
    assert m.restored_ends(0) == {}
    m.assign_blocking([0], timeout=WAIT)
    assert m.restored_ends(0) == {topic: 3}
    assert m.evict("n", "x", 0) is True
    assert m.evict("n", b"x", 0) is False
    assert m.store("n").get("x") is None and m.store("n").get("y") == 1
    assert len(log.records[(topic, 0)]) == 3  # no changelog write: the tombstone is there already
    m.apply("x", 0)
    assert m.store("n").get("x") == 1  # the next event folds from an empty state
    with pytest.raises(StoreNotReadyError):
        m.evict("n", "x", 1)
    m.close()
