"""The scenario's team: six people, three repositories, their Slack channels.

One person has one GitHub login, one Slack user id and one calendar e-mail; ``identity_map``
writes that mapping for the connectors' identity resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BOT_USER_ID",
    "CHANNELS",
    "PEOPLE",
    "REPOS",
    "TEAM",
    "Person",
    "identity_map",
    "identity_toml",
]

TEAM = "payments-team"
BOT_USER_ID = "U0ASSIST"  # the assistant's Slack user (what app_mentions mention)


@dataclass(frozen=True)
class Person:
    id: str  # the person id the identity map resolves every handle to
    name: str
    github: str
    slack: str
    email: str
    tz_offset_hours: int = 0


PEOPLE: tuple[Person, ...] = (
    Person("ana", "Ana Lima", "ana-lima", "U01ANA", "ana@acme.test"),
    Person("ben", "Ben Okafor", "bokafor", "U02BEN", "ben@acme.test"),
    Person("chen", "Chen Wei", "chenwei", "U03CHEN", "chen@acme.test"),
    Person("dara", "Dara Kim", "dkim", "U04DARA", "dara@acme.test"),
    Person("eli", "Eli Novak", "enovak", "U05ELI", "eli@acme.test"),
    Person("fay", "Fay Adams", "fadams", "U06FAY", "fay@acme.test"),
)
BY_ID = {p.id: p for p in PEOPLE}

REPOS: tuple[str, ...] = ("acme/payments", "acme/web", "acme/infra")

# Slack channel id -> (name, repository it is about or None)
CHANNELS: dict[str, tuple[str, str | None]] = {
    "C0PAYMENTS": ("payments", "acme/payments"),
    "C0WEB": ("web", "acme/web"),
    "C0INFRA": ("infra", "acme/infra"),
    "C0ENG": ("eng", None),
}


def identity_map() -> dict[str, dict[str, str]]:
    """Person id -> their handle per source (``github``, ``slack``, ``email``) and name."""
    return {
        p.id: {"name": p.name, "github": p.github, "slack": p.slack, "email": p.email}
        for p in PEOPLE
    }


def identity_toml() -> str:
    """The identity map in the connectors' TOML format (``[people.<id>]`` tables)."""
    lines = ["# The scenario team: one person across GitHub, Slack and calendar e-mail.", ""]
    for p in PEOPLE:
        lines += [
            f"[people.{p.id}]",
            f'name = "{p.name}"',
            f'github = ["{p.github}"]',
            f'slack = ["{p.slack}"]',
            f'email = ["{p.email}"]',
            "",
        ]
    return "\n".join(lines)
