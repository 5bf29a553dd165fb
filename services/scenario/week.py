"""A working week of one team: the story the demo tells, as webhook deliveries and a calendar.

The story (Monday..Friday of ``week_start``, UTC):

- acme/payments#42 "Idempotent ledger writes" by Ben waits for Ana's first review all week
  (a stale review), while #43 by Chen fails CI three times on its open branch.
- Ana is asked to review seven pull requests, everyone else one or two (reviewer overload).
- acme/web#17 "Checkout redesign" by Eli changes 1,900 lines in 46 files (a very large PR).
- Other pull requests are reviewed and merged within a day (what went well).
- Dara works late on Tuesday and Thursday evenings and on Saturday (after-hours activity).
- Ana's Tuesday to Thursday are back-to-back meetings (meeting overload, no deep-work block).
- Slack: channel talk about the ledger test that blocks payments, release planning, a thread.

``build_week(seed=..., week_start=...)`` returns it; the same seed gives the same delivery ids,
so feeding the scenario twice is recognised downstream as a redelivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.scenario import payloads as p
from services.scenario.payloads import PR, Delivery
from services.scenario.team import BOT_USER_ID, BY_ID, PEOPLE, TEAM

__all__ = ["DEFAULT_QUESTIONS", "Week", "build_week", "default_week_start", "questions"]

DEFAULT_QUESTIONS = ("what is blocking payments?", "who could review acme/payments#42?")


@dataclass(frozen=True)
class Week:
    team: str
    week_start: date
    deliveries: tuple[Delivery, ...]
    calendar_ics: str
    prs: tuple[PR, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.deliveries:
            out[f"{d.source}:{d.event}"] = out.get(f"{d.source}:{d.event}", 0) + 1
        return out


def default_week_start(today: date | None = None) -> date:
    """Monday of the week before ``today`` (a finished working week, recent enough to matter)."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 7)


def _at(week_start: date, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(week_start + timedelta(days=day), time(hh, mm), tzinfo=UTC)


def _prs(ws: date) -> list[tuple[PR, list[tuple[str, str, datetime]], str | None]]:
    """(pull request, its timeline of (what, who, when), who merges it or None)."""

    def at(d: int, h: int, m: int = 0) -> datetime:
        return _at(ws, d, h, m)

    rows: list[tuple[PR, list[tuple[str, str, datetime]], str | None]] = [
        (
            PR(
                "acme/payments",
                42,
                "Idempotent ledger writes",
                "ben",
                "ben/idempotent-ledger",
                at(0, 10),
                180,
                40,
                6,
                "Retries no longer double-post ledger entries.",
            ),
            [("rr", "ana", at(0, 10, 5))],
            None,
        ),
        (
            PR(
                "acme/payments",
                43,
                "Refund webhooks",
                "chen",
                "chen/refund-webhooks",
                at(0, 14),
                220,
                30,
                7,
            ),
            [
                ("rr", "ana", at(0, 14, 5)),
                ("fail", "1", at(0, 14, 30)),
                ("fail", "2", at(1, 11)),
                ("rr", "dara", at(1, 11, 30)),
                ("fail", "3", at(2, 16)),
            ],
            None,
        ),
        (
            PR(
                "acme/payments",
                44,
                "Currency rounding fix",
                "dara",
                "dara/rounding",
                at(1, 9),
                12,
                4,
                1,
            ),
            [
                ("rr", "ana", at(1, 9, 5)),
                ("ok", "1", at(1, 9, 20)),
                ("review", "ana", at(1, 15)),
            ],
            "dara",
        ),
        (
            PR(
                "acme/web",
                17,
                "Checkout redesign",
                "eli",
                "eli/checkout-v2",
                at(0, 11),
                1650,
                250,
                46,
                "New checkout flow behind a flag.",
            ),
            [
                ("rr", "ana", at(0, 11, 10)),
                ("rr", "fay", at(0, 11, 10)),
                (
                    "review",
                    "fay",
                    at(2, 10, 0),
                ),
            ],
            None,
        ),
        (
            PR("acme/web", 18, "Fix cart badge count", "fay", "fay/cart-badge", at(1, 10), 8, 2, 1),
            [("rr", "eli", at(1, 10, 5)), ("ok", "1", at(1, 10, 20)), ("review", "eli", at(1, 13))],
            "fay",
        ),
        (
            PR("acme/web", 19, "Accessible forms", "chen", "chen/a11y-forms", at(2, 9), 140, 60, 9),
            [
                ("rr", "ana", at(2, 9, 5)),
                ("review", "ana", at(3, 17)),
            ],
            "chen",
        ),
        (
            PR(
                "acme/infra",
                7,
                "Terraform: payments queue",
                "dara",
                "dara/queue",
                at(1, 21, 30),
                90,
                10,
                4,
            ),
            [
                ("rr", "ana", at(1, 21, 35)),
                ("ok", "1", at(1, 21, 50)),
                ("review", "ben", at(2, 10)),
            ],
            "dara",
        ),
        (
            PR(
                "acme/infra",
                8,
                "Bump runner images",
                "ben",
                "ben/runner-images",
                at(2, 13),
                30,
                30,
                2,
            ),
            [
                ("rr", "dara", at(2, 13, 5)),
                ("ok", "1", at(2, 13, 20)),
                ("review", "dara", at(3, 9)),
            ],
            "ben",
        ),
        (
            PR(
                "acme/payments",
                45,
                "Ledger test isolation",
                "fay",
                "fay/ledger-test",
                at(3, 10),
                60,
                20,
                3,
                "Makes the flaky ledger test deterministic.",
            ),
            [("rr", "ana", at(3, 10, 5)), ("rr", "ben", at(3, 10, 5))],
            None,
        ),
        (
            PR(
                "acme/infra",
                9,
                "Alerting for refund lag",
                "dara",
                "dara/refund-alerts",
                at(3, 22, 40),
                45,
                5,
                2,
            ),
            [("rr", "ana", at(4, 8, 0))],
            None,
        ),
    ]
    return rows


_CHAT: list[tuple[int, int, int, str, str, str | None]] = [
    # day, hh, mm, channel, person, text   (thread parent = previous message when marked)
    (
        0,
        9,
        40,
        "C0PAYMENTS",
        "ben",
        "Opened #42: idempotent ledger writes. @ana could you review? It blocks the refunds work.",
        None,
    ),
    (
        0,
        15,
        10,
        "C0PAYMENTS",
        "chen",
        "CI on #43 is red: the ledger test times out again. Looks flaky, not my change.",
        None,
    ),
    (0, 15, 25, "C0PAYMENTS", "dara", "Same flaky ledger test hit me last week.", "thread"),
    (
        1,
        11,
        15,
        "C0PAYMENTS",
        "chen",
        "#43 failed CI again on the ledger test. Payments release is blocked until it is green.",
        None,
    ),
    (
        1,
        16,
        0,
        "C0ENG",
        "ana",
        "Sorry all, back-to-back meetings today, reviews will be late.",
        None,
    ),
    (
        1,
        22,
        5,
        "C0INFRA",
        "dara",
        "Pushed the payments queue terraform, late night but done.",
        None,
    ),
    (2, 10, 30, "C0WEB", "fay", "Reviewed #17, it's huge: 46 files. Could we split it?", None),
    (2, 10, 45, "C0WEB", "eli", "Fair, I'll try to split the checkout redesign.", "thread"),
    (2, 16, 20, "C0PAYMENTS", "chen", "Third CI failure on #43. Still the ledger test.", None),
    (
        3,
        10,
        15,
        "C0PAYMENTS",
        "fay",
        "#45 makes the ledger test deterministic; should unblock #43 and the payments release.",
        None,
    ),
    (3, 17, 30, "C0ENG", "ben", "#42 is still waiting for a first review since Monday.", None),
    (3, 22, 50, "C0INFRA", "dara", "Refund lag alerting PR is up (#9).", None),
    (
        4,
        9,
        0,
        "C0ENG",
        "ana",
        "Release planning moved to Monday. Great work on the cart fix "
        "and the infra changes this week!",
        None,
    ),
    (5, 11, 0, "C0INFRA", "dara", "Quick weekend fix for the staging queue.", None),
]

# (day, start hh:mm, minutes, title, attendee ids); standup is a recurring event added below.
_MEETINGS: list[tuple[int, int, int, int, str, tuple[str, ...]]] = [
    (0, 13, 0, 120, "Sprint planning", ("ana", "ben", "chen", "dara", "eli", "fay")),
    (1, 10, 0, 120, "Architecture review", ("ana", "ben", "dara")),
    (1, 12, 0, 60, "Hiring sync", ("ana",)),
    (1, 13, 0, 120, "Quarterly roadmap", ("ana", "eli")),
    (1, 15, 0, 120, "Vendor call: payments provider", ("ana", "chen")),
    (2, 10, 0, 90, "1:1 Ana / Ben", ("ana", "ben")),
    (2, 11, 30, 90, "1:1 Ana / Chen", ("ana", "chen")),
    (2, 13, 0, 120, "Incident review", ("ana", "dara", "chen")),
    (2, 15, 0, 120, "Budget review", ("ana",)),
    (3, 10, 0, 120, "Design review: checkout", ("ana", "eli", "fay")),
    (3, 13, 0, 120, "Cross-team sync", ("ana",)),
    (3, 15, 0, 120, "Interview loop", ("ana", "ben")),
    (4, 14, 0, 60, "Retro", ("ana", "ben", "chen", "dara", "eli", "fay")),
]


def _calendar(ws: date) -> str:
    def stamp(t: datetime) -> str:
        return t.strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//AgentStream//scenario//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Payments team",
    ]

    def event(
        uid: str,
        start: datetime,
        minutes: int,
        title: str,
        who: tuple[str, ...],
        *,
        rrule: str | None = None,
    ) -> None:
        lines.extend(
            [
                "BEGIN:VEVENT",
                f"UID:{uid}@scenario.acme.test",
                f"DTSTAMP:{stamp(_at(ws, 0, 8))}",
                f"DTSTART:{stamp(start)}",
                f"DTEND:{stamp(start + timedelta(minutes=minutes))}",
                f"SUMMARY:{title}",
                f"ORGANIZER;CN={BY_ID[who[0]].name}:mailto:{BY_ID[who[0]].email}",
            ]
        )
        if rrule:
            lines.append(f"RRULE:{rrule}")
        for pid in who:
            lines.append(
                f"ATTENDEE;CN={BY_ID[pid].name};PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:"
                f"mailto:{BY_ID[pid].email}"
            )
        lines.append("END:VEVENT")

    everyone = tuple(p.id for p in PEOPLE)
    event("standup", _at(ws, 0, 9, 30), 15, "Standup", everyone, rrule="FREQ=DAILY;COUNT=5")
    for i, (day, hh, mm, minutes, title, who) in enumerate(_MEETINGS):
        event(f"m{i}-{ws.isoformat()}", _at(ws, day, hh, mm), minutes, title, who)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def build_week(*, seed: int = 1, week_start: date | None = None) -> Week:
    """The scenario's deliveries in time order, and its calendar as ICS text."""
    ws = week_start or default_week_start()
    out: list[Delivery] = []
    prs: list[PR] = []
    for pr, timeline, merger in _prs(ws):
        prs.append(pr)
        out.append(p.pr_opened(seed, pr))
        last = pr.opened
        for what, who, at in timeline:
            last = max(last, at)
            if what == "rr":
                out.append(p.review_requested(seed, pr, who, at))
            elif what == "review":
                out.append(
                    p.review_submitted(seed, pr, who, at, state="approved", body="Looks good.")
                )
            elif what == "fail":
                out.append(p.build_failed(seed, pr, at, int(who)))
            elif what == "ok":
                out.append(p.build_succeeded(seed, pr, at, int(who)))
        if merger:
            out.append(p.pr_merged(seed, pr, merger, last + timedelta(minutes=30)))
    parent: str | None = None
    for seq, (day, hh, mm, channel, person, text, thread) in enumerate(_CHAT, start=1):
        d = p.message(
            seed,
            channel,
            person,
            text,
            at=_at(ws, day, hh, mm),
            seq=seq,
            thread_ts=parent if thread else None,
        )
        if not thread:
            parent = d.payload()["event"]["ts"]
        out.append(d)
    out.sort(key=lambda d: (d.at, d.delivery_id))
    return Week(TEAM, ws, tuple(out), _calendar(ws), tuple(prs))


def questions(
    *,
    seed: int = 1,
    asked_at: datetime | None = None,
    texts: tuple[str, ...] = DEFAULT_QUESTIONS,
    channel: str = "C0ENG",
    person: str = "ana",
    bot_user_id: str = BOT_USER_ID,
) -> list[Delivery]:
    """Questions to the assistant as Slack sends a mention: the channel's ``message`` event and
    the ``app_mention`` event of the same message (deterministic ids per text)."""
    at = asked_at or datetime.now(UTC).replace(microsecond=0)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i, text in enumerate(texts, start=1):
        # The Slack ts derives from the seed and the text's position (not the clock): asking
        # again is a redelivery of the same message.
        seq = 900_000 + (seed % 1000) * 10 + i
        when = base + timedelta(minutes=i)
        mention = f"<@{bot_user_id}> {text}"
        for d in (
            p.message(seed, channel, person, mention, at=when, seq=seq),
            p.app_mention(seed, channel, person, text, at=when, seq=seq, bot_user_id=bot_user_id),
        ):
            out.append(Delivery(d.source, d.event, d.delivery_id, at, d.body, d.headers, d.summary))
    return out
