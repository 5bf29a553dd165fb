"""iCalendar files → ``events.calendar``, through ``icalendar`` and ``recurring-ical-events``.

* Recurring meetings are expanded over a window (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides,
  ``RANGE=THISANDFUTURE``); one event per occurrence, keyed by the UID, with ``occurrence`` set
  to the occurrence's original start. A series with no occurrence in the window is reported once,
  as its master (first start, ``recurrence_rule`` set).
* The type: ``METHOD:CANCEL`` or ``STATUS:CANCELLED`` → ``MeetingCancelled``; a ``SEQUENCE``
  above 0 or an overridden occurrence → ``MeetingUpdated``; else ``MeetingScheduled``. When a
  file carries several revisions of one meeting (same UID and RECURRENCE-ID) only the highest
  SEQUENCE counts (then the newest DTSTAMP).
* Time zones: VTIMEZONE definitions, IANA ids, Windows ids (``W. Europe Standard Time``) as
  ``icalendar`` maps them, and Google's ``X-WR-TIMEZONE`` (through ``x-wr-timezone``); floating
  times are taken as UTC. All-day (DATE) meetings start and end at UTC midnight, ``all_day`` set.
* Attendees keep their PARTSTAT (``response``) and ROLE (``optional``); e-mails resolve to person
  ids through the identity map.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone

from agentstream.connectors._common import Out, millis
from agentstream.connectors._errors import MalformedPayloadError
from agentstream.events import (
    Attendee,
    AttendeeResponse,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
)

__all__ = ["normalize_calendar"]

_RESPONSES = {r.value: r for r in AttendeeResponse}


def _utc(value: Any) -> tuple[datetime, bool]:
    """(UTC datetime, all_day) of a DTSTART/DTEND/RECURRENCE-ID value."""
    v = value.dt if hasattr(value, "dt") else value
    if isinstance(v, datetime):
        return millis(v if v.tzinfo else v.replace(tzinfo=UTC)), False
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC), True
    if isinstance(v, tuple) and v:  # a PERIOD
        return _utc(v[0])
    raise MalformedPayloadError(f"calendar: unreadable date value {v!r}")


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def _text(comp: Any, name: str) -> str | None:
    value = comp.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _address(value: Any) -> str:
    text = str(value).strip()
    return text[7:] if text.lower().startswith("mailto:") else text


def _uid(comp: Any) -> str:
    uid = _text(comp, "UID")
    if uid:
        return uid
    # No UID (not valid iCalendar, but seen): a stable stand-in from the component's content.
    return "nouid-" + hashlib.sha256(comp.to_ical()).hexdigest()[:16]


def _rid_key(comp: Any) -> int | None:
    rid = comp.get("RECURRENCE-ID")
    if rid is None:
        return None
    try:
        return int(_utc(rid)[0].timestamp() * 1000)
    except MalformedPayloadError:
        return None


class _Calendar:
    def __init__(self, out: Out, data: bytes, *, window: tuple[datetime, datetime]) -> None:
        self.out = out
        self.window = window
        try:
            cal = icalendar.Calendar.from_ical(data)
        except Exception as exc:  # icalendar raises ValueError and friends
            raise MalformedPayloadError(f"calendar does not parse: {_short(exc)}") from None
        found = cal if isinstance(cal, list) else [cal]  # several VCALENDARs: one after another
        self.calendars = []
        for c in found:
            if c.name == "VCALENDAR":
                self.calendars.append(c)
            else:  # a bare VEVENT (seen in exports): wrap it
                wrapper = icalendar.Calendar()
                wrapper.add_component(c)
                self.calendars.append(wrapper)

    def attendees(self, comp: Any) -> tuple[Attendee, ...]:
        raw = comp.get("ATTENDEE")
        if raw is None:
            return ()
        items = raw if isinstance(raw, list) else [raw]
        out: list[Attendee] = []
        for a in items:
            params = getattr(a, "params", {})
            email = _address(a)
            partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).lower().replace("-", "_")
            out.append(
                Attendee(
                    email=email,
                    name=params.get("CN") or None,
                    response=_RESPONSES.get(partstat, AttendeeResponse.NEEDS_ACTION),
                    optional=str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT",
                    person=self.out.person("email", email),
                )
            )
        return tuple(out)

    def winners(self, cal: Any) -> tuple[Any, int]:
        """A copy of ``cal`` keeping, per (UID, RECURRENCE-ID), the highest SEQUENCE; and the
        number of VEVENTs dropped because they cannot be placed in time (no DTSTART)."""
        best: dict[tuple[str, int | None], Any] = {}
        dropped = 0
        for comp in cal.walk("VEVENT"):
            if comp.get("DTSTART") is None:
                dropped += 1
                continue
            if comp.get("UID") is None:
                comp.add("UID", _uid(comp))
            key = (str(comp["UID"]), _rid_key(comp))
            rank = (
                int(comp.get("SEQUENCE", 0) or 0),
                str(comp.get("DTSTAMP").to_ical()) if comp.get("DTSTAMP") else "",
            )
            old = best.get(key)
            if old is None or rank >= old[0]:
                best[key] = (rank, comp)
        clean = icalendar.Calendar()
        for name, value in cal.items():
            clean[name] = value
        for tz in cal.walk("VTIMEZONE"):
            clean.add_component(tz)
        for _, comp in best.values():
            clean.add_component(comp)
        return clean, dropped

    def emit(
        self,
        comp: Any,
        *,
        cancel_method: bool,
        overridden: bool,
        recurring: bool,
        tzname: str | None,
        sequence: int | None = None,
        calendar: str | None = None,
    ) -> None:
        o = self.out
        uid = _uid(comp)
        start, all_day = _utc(comp["DTSTART"])
        if comp.get("DTEND") is not None:
            end, _ = _utc(comp["DTEND"])
        elif comp.get("DURATION") is not None:
            end = start + comp["DURATION"].dt
        else:
            end = start + timedelta(days=1) if all_day else start
        if end < start:  # swapped DTSTART/DTEND, seen in the wild
            start, end = end, start
        occurrence = None
        if recurring or overridden:
            rid = comp.get("RECURRENCE-ID")
            occurrence = _utc(rid)[0] if rid is not None else start
        status = _text(comp, "STATUS")
        seq = sequence if sequence is not None else int(comp.get("SEQUENCE", 0) or 0)
        organizer = _address(comp["ORGANIZER"]) if comp.get("ORGANIZER") is not None else None
        attendees = self.attendees(comp)
        title = _text(comp, "SUMMARY") or ""
        occ_ms = int(occurrence.timestamp() * 1000) if occurrence else None
        stamp = o.received_at
        if comp.get("LAST-MODIFIED") is not None or comp.get("DTSTAMP") is not None:
            stamp = _utc(comp.get("LAST-MODIFIED") or comp.get("DTSTAMP"))[0]
        if cancel_method or (status or "").upper() == "CANCELLED":
            o.add(
                "calendar",
                MeetingCancelled(
                    meta=o.meta(MeetingCancelled, uid, stamp, occ_ms, seq),
                    uid=uid,
                    title=title or None,
                    start=start,
                    sequence=seq,
                    reason=_text(comp, "COMMENT"),
                    occurrence=occurrence,
                    organizer=organizer,
                    organizer_person=o.person("email", organizer),
                    attendees=attendees,
                ),
            )
            return
        rrule = comp.get("RRULE")
        fields: dict[str, Any] = {
            "uid": uid,
            "calendar": calendar,
            "title": title,
            "description": _text(comp, "DESCRIPTION"),
            "location": _text(comp, "LOCATION"),
            "organizer": organizer,
            "organizer_person": o.person("email", organizer),
            "start": start,
            "end": end,
            "timezone": tzname,
            "recurrence_rule": rrule.to_ical().decode() if rrule is not None else None,
            "attendees": attendees,
            "sequence": seq,
            "all_day": all_day,
            "occurrence": occurrence,
            "status": status,
        }
        cls: type[MeetingScheduled] | type[MeetingUpdated]
        cls = MeetingUpdated if (seq > 0 or overridden) else MeetingScheduled
        o.add("calendar", cls(meta=o.meta(cls, uid, stamp, occ_ms, seq), **fields))

    def run(self) -> str | None:
        dropped = 0
        vevents = 0
        for original in self.calendars:
            cal = x_wr_timezone.to_standard(original)
            name = _text(cal, "X-WR-CALNAME")
            cancel_method = (_text(cal, "METHOD") or "").upper() == "CANCEL"
            clean, lost = self.winners(cal)
            dropped += lost
            masters = [c for c in clean.walk("VEVENT")]
            vevents += len(masters)
            overrides = {
                (_uid(c), _rid_key(c)) for c in masters if c.get("RECURRENCE-ID") is not None
            }
            series = {
                _uid(c) for c in masters if c.get("RRULE") is not None or c.get("RDATE") is not None
            }
            tz_of = {}
            for c in masters:
                tzid = c["DTSTART"].params.get("TZID") if hasattr(c["DTSTART"], "params") else None
                tz_of[_uid(c)] = tzid or _text(cal, "X-WR-TIMEZONE")
            start, end = self.window
            try:
                occurrences = list(
                    recurring_ical_events.of(clean, keep_recurrence_attributes=True).between(
                        start, end
                    )
                )
            except Exception as exc:  # the library's own errors on broken recurrence data
                raise MalformedPayloadError(
                    f"calendar recurrence cannot be expanded: {_short(exc)}"
                ) from None
            seen_uids = set()
            # The expansion may copy one revision's SEQUENCE onto every occurrence: take it from
            # the component the occurrence comes from (its override, else the master).
            seq_of = {(_uid(c), _rid_key(c)): int(c.get("SEQUENCE", 0) or 0) for c in masters}
            for occ in occurrences:
                uid = _uid(occ)
                seen_uids.add(uid)
                rid = _rid_key(occ)
                overridden = (uid, rid) in overrides and occ.get("RRULE") is None
                self.emit(
                    occ,
                    cancel_method=cancel_method,
                    overridden=overridden,
                    recurring=uid in series,
                    tzname=tz_of.get(uid),
                    sequence=seq_of.get((uid, rid) if overridden else (uid, None)),
                    calendar=name,
                )
            for c in masters:
                uid = _uid(c)
                if uid in seen_uids or c.get("RECURRENCE-ID") is not None:
                    continue
                seen_uids.add(uid)
                # Outside the window: a single meeting is still a fact; a series is reported once.
                self.emit(
                    c,
                    cancel_method=cancel_method,
                    overridden=False,
                    recurring=False,
                    tzname=tz_of.get(uid),
                    calendar=name,
                )
            for c in masters:  # an override whose series is outside the window and absent
                uid = _uid(c)
                if uid not in seen_uids:
                    seen_uids.add(uid)
                    self.emit(
                        c,
                        cancel_method=cancel_method,
                        overridden=True,
                        recurring=False,
                        tzname=tz_of.get(uid),
                        calendar=name,
                    )
        if self.out.events:
            return None
        if vevents == 0 and dropped:
            raise MalformedPayloadError(f"calendar: none of its {dropped} VEVENT(s) has a DTSTART")
        return "calendar has no VEVENT (no meetings: to-dos, journals or time zones only)"


def normalize_calendar(out: Out, data: bytes, *, window: tuple[datetime, datetime]) -> str | None:
    """Append the meeting events of one iCalendar file to ``out``; a skip reason if none."""
    return _Calendar(out, data, window=window).run()
