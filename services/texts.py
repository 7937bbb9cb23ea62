"""The words of moderation notices, in the reader's language: warnings (alone, or gathered into a
summary during a wave of ads), the group rules they restate, and the owners' inviter alerts.

Who is named is named as people read it: Name (@username, id).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rules.actions import Batch, BatchEntry, SendMessage
from rules.decision import InviterNotice, WarningNotice
from rules.limits import TEXT_LIMIT, fit
from rules.notices import WARNINGS
from services.i18n import N_, tr, tr_n
from services.notices import gather
from services.runtime import Runtime
from services.uow import UnitOfWork
from storage.models import Alliance, Chat
from storage.schedule import AlertRepository

DEFAULT_RULES = N_(
    "1. No ads, promotions or recruiting for other groups.\n"
    "2. Do not message members privately to sell anything.\n"
    "3. Be kind; stay on topic."
)
WARNING_KEY = "warning"
MAX_LISTED = 10  # names in a summary; the rest are counted


def rules_text(chat: Chat, language: str) -> str:
    return chat.rules_text or tr(language, DEFAULT_RULES)


def chat_language(rt: Runtime, chat: Chat | None, alliance: Alliance | None = None) -> str:
    if chat is not None and chat.language:
        return chat.language
    if alliance is not None:
        return alliance.language
    return rt.options.default_language


def consequence_name(language: str, consequence: str) -> str:
    names = {
        "report": tr(language, "reported to you"),
        "restrict": tr(language, "may no longer invite anyone"),
        "blacklist": tr(language, "blacklisted"),
    }
    return names.get(consequence, consequence)


async def gather_warning(
    uow: UnitOfWork, rt: Runtime, notice: WarningNotice, *, now: datetime
) -> None:
    """Warn in the group, restating its rules; while a warning there is recent, later ones
    gather into one summary (a wave of ads gets one message every half minute, not one each)."""
    entry = await rt.state.entry(uow, notice.chat_id)
    if entry is None:
        return
    chat, policy = entry.chat, entry.policy
    language = chat_language(rt, chat, entry.alliance)

    def render(batch: Batch) -> SendMessage:
        return SendMessage(
            chat_id=chat.id,
            text=fit(_warning_text(language, chat, notice, batch), TEXT_LIMIT),
            delete_after=policy.warning_delete_after,
            batch=batch,
        )

    await gather(
        uow,
        chat_id=chat.id,
        key=WARNING_KEY,
        entry=BatchEntry(notice.person.user_id, notice.person.render()),
        pacing=WARNINGS,
        render=render,
        now=now,
    )


def _warning_text(language: str, chat: Chat, notice: WarningNotice, batch: Batch) -> str:
    rules = rules_text(chat, language)
    if len(batch.entries) == 1 and batch.entries[0].count == 1:
        return tr(
            language,
            "⚠️ {name}, your message was removed: {reason}.\nWarning {count} of {limit}: at {limit} you are blacklisted and removed from all our groups.\n\nGroup rules:\n{rules}",
            name=batch.entries[0].name,
            reason=notice.reason,
            count=notice.count,
            limit=notice.limit,
            rules=rules,
        )
    names = ", ".join(e.name for e in batch.entries[:MAX_LISTED])
    if batch.people > MAX_LISTED:
        names += " " + tr(language, "and {n} more", n=batch.people - MAX_LISTED)
    return tr_n(
        language,
        batch.people,
        N_(
            "⚠️ Removed {ads} ads from {accounts} account: {names}.\nEvery removed ad is a warning; at {limit} warnings an account is blacklisted and removed from all our groups.\n\nGroup rules:\n{rules}"
        ),
        N_(
            "⚠️ Removed {ads} ads from {accounts} accounts: {names}.\nEvery removed ad is a warning; at {limit} warnings an account is blacklisted and removed from all our groups.\n\nGroup rules:\n{rules}"
        ),
        ads=batch.total,
        accounts=batch.people,
        names=names,
        limit=notice.limit,
        rules=rules,
    )


async def notify_inviter(
    uow: UnitOfWork, rt: Runtime, notice: InviterNotice, *, now: datetime
) -> None:
    """Tell the alliance's owners, once a day per inviter, that an inviter keeps bringing in
    accounts that end up blacklisted."""
    alliance = await uow.session.get(Alliance, notice.alliance_id)
    if alliance is None:
        return
    day = now.astimezone(ZoneInfo(alliance.timezone)).date()
    key = f"inviter:{notice.inviter.user_id}"
    if not await AlertRepository(uow.session).claim(notice.alliance_id, key, day, at=now):
        return
    language = alliance.language
    text = tr_n(
        language,
        notice.strikes,
        N_(
            "Inviter alert: {inviter} brought {strikes} account into our groups that is now blacklisted (latest: {invitee}). Action: {action}."
        ),
        N_(
            "Inviter alert: {inviter} brought {strikes} accounts into our groups that are now blacklisted (latest: {invitee}). Action: {action}."
        ),
        inviter=notice.inviter.render(),
        strikes=notice.strikes,
        invitee=notice.invitee.render(),
        action=consequence_name(language, notice.consequence),
    )
    for owner_id in alliance.owner_ids:
        await uow.send(SendMessage(chat_id=owner_id, text=fit(text, TEXT_LIMIT)))
