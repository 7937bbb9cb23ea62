"""Moderation policy as pure functions: the warn ladder, who is protected, who may lift a
blacklist entry, what a blacklisting does in each group, inviter accountability, mute durations.

Each decision is a `rules.decision.Decision`: callers load the facts (counts, statuses, the
groups of the alliance), ask here, and hand the result to `services.apply`. Nothing here knows
Telegram or the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rules.actions import (
    MUTED,
    NO_INVITES,
    UNMUTED,
    BanMember,
    BanSenderChat,
    DeleteMessage,
    Priority,
    RestrictMember,
    UnbanMember,
)
from rules.decision import (
    AddToBlacklist,
    AddWarning,
    Decision,
    InviterNotice,
    LiftBlacklist,
    Person,
    Reason,
    Step,
    StrikeInviter,
    WarningNotice,
)
from rules.facts import Verdict

# Telegram treats a restriction or ban shorter than 30 seconds or longer than 366 days as forever.
MIN_RESTRICT_SECONDS = 30
MAX_RESTRICT_SECONDS = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d{1,6})\s*([smhdw])$", re.IGNORECASE)

PROTECTED_STATUSES = frozenset({"creator", "administrator"})


class Ladder(StrEnum):
    WARN = "warn"
    BLACKLIST = "blacklist"


def next_step(active_warnings: int, warn_limit: int) -> Ladder:
    """With `active_warnings` including the one just given: blacklist once the limit is reached."""
    return Ladder.BLACKLIST if active_warnings >= max(1, warn_limit) else Ladder.WARN


@dataclass(frozen=True)
class Target:
    """Who someone is, for deciding whether they may be acted against."""

    user_id: int
    status: str  # Telegram ChatMember status in the chat where the action starts
    is_bot_itself: bool = False
    is_owner: bool = False  # an owner of the alliance
    admin_elsewhere: bool = False  # an admin of another group of the alliance


def protection(target: Target) -> str | None:
    """Why the target may not be warned, banned or blacklisted (None: they may). Admins of any
    group of the alliance are protected in every group of it."""
    if target.is_bot_itself:
        return "bot"
    if target.is_owner:
        return "owner"
    if target.status in PROTECTED_STATUSES or target.admin_elsewhere:
        return "admin"
    return None


@dataclass(frozen=True)
class Offence:
    """What a member did and the proof of it."""

    person: Person
    chat_id: int | None  # the group where it happened (None: e.g. an imported list)
    reason: str  # for people: short, in the group's language
    detail: str = ""  # for admins and the log: the detector's reasons
    message_id: int | None = None
    text: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def why(self) -> str:
        return self.detail or self.reason

    def evidence(self) -> dict[str, Any]:
        return {
            "who": self.person.render(),
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text[:1000],
            "detail": self.detail,
            **self.extra,
        }

    def removal(self) -> tuple[Step, ...]:
        if self.message_id is None or self.chat_id is None:
            return ()
        return (DeleteMessage(chat_id=self.chat_id, message_id=self.message_id),)


@dataclass(frozen=True)
class WarnPolicy:
    limit: int = 2
    expiry_days: int = 30


def warn(
    offence: Offence,
    *,
    alliance_id: int,
    warnings_before: int,
    policy: WarnPolicy,
    actor: int | None,
    verdict: str = "warn",
) -> Decision:
    """A warning below the limit: remove the message, record the warning, warn with the rules.
    At the limit the caller blacklists instead (`next_step`)."""
    chat_id = _group_of(offence)
    count = warnings_before + 1
    return Decision(
        verdict,
        offence.chat_id,
        target=offence.person.user_id,
        actor=actor,
        reasons=(Reason("warn", f"{count} of {policy.limit}"), Reason(offence.why)),
        steps=(
            *offence.removal(),
            _warning_record(offence, alliance_id, policy),
            WarningNotice(chat_id, offence.person, offence.reason, count, policy.limit),
        ),
        details={"message_id": offence.message_id, "count": count, "limit": policy.limit},
    )


def _group_of(offence: Offence) -> int:
    if offence.chat_id is None:
        raise ValueError("a warning is given in a group: the offence names none")
    return offence.chat_id


def _warning_record(offence: Offence, alliance_id: int, policy: WarnPolicy) -> AddWarning:
    return AddWarning(
        alliance_id,
        _group_of(offence),
        offence.person.user_id,
        offence.reason,  # as people read it; the detector's reasons are in the evidence
        offence.evidence(),
        policy.expiry_days,
    )


@dataclass(frozen=True)
class GroupFacts:
    """A group of the alliance as a blacklisting sees it."""

    chat_id: int
    present: bool  # the account is known to be in it (it has spoken or joined there)


def blacklist(
    offence: Offence,
    *,
    alliance_id: int,
    groups: Sequence[GroupFacts],
    actor: int | None,
    added_as: str,
    already: bool,
    warning: WarnPolicy | None = None,
    recent: Sequence[tuple[int, int]] = (),
) -> Decision:
    """Blacklist across the alliance: remove the message, keep the entry, ban in every group,
    and remove the account's `recent` (chat, message) posts in the alliance's groups (a ban
    does not take a supergroup member's messages away).

    A ban where the account is (or where it offended) is urgent; elsewhere it only keeps the
    account out and waits behind what members are waiting for. With `warning`, the warning that
    reached the limit is recorded too. An account already blacklisted only loses the message.
    """
    user_id = offence.person.user_id
    if already:
        return Decision(
            "already_blacklisted",
            offence.chat_id,
            target=user_id,
            actor=actor,
            reasons=(Reason("blacklisted"), Reason(offence.why)),
            steps=offence.removal(),
        )
    steps: list[Step] = [*offence.removal()]
    alliance_groups = {g.chat_id for g in groups}
    seen = {(offence.chat_id, offence.message_id)}
    for chat_id, message_id in recent:
        if chat_id in alliance_groups and (chat_id, message_id) not in seen:
            seen.add((chat_id, message_id))
            steps.append(DeleteMessage(chat_id=chat_id, message_id=message_id))
    if warning is not None:
        steps.append(_warning_record(offence, alliance_id, warning))
    steps.append(
        AddToBlacklist(
            alliance_id,
            user_id,
            offence.reason,  # as people read it; the detector's reasons are in the evidence
            offence.evidence(),
            offence.chat_id,
            actor,
            added_as,
        )
    )
    for group in groups:
        urgent = group.present or group.chat_id == offence.chat_id
        steps.append(
            BanMember(
                chat_id=group.chat_id,
                user_id=user_id,
                priority=Priority.URGENT if urgent else Priority.BACKGROUND,
            )
        )
    return Decision(
        "blacklist",
        offence.chat_id,
        target=user_id,
        actor=actor,
        reasons=(Reason("blacklist", added_as), Reason(offence.why)),
        steps=tuple(steps),
        details={"groups": len(groups), "message_id": offence.message_id},
    )


def remove_channel_post(
    chat_id: int, sender_chat_id: int, message_id: int, verdict: Verdict
) -> Decision:
    """An ad posted as a channel: the post goes, and the channel may no longer post here. No
    one is warned or blacklisted: the sender behind a channel is not known."""
    return Decision(
        "remove_channel_post",
        chat_id,
        target=sender_chat_id,
        reasons=(Reason("posted as a channel"), *_reasons(verdict)),
        steps=(
            DeleteMessage(chat_id=chat_id, message_id=message_id),
            BanSenderChat(chat_id=chat_id, sender_chat_id=sender_chat_id),
        ),
        details={"message_id": message_id, "score": round(verdict.score, 3)},
    )


def remove_blacklisted(chat_id: int, user_id: int, message_id: int | None, why: str) -> Decision:
    """A blacklisted account got in anyway (it joined, or it speaks): out at once."""
    steps: list[Step] = []
    if message_id is not None:
        steps.append(DeleteMessage(chat_id=chat_id, message_id=message_id))
    steps.append(BanMember(chat_id=chat_id, user_id=user_id))
    return Decision(
        "ban", chat_id, target=user_id, reasons=(Reason("blacklisted", why),), steps=tuple(steps)
    )


@dataclass(frozen=True)
class EntryFacts:
    """A blacklist entry as the lifting rule needs it."""

    user_id: int
    added_as: str  # owner | admin | auto | import
    source_chat_id: int | None


@dataclass(frozen=True)
class LifterFacts:
    user_id: int
    is_owner: bool
    admin_of: frozenset[int]  # groups of the alliance where they may restrict members


def may_lift(entry: EntryFacts, lifter: LifterFacts, policy: str = "source_admins") -> str | None:
    """Why `lifter` may not lift the entry (None: they may).

    An owner may lift anything. An owner's (or an import's) entry only an owner. Otherwise, by
    the alliance's policy: "source_admins" (default) the admins of the group the entry came from,
    "any_admin" the admins of any group of the alliance, "owners" only the owners.
    """
    if lifter.is_owner:
        return None
    if entry.added_as in ("owner", "import") or policy == "owners":
        return "owner_entry" if entry.added_as in ("owner", "import") else "owners_only"
    if policy == "any_admin":
        return None if lifter.admin_of else "not_admin"
    if entry.source_chat_id is not None and entry.source_chat_id in lifter.admin_of:
        return None
    return "other_group"


def lift(
    alliance_id: int,
    person: Person,
    *,
    groups: Sequence[int],
    actor: int,
    chat_id: int | None,
    reason: str,
) -> Decision:
    """Lift a blacklisting: the entry and its warnings, and the bans in every group."""
    steps: list[Step] = [LiftBlacklist(alliance_id, person.user_id, actor)]
    steps += [UnbanMember(chat_id=g, user_id=person.user_id) for g in groups]
    return Decision(
        "unblacklist",
        chat_id,
        target=person.user_id,
        actor=actor,
        reasons=(Reason("lifted", reason),),
        steps=tuple(steps),
    )


class InviterAction(StrEnum):
    NONE = "none"
    REPORT = "report"
    RESTRICT = "restrict"
    BLACKLIST = "blacklist"


def inviter_consequence(strikes: int, limit: int, policy: str) -> InviterAction:
    """What happens to an inviter after `strikes` blacklisted invitees (reported at the limit)."""
    if strikes < max(1, limit):
        return InviterAction.NONE
    try:
        return InviterAction(policy)
    except ValueError:
        return InviterAction.REPORT


@dataclass(frozen=True)
class InviterFacts:
    alliance_id: int
    inviter: Person
    invitee: Person
    chat_id: int  # where the invitee was brought in
    strikes_before: int
    protected: bool  # an owner or an admin somewhere in the alliance: reported, never punished


def strike_inviter(
    facts: InviterFacts, *, limit: int, policy: str, groups: Sequence[int], source_chat_id: int
) -> tuple[Decision, InviterAction]:
    """Count a strike against whoever invited a blacklisted account; at the limit, the policy
    says what follows. A protected inviter is only reported. A blacklisting that follows is
    the caller's next decision (it needs the blacklist's own facts)."""
    strikes = facts.strikes_before + 1
    consequence = inviter_consequence(strikes, limit, policy)
    if facts.protected and consequence is not InviterAction.NONE:
        consequence = InviterAction.REPORT
    steps: list[Step] = [
        StrikeInviter(
            facts.alliance_id, facts.inviter.user_id, facts.invitee.user_id, facts.chat_id
        )
    ]
    if consequence is not InviterAction.NONE:
        steps.append(
            InviterNotice(facts.alliance_id, facts.inviter, facts.invitee, strikes, consequence)
        )
    if consequence is InviterAction.RESTRICT:
        steps += [
            RestrictMember(chat_id=g, user_id=facts.inviter.user_id, permissions=NO_INVITES)
            for g in groups
        ]
    decision = Decision(
        "inviter_strike",
        source_chat_id,
        target=facts.inviter.user_id,
        reasons=(Reason("inviter", f"{strikes} blacklisted invitees"), Reason(consequence)),
        steps=tuple(steps),
        details={"strikes": strikes, "invitee": facts.invitee.user_id},
    )
    return decision, consequence


def parse_duration(text: str) -> int | None:
    """Seconds for "10m", "2h", "3d", "1w", "45s"; None when it is not a duration.

    The result is clamped to what Telegram accepts as a temporary restriction.
    """
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    return min(max(seconds, MIN_RESTRICT_SECONDS), MAX_RESTRICT_SECONDS)


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def screened(
    verdict: Verdict, *, chat_id: int, user_id: int, message_id: int, would: Verdict | None = None
) -> Decision | None:
    """What the audit log keeps of a message's verdict.

    None for an ordinary message. "exempt" when the sender's standing (admin, approved member)
    spared a message that `would` have been acted on, with both sets of reasons; "flag" for an
    admin to review. A "delete" verdict goes up the warn ladder instead (the caller's `warn` or
    `blacklist`).
    """
    details = {"message_id": message_id, "score": round((would or verdict).score, 3)}
    if would is not None and would.action != "allow":
        reasons = _reasons(verdict) + _reasons(would)
        return Decision("exempt", chat_id, target=user_id, reasons=reasons, details=details)
    if verdict.action == "flag":
        return Decision("flag", chat_id, target=user_id, reasons=_reasons(verdict), details=details)
    return None


def _reasons(verdict: Verdict) -> tuple[Reason, ...]:
    found = tuple(Reason(s.name, s.detail) for s in verdict.reasons if s.name != "classifier")
    if verdict.probability is not None:
        found += (Reason("classifier", f"{verdict.probability:.2f}"),)
    return found


def in_group(
    command: str,
    chat_id: int,
    target: Person,
    *,
    actor: int | None,
    reason: str = "",
    until: int | None = None,
) -> Decision:
    """An admin's order about one member in this group only: ban, unban, kick (a ban lifted at
    once: removed, free to come back), mute (until `until`, Unix time; None: until unmuted),
    unmute."""
    user = target.user_id
    ban = BanMember(chat_id=chat_id, user_id=user, revoke_messages=False)
    lift = UnbanMember(chat_id=chat_id, user_id=user, priority=Priority.URGENT)
    orders: dict[str, tuple[Step, ...]] = {
        "ban": (ban,),
        "unban": (lift,),
        "kick": (ban, lift),
        "mute": (RestrictMember(chat_id=chat_id, user_id=user, permissions=MUTED, until=until),),
        "unmute": (RestrictMember(chat_id=chat_id, user_id=user, permissions=UNMUTED),),
    }
    return Decision(
        command,
        chat_id,
        target=user,
        actor=actor,
        reasons=(Reason(f"/{command}", reason),),
        steps=orders[command],
        details={"until": until} if until else {},
        chained=True,
    )
