"""Moderation steps shared by the automatic path and admin commands: warn, blacklist, lift.

Each step records its decision (warning, blacklist entry, moderation log) and queues its Bot API
calls in the caller's unit of work, so both land in one transaction. In a group in shadow mode
the decision is logged as "would_<action>" and nothing is queued for that group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.context import BotContext, UnitOfWork
from bot.i18n import N_, tr
from handlers.alerts import send_alert
from rules.health import Alert, AlertKind, TierRules, is_spam_wave
from rules.moderation import (
    InviterAction,
    Step,
    Target,
    inviter_consequence,
    next_step,
    protection,
)
from storage.groups import ChatRepository, MemberRepository
from storage.health import HealthRepository
from storage.models import Alliance, Chat, ModerationLog, utcnow
from storage.moderation import BlacklistRepository, StrikeRepository, WarningRepository
from storage.policy import GroupPolicy

DEFAULT_RULES = N_(
    "1. No ads, promotions or recruiting for other groups.\n"
    "2. Do not message members privately to sell anything.\n"
    "3. Be kind; stay on topic."
)


@dataclass(frozen=True)
class Offence:
    """What a member did and the proof of it."""

    user_id: int
    user_name: str
    reason: str  # for people: short, translated by the caller
    detail: str = ""  # for admins and the log: the detector's reasons
    message_id: int | None = None
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def evidence(self, chat_id: int) -> dict[str, Any]:
        return {
            "chat_id": chat_id,
            "message_id": self.message_id,
            "text": self.text[:1000],
            "detail": self.detail,
            **self.extra,
        }


def rules_text(chat: Chat, language: str) -> str:
    return chat.rules_text or tr(language, DEFAULT_RULES)


def chat_language(context: BotContext, chat: Chat | None) -> str:
    if chat is not None and chat.language:
        return chat.language
    uow = context.uow
    if uow.alliance is not None:
        return uow.alliance.language
    return context.services.settings.default_language


def log(
    uow: UnitOfWork,
    action: str,
    *,
    chat_id: int | None,
    actor: int | None,
    target: int | None,
    reasons: str = "",
    **details: Any,
) -> None:
    uow.session.add(
        ModerationLog(
            at=utcnow(),
            actor_id=actor,
            target_id=target,
            chat_id=chat_id,
            action=action,
            reasons=reasons,
            details=details,
        )
    )


async def warn(context: BotContext, chat: Chat, offence: Offence, *, actor: int | None) -> Step:
    """Delete the message (if any), record a warning, and warn with the rules restated; at the
    policy's limit, blacklist instead."""
    uow = context.uow
    policy = GroupPolicy.load(chat.policy)
    if policy.shadow_mode:
        log(
            uow,
            "would_warn",
            chat_id=chat.id,
            actor=actor,
            target=offence.user_id,
            reasons=offence.detail or offence.reason,
            message_id=offence.message_id,
        )
        return Step.WARN
    now = utcnow()
    assert chat.alliance_id is not None
    warnings = WarningRepository(uow.session)
    await warnings.add(
        alliance_id=chat.alliance_id,
        chat_id=chat.id,
        user_id=offence.user_id,
        actor_id=actor,
        reason=offence.detail or offence.reason,
        evidence=offence.evidence(chat.id),
        at=now,
        expires_at=now + timedelta(days=policy.warn_expiry_days),
    )
    count = await warnings.count_active(chat.alliance_id, offence.user_id, now=now)
    step = next_step(count, policy.warn_limit)
    if offence.message_id is not None:
        await uow.queue("delete_message", chat.id, {"message_id": offence.message_id})
    log(
        uow,
        "warn",
        chat_id=chat.id,
        actor=actor,
        target=offence.user_id,
        reasons=offence.detail or offence.reason,
        count=count,
        limit=policy.warn_limit,
    )
    if step is Step.BLACKLIST:
        await blacklist(context, chat, offence, actor=actor, delete_message=False)
        return step
    language = chat_language(context, chat)
    text = tr(
        language,
        "⚠️ {name}, your message was removed: {reason}.\nWarning {count} of {limit}: at {limit} you are blacklisted and removed from all our groups.\n\nGroup rules:\n{rules}",
        name=offence.user_name,
        reason=offence.reason,
        count=count,
        limit=policy.warn_limit,
        rules=rules_text(chat, language),
    )
    await uow.queue(
        "send_message", chat.id, {"text": text, "delete_after": policy.warning_delete_after}
    )
    return step


async def blacklist(
    context: BotContext,
    chat: Chat,
    offence: Offence,
    *,
    actor: int | None,
    strike_inviter: bool = True,
    delete_message: bool = True,
) -> bool:
    """Blacklist across the alliance: ban in every group, tell the owner (batched), strike the
    inviter. Returns False when the user was already blacklisted."""
    uow = context.uow
    assert chat.alliance_id is not None
    now = utcnow()
    entry, new = await BlacklistRepository(uow.session).add(
        alliance_id=chat.alliance_id,
        user_id=offence.user_id,
        reason=offence.detail or offence.reason,
        evidence=offence.evidence(chat.id),
        added_by=actor,
        source_chat_id=chat.id,
        at=now,
    )
    shadow = GroupPolicy.load(chat.policy).shadow_mode
    if delete_message and offence.message_id is not None and not shadow:
        await uow.queue("delete_message", chat.id, {"message_id": offence.message_id})
    if not new:
        return False
    groups = await ChatRepository(uow.session).list_active(chat.alliance_id)
    await ban_everywhere(uow, groups, offence.user_id, actor=actor, reason=entry.reason)
    log(
        uow,
        "blacklist",
        chat_id=chat.id,
        actor=actor,
        target=offence.user_id,
        reasons=entry.reason,
        groups=len(groups),
    )
    if strike_inviter:
        await _strike_inviter(context, chat, groups, offence.user_id)
    await _alert_spam_wave(context, chat, now)
    context.services.wake_reports()
    return True


async def _alert_spam_wave(context: BotContext, chat: Chat, now: datetime) -> None:
    """Many accounts blacklisted from one group within the hour: the owners hear of it once."""
    rules = TierRules()
    since = now - timedelta(minutes=rules.spam_wave_minutes)
    session = context.uow.session
    recent = await HealthRepository(session).blacklisted_since(chat.id, since)
    if not is_spam_wave(recent, rules) or chat.alliance_id is None:
        return
    alliance = await session.get(Alliance, chat.alliance_id)
    if alliance is not None:
        detail = {"count": recent, "minutes": rules.spam_wave_minutes}
        alert = Alert(AlertKind.SPAM_WAVE, chat.id, detail)
        await send_alert(session, alliance, chat.title, alert, now=now)


async def ban_everywhere(
    uow: UnitOfWork, groups: list[Chat], user_id: int, *, actor: int | None, reason: str
) -> None:
    for group in groups:
        if GroupPolicy.load(group.policy).shadow_mode:
            log(uow, "would_ban", chat_id=group.id, actor=actor, target=user_id, reasons=reason)
            continue
        await uow.queue("ban_chat_member", group.id, {"user_id": user_id, "revoke_messages": True})


async def unblacklist(
    context: BotContext, alliance_id: int, user_id: int, *, actor: int, chat_id: int | None
) -> bool:
    """Lift the blacklist and the bans in every group; clear the warnings that led to it."""
    uow = context.uow
    now = utcnow()
    entry = await BlacklistRepository(uow.session).revoke(alliance_id, user_id, by=actor, at=now)
    if entry is None:
        return False
    await WarningRepository(uow.session).revoke_all(alliance_id, user_id, by=actor, now=now)
    for group in await ChatRepository(uow.session).list_active(alliance_id):
        if not GroupPolicy.load(group.policy).shadow_mode:
            await uow.queue(
                "unban_chat_member", group.id, {"user_id": user_id, "only_if_banned": True}
            )
    log(uow, "unblacklist", chat_id=chat_id, actor=actor, target=user_id, reasons=entry.reason)
    return True


async def _strike_inviter(
    context: BotContext, chat: Chat, groups: list[Chat], invitee_id: int
) -> None:
    uow = context.uow
    strikes_repo = StrikeRepository(uow.session)
    membership = await strikes_repo.inviter_of([g.id for g in groups], invitee_id)
    if membership is None or membership.invited_by is None:
        return
    inviter = membership.invited_by
    assert chat.alliance_id is not None
    strikes = await strikes_repo.add(
        inviter_id=inviter,
        invitee_id=invitee_id,
        chat_id=membership.chat_id,
        alliance_id=chat.alliance_id,
        at=utcnow(),
    )
    policy = GroupPolicy.load(chat.policy)
    consequence = inviter_consequence(strikes, policy.inviter_strike_limit, policy.inviter_policy)
    if consequence is InviterAction.NONE:
        return
    # Known statuses only (no Bot API call after the writes above): an admin is reported, never
    # restricted or blacklisted.
    known = await MemberRepository(uow.session).get(membership.chat_id, inviter)
    target = Target(
        inviter, known.status if known else "member", is_owner=context.services.is_owner(inviter)
    )
    if protection(target) is not None:
        consequence = InviterAction.REPORT
    language = chat_language(context, chat)
    for owner_id in context.services.owners:
        await uow.queue(
            "send_message",
            owner_id,
            {
                "text": tr(
                    language,
                    "Inviter alert: user {inviter} brought {strikes} accounts into our groups that are now blacklisted (latest: {invitee}). Action: {action}.",
                    inviter=inviter,
                    strikes=strikes,
                    invitee=invitee_id,
                    action=consequence.value,
                )
            },
        )
    if consequence is InviterAction.RESTRICT:
        for group in groups:
            await uow.queue(
                "restrict_chat_member",
                group.id,
                {
                    "user_id": inviter,
                    "permissions": {"can_invite_users": False, "can_send_messages": True},
                },
            )
    elif consequence is InviterAction.BLACKLIST:
        offence = Offence(
            inviter,
            str(inviter),
            reason=tr(language, "inviting ad accounts"),
            detail=f"inviter of {strikes} blacklisted accounts",
        )
        await blacklist(context, chat, offence, actor=None, strike_inviter=False)
