"""What a rule decides, as data: a verdict with its named reasons, and everything to do about it.

A `Decision` is the one thing rules hand to `services.apply`: the verdict ("warn", "blacklist",
"exempt", ...) with the reasons that led to it, and a list of steps:
- `rules.actions` Bot API calls (delete, ban, send ...), queued in the outbox;
- records of what was decided (a warning, a blacklist entry, a lifted entry, an inviter strike),
  written to the database;
- notices, messages whose words `services` renders in the reader's language (a warning with the
  group rules restated, an alert to the owners).
`apply` writes the audit row and all of it in the caller's transaction, or, in a group in shadow
mode, records every step as "would ..." and does none of them. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rules.actions import Action, Priority


@dataclass(frozen=True, slots=True)
class Reason:
    """One named reason: "contact-handle: 加薇 + 9 digits", "exempt: admin"."""

    name: str
    detail: str = ""

    def render(self) -> str:
        return f"{self.name}: {self.detail}" if self.detail else self.name


def explain(reasons: tuple[Reason, ...]) -> str:
    return "; ".join(r.render() for r in reasons) if reasons else "no reason given"


@dataclass(frozen=True, slots=True)
class Person:
    """Who an action is about, as people should read it: Name (@username, id)."""

    user_id: int
    name: str
    username: str | None = None

    def render(self) -> str:
        handle = f"@{self.username}, " if self.username else ""
        return f"{self.name} ({handle}{self.user_id})" if self.name else f"{handle}{self.user_id}"


# -- records: what the database keeps of a decision -------------------------------------------


@dataclass(frozen=True, slots=True)
class AddWarning:
    alliance_id: int
    chat_id: int
    user_id: int
    reason: str
    evidence: Mapping[str, Any]
    expires_in_days: int


@dataclass(frozen=True, slots=True)
class AddToBlacklist:
    alliance_id: int
    user_id: int
    reason: str
    evidence: Mapping[str, Any]
    source_chat_id: int | None
    added_by: int | None
    added_as: str  # owner | admin | auto | import


@dataclass(frozen=True, slots=True)
class LiftBlacklist:
    """Lift the entry and the warnings that led to it."""

    alliance_id: int
    user_id: int
    by: int


@dataclass(frozen=True, slots=True)
class StrikeInviter:
    alliance_id: int
    inviter_id: int
    invitee_id: int
    chat_id: int


Record = AddWarning | AddToBlacklist | LiftBlacklist | StrikeInviter


# -- notices: messages services word in the reader's language ---------------------------------


@dataclass(frozen=True, slots=True)
class WarningNotice:
    """A member's message was removed: warn, restating the group rules. Warnings in one group
    gather into one summary while the bot's last notice there is recent (a raid)."""

    chat_id: int
    person: Person
    reason: str  # already in the group's language
    count: int
    limit: int


@dataclass(frozen=True, slots=True)
class InviterNotice:
    """Tell the owners that an inviter keeps bringing in accounts that end up blacklisted."""

    alliance_id: int
    inviter: Person
    invitee: Person
    strikes: int
    consequence: str


Notice = WarningNotice | InviterNotice
Step = Action | Record | Notice


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict, why, and what follows from it."""

    verdict: str
    chat_id: int | None  # where it was decided; its shadow mode governs every step
    target: int | None = None
    actor: int | None = None
    reasons: tuple[Reason, ...] = ()
    steps: tuple[Step, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    # each call waits for the one before it to be done (a kick: the ban, then its lift)
    chained: bool = False

    def explain(self) -> str:
        return explain(self.reasons)

    def with_steps(self, *steps: Step) -> Decision:
        return replace(self, steps=self.steps + steps)


def is_urgent(step: Step) -> bool:
    return isinstance(step, Action) and getattr(step, "priority", None) == Priority.URGENT
