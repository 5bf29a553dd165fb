"""Calendars: recurrence windows, EXDATE, RECURRENCE-ID overrides, cancellations, SEQUENCE,
time zones (VTIMEZONE, Windows ids, X-WR-TIMEZONE), all-day meetings, attendees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentstream.connectors import IdentityMap, Normalizer, NormalizerSettings, make_raw
from agentstream.events import AttendeeResponse, MeetingCancelled, MeetingScheduled, MeetingUpdated

DATA = Path(__file__).resolve().parents[1] / "data" / "ics"


def _events(data: bytes, received: datetime, **settings: object) -> list:
    n = Normalizer(settings=NormalizerSettings(**settings), identity=_people())  # type: ignore[arg-type]
    raw = make_raw("ics", "calendar", data, delivery_id=None, received_at=received)
    result = n.normalize(raw)
    assert result.skipped is None, result.skipped
    return [e.event for e in result.events]


def _people() -> IdentityMap:
    return IdentityMap.from_dict({"people": {"ann": {"email": ["Ann@Example.com"]}}})


def _cal(*events: str, method: str | None = None, extra: str = "") -> bytes:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
    if method:
        head += f"METHOD:{method}\r\n"
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        (head + extra + body + "END:VCALENDAR\r\n")
        .replace("\n", "\r\n")
        .replace("\r\r", "\r")
        .encode()
    )


def test_exdates_are_left_out_of_the_expansion() -> None:
    evs = _events(
        (DATA / "rie__issue_20_exdate_ignored.ics").read_bytes(), datetime(2019, 10, 1, tzinfo=UTC)
    )
    starts = sorted(e.start for e in evs)
    excluded = {
        datetime(2019, 10, 15, 14, 15, tzinfo=UTC),
        datetime(2019, 10, 22, 14, 15, tzinfo=UTC),
        datetime(2019, 11, 5, 15, 15, tzinfo=UTC),
        datetime(2019, 11, 19, 15, 15, tzinfo=UTC),
    }
    assert not excluded & set(starts)
    assert datetime(2019, 10, 29, 15, 15, tzinfo=UTC) in starts  # 16:15 Berlin after DST ends
    assert all(e.start.weekday() == 1 and e.uid == evs[0].uid for e in evs)
    assert len({e.meta.id for e in evs}) == len(evs)


def test_a_moved_occurrence_is_an_update_of_that_occurrence_and_all_day_stays_all_day() -> None:
    evs = _events(
        (DATA / "rie__issue_62_moved_event_2.ics").read_bytes(), datetime(2023, 8, 1, tzinfo=UTC)
    )
    timed = sorted((e for e in evs if not e.all_day), key=lambda e: e.start)
    assert [(type(e).__name__, e.start.day) for e in timed] == [
        ("MeetingScheduled", 8),
        ("MeetingUpdated", 14),
        ("MeetingScheduled", 22),
    ]  # 14:00 Sydney = 04:00Z the same day
    moved = timed[1]
    assert moved.occurrence == datetime(2023, 8, 15, 4, 0, tzinfo=UTC)
    assert moved.start == datetime(2023, 8, 14, 4, 0, tzinfo=UTC) and moved.sequence == 1
    assert all(e.meta.subject == e.uid for e in evs)
    days = sorted((e for e in evs if e.all_day), key=lambda e: e.start)
    assert [e.start for e in days][:2] == [
        datetime(2023, 8, 10, tzinfo=UTC),
        datetime(2023, 8, 16, tzinfo=UTC),
    ]
    assert days[0].end - days[0].start == timedelta(days=1)


def test_window_and_series_outside_it() -> None:
    data = (DATA / "rie__issue_62_moved_event_2.ics").read_bytes()
    evs = _events(data, datetime(2030, 1, 1, tzinfo=UTC))
    # Far away from the series: each series is reported once, as its master with the rule.
    assert sorted(type(e).__name__ for e in evs) == ["MeetingScheduled", "MeetingScheduled"]
    assert all(e.recurrence_rule and e.occurrence is None for e in evs)
    narrow = _events(
        data,
        datetime(2023, 8, 8, tzinfo=UTC),
        calendar_past=timedelta(0),
        calendar_future=timedelta(days=3),
    )
    assert {e.start.date().isoformat() for e in narrow} == {"2023-08-08", "2023-08-10"}


def test_cancellations_status_and_method() -> None:
    evs = _events(
        (DATA / "rie__issue_18_cancel_status.ics").read_bytes(), datetime(2020, 1, 20, tzinfo=UTC)
    )
    cancelled = [e for e in evs if isinstance(e, MeetingCancelled)]
    assert len(cancelled) == 1 and cancelled[0].occurrence == datetime(
        2020, 1, 29, 21, 0, tzinfo=UTC
    )
    assert cancelled[0].sequence == 2
    cancel = _cal("UID:m-1\nDTSTART:20240115T100000Z\nSEQUENCE:3\nSUMMARY:1:1", method="CANCEL")
    (only,) = _events(cancel, datetime(2024, 1, 10, tzinfo=UTC))
    assert isinstance(only, MeetingCancelled) and only.uid == "m-1" and only.sequence == 3


def test_only_the_highest_sequence_of_a_meeting_counts() -> None:
    data = _cal(
        "UID:m-2\nDTSTART:20240115T100000Z\nSEQUENCE:1\nSUMMARY:old\nDTSTAMP:20240101T000000Z",
        "UID:m-2\nDTSTART:20240116T100000Z\nSEQUENCE:2\nSUMMARY:new\nDTSTAMP:20240102T000000Z",
    )
    (only,) = _events(data, datetime(2024, 1, 10, tzinfo=UTC))
    assert isinstance(only, MeetingUpdated) and only.title == "new" and only.sequence == 2
    (first,) = _events(
        _cal("UID:m-3\nDTSTART:20240115T100000Z\nSUMMARY:x"), datetime(2024, 1, 10, tzinfo=UTC)
    )
    assert isinstance(first, MeetingScheduled) and first.end == first.start


def test_time_zones_windows_ids_and_x_wr_timezone() -> None:
    win = _cal(
        "UID:w-1\nDTSTART;TZID=W. Europe Standard Time:20240115T100000\n"
        "DTEND;TZID=W. Europe Standard Time:20240115T110000\nSUMMARY:w"
    )
    (ev,) = _events(win, datetime(2024, 1, 10, tzinfo=UTC))
    assert (
        ev.start == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
        and ev.timezone == "W. Europe Standard Time"
    )
    google = _events(
        (DATA / "rie__x_wr_timezone_simple_events_issue_59.ics").read_bytes(),
        datetime(2021, 12, 20, tzinfo=UTC),
    )
    noon = next(e for e in google if e.title.startswith("Google Calendar says this is noon"))
    assert (
        noon.start == datetime(2021, 12, 22, 17, 0, tzinfo=UTC)
        and noon.timezone == "America/New_York"
    )
    assert noon.calendar is not None
    assert noon.calendar.startswith("This calendar features two events")


def test_attendees_keep_partstat_role_and_resolve_to_people() -> None:
    data = _cal(
        "UID:a-1\nDTSTART:20240115T100000Z\nSUMMARY:plan\nORGANIZER;CN=Ann:mailto:ann@example.com\n"
        "ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com\n"
        "ATTENDEE;PARTSTAT=TENTATIVE;ROLE=OPT-PARTICIPANT:mailto:bob@example.com\n"
        "ATTENDEE;PARTSTAT=X-UNKNOWN:mailto:cy@example.com\n"
        "ATTENDEE:mailto:di@example.com"
    )
    (ev,) = _events(data, datetime(2024, 1, 10, tzinfo=UTC))
    got = [(a.email, a.response, a.optional, a.person) for a in ev.attendees]
    assert got == [
        ("ann@example.com", AttendeeResponse.ACCEPTED, False, "ann"),
        ("bob@example.com", AttendeeResponse.TENTATIVE, True, None),
        ("cy@example.com", AttendeeResponse.NEEDS_ACTION, False, None),
        ("di@example.com", AttendeeResponse.NEEDS_ACTION, False, None),
    ]
    assert ev.organizer == "ann@example.com" and ev.organizer_person == "ann"


def test_same_file_same_ids_whatever_the_day() -> None:
    data = (DATA / "rie__issue_62_moved_event_2.ics").read_bytes()
    a = {e.meta.id: e.start for e in _events(data, datetime(2023, 8, 1, tzinfo=UTC))}
    b = {e.meta.id: e.start for e in _events(data, datetime(2023, 8, 2, tzinfo=UTC))}
    assert a == b
