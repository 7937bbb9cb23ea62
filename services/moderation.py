"""Moderation workflows every caller shares (the detector's path, admin commands, the owners'
undo, the command line): warn or blacklist an offender, blacklist across an alliance, lift a
blacklisting, strike the inviter of a blacklisted account.

Each loads the facts, asks `rules.moderation` for a decision and hands it to `services.apply`, in
the caller's unit of work; none of them knows Telegram's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rules.decision import Decision, Person
from rules.health import Alert, AlertKind, TierRules, is_spam_wave
from rules.moderation import (
    EntryFacts,
    GroupFacts,
    InviterAction,
    InviterFacts,
    Ladder,
    LifterFacts,
    Offence,
    WarnPolicy,
    may_lift,
    next_step,
)
from rules.moderation import blacklist as plan_blacklist
from rules.moderation import lift as plan_lift
from rules.moderation import strike_inviter as plan_strike
from rules.moderation import warn as plan_warn
from services.alerts import send_alert
from services.apply import Applied, apply
from services.i18n import tr
from services.runtime import Runtime
from services.texts import chat_language
from services.uow import UnitOfWork
from services.welcome import withdraw
from storage.admins import AdminRepository
from storage.groups import ChatRepository, MemberRepository, UserRepository
from storage.health import HealthRepository
from storage.models import Alliance, utcnow
from storage.moderation import BlacklistRepository, StrikeRepository, WarningRepository
from storage.policy import AlliancePolicy, GroupPolicy


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    applied: Applied


async def person(uow: UnitOfWork, user_id: int, name: str = "") -> Person:
    """Someone as people should read them, from what the bot has seen of them."""
    known = await UserRepository(uow.session).get(user_id)
    if known is None:
        return Person(user_id, name)
    full = " ".join(p for p in (known.first_name, known.last_name) if p) or name
    return Person(user_id, full, known.username)


async def punish(
    uow: UnitOfWork, rt: Runtime, alliance_id: int, offence: Offence, *, actor: int | None
) -> Outcome:
    """Warn (removing the message, restating the rules); at the group's limit, blacklist."""
    if offence.chat_id is None:
        raise ValueError("a warning is given in a group")
    await UserRepository(uow.session).remember([offence.person])
    policy = await rt.state.policy(uow, offence.chat_id)
    rules = WarnPolicy(policy.warn_limit, policy.warn_expiry_days)
    before = await WarningRepository(uow.session).count_active(
        alliance_id, offence.person.user_id, now=utcnow()
    )
    if next_step(before + 1, rules.limit) is Ladder.BLACKLIST:
        return await blacklist(
            uow,
            rt,
            alliance_id,
            offence,
            actor=actor,
            added_as="admin" if actor is not None else "auto",
            warning=rules,
        )
    decision = plan_warn(
        offence, alliance_id=alliance_id, warnings_before=before, policy=rules, actor=actor
    )
    return Outcome(decision, await apply(uow, rt, decision))


async def blacklist(
    uow: UnitOfWork,
    rt: Runtime,
    alliance_id: int,
    offence: Offence,
    *,
    actor: int | None,
    added_as: str,
    warning: WarnPolicy | None = None,
    strike: bool = True,
) -> Outcome:
    """Blacklist across the alliance: ban in every group, report to the owners (batched), strike
    whoever invited the account, and tell the owners when a group sees a wave of them."""
    session = uow.session
    user_id = offence.person.user_id
    await UserRepository(session).remember([offence.person])
    existing = await BlacklistRepository(session).get_active(alliance_id, user_id)
    groups = [g.id for g in await ChatRepository(session).list_active(alliance_id)]
    present = await MemberRepository(session).present_in(groups, user_id)
    decision = plan_blacklist(
        offence,
        alliance_id=alliance_id,
        groups=[GroupFacts(g, g in present) for g in groups],
        actor=actor,
        added_as=added_as,
        already=existing is not None,
        warning=warning,
        recent=rt.activity.recent_messages_of(user_id),
    )
    applied = await apply(uow, rt, decision)
    if applied.new_entry:
        await withdraw(uow, rt, user_id, sorted(present))
    if applied.new_entry and offence.chat_id is not None:
        if strike:
            await strike_inviter(uow, rt, alliance_id, offence.chat_id, offence.person, groups)
        await _alert_spam_wave(uow, rt, offence.chat_id)
    return Outcome(decision, applied)


async def strike_inviter(
    uow: UnitOfWork,
    rt: Runtime,
    alliance_id: int,
    chat_id: int,
    blacklisted: Person,
    groups: list[int],
) -> None:
    """One strike against whoever brought the blacklisted account in; the policy of the group
    where it offended says what happens at the limit. Owners and admins of the alliance are
    only reported."""
    session = uow.session
    strikes = StrikeRepository(session)
    invitee = blacklisted.user_id
    membership = await strikes.inviter_of(groups, invitee)
    if membership is None or membership.invited_by is None:
        return
    inviter_id = membership.invited_by
    before = await strikes.count(inviter_id, alliance_id)
    if await strikes.counted(inviter_id, invitee):
        return
    protected = rt.alliances.is_owner(inviter_id, alliance_id) or bool(
        await AdminRepository(session).admin_of(alliance_id, inviter_id)
    )
    policy = await rt.state.policy(uow, chat_id)
    facts = InviterFacts(
        alliance_id,
        await person(uow, inviter_id),
        blacklisted,
        membership.chat_id,
        before,
        protected,
    )
    # an inviter restricted already (muted) keeps that restriction: not touched there
    muted = await MemberRepository(session).present_in(groups, inviter_id, ("restricted",))
    decision, consequence = plan_strike(
        facts,
        limit=policy.inviter_strike_limit,
        policy=policy.inviter_policy,
        groups=[g for g in groups if g not in muted],
        source_chat_id=chat_id,
    )
    await apply(uow, rt, decision)
    if consequence is InviterAction.BLACKLIST:
        entry = await rt.state.entry(uow, chat_id)
        language = chat_language(
            rt, entry.chat if entry else None, entry.alliance if entry else None
        )
        reason = tr(language, "kept inviting ad accounts ({count} blacklisted)", count=before + 1)
        detail = f"inviter of {before + 1} blacklisted accounts"
        charge = Offence(facts.inviter, chat_id, reason=reason, detail=detail)
        await blacklist(uow, rt, alliance_id, charge, actor=None, added_as="auto", strike=False)


async def _alert_spam_wave(uow: UnitOfWork, rt: Runtime, chat_id: int) -> None:
    """Many accounts blacklisted from one group within the hour: the owners hear of it once."""
    entry = await rt.state.entry(uow, chat_id)
    if entry is None or entry.alliance is None:
        return
    rules = TierRules()
    now = utcnow()
    since = now - timedelta(minutes=rules.spam_wave_minutes)
    recent = await HealthRepository(uow.session).blacklisted_since(chat_id, since)
    if not is_spam_wave(recent, rules):
        return
    alliance = await uow.session.get(Alliance, entry.alliance.id)
    if alliance is not None:
        detail = {"count": recent, "minutes": rules.spam_wave_minutes}
        await send_alert(
            uow, alliance, entry.chat.title, Alert(AlertKind.SPAM_WAVE, chat_id, detail)
        )


async def unblacklist(
    uow: UnitOfWork,
    rt: Runtime,
    alliance_id: int,
    target: Person,
    *,
    actor: int,
    chat_id: int | None,
    actor_moderates_here: bool = False,
) -> str | None:
    """Lift the blacklisting everywhere, if the actor may; returns why not, or None when lifted.

    Reasons: "not_blacklisted", or one of `rules.moderation.may_lift`'s.
    """
    session = uow.session
    entry = await BlacklistRepository(session).get_active(alliance_id, target.user_id)
    if entry is None:
        return "not_blacklisted"
    moderates = await AdminRepository(session).moderator_of(alliance_id, actor)
    if actor_moderates_here and chat_id is not None:
        moderates.add(chat_id)
    alliance = await session.get(Alliance, alliance_id)
    lifter = LifterFacts(actor, rt.alliances.is_owner(actor, alliance_id), frozenset(moderates))
    facts = EntryFacts(entry.user_id, entry.added_as, entry.source_chat_id)
    policy = AlliancePolicy.load(alliance.policy if alliance is not None else None)
    why = may_lift(facts, lifter, policy.unblacklist_by)
    if why is not None:
        return why
    groups = [g.id for g in await ChatRepository(session).list_active(alliance_id)]
    decision = plan_lift(
        alliance_id, target, groups=groups, actor=actor, chat_id=chat_id, reason=entry.reason
    )
    await apply(uow, rt, decision)
    return None


def warn_rules(policy: GroupPolicy) -> WarnPolicy:
    return WarnPolicy(policy.warn_limit, policy.warn_expiry_days)
