"""The alliance-wide blacklist from the admins' side, inviter records, and detector feedback.

/blacklist bans in every group of the alliance; /unblacklist lifts it everywhere; /blacklisted
lists entries with reasons; /inviter shows who brought a member in and their record; /spam marks
an ad (deleted, warned, stored as a labeled ad). The owner's report carries an undo button per
entry: undoing lifts the blacklist and stores the evidence as a labeled normal message.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import tr
from handlers import actions
from handlers.commands import (
    admin_command,
    language,
    reason_words,
    reply,
    resolve_target,
    target_or_usage,
    usage,
)
from storage.groups import ChatRepository
from storage.models import utcnow
from storage.moderation import BlacklistRepository, LabeledMessageRepository, StrikeRepository

PAGE = 20


@admin_command("blacklist")
async def cmd_blacklist(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "blacklist")
    if target is None:
        return
    chat = context.uow.chat
    assert chat is not None
    lang = language(context)
    reason = reason_words(context, target) or tr(lang, "blacklisted by an admin")
    replied = target.message
    offence = actions.Offence(
        target.user_id,
        target.name,
        reason=reason,
        detail=f"/blacklist: {reason}",
        message_id=replied.message_id if replied is not None else None,
        text=(replied.text or replied.caption or "") if replied is not None else "",
    )
    actor = update.effective_user.id if update.effective_user else None
    if await actions.blacklist(context, chat, offence, actor=actor):
        text = tr(
            lang,
            "{name} is blacklisted and will be removed from all our groups. Reason: {reason}",
            name=target.name,
            reason=reason,
        )
    else:
        text = tr(lang, "{name} is already blacklisted.", name=target.name)
    await reply(update, context, text)


@admin_command("unblacklist")
async def cmd_unblacklist(update: Update, context: BotContext) -> None:
    target, problem = await resolve_target(update, context)
    if target is None:
        await usage(update, context, "unblacklist", problem)
        return
    chat = context.uow.chat
    assert chat is not None and chat.alliance_id is not None
    lang = language(context)
    actor = update.effective_user.id if update.effective_user else 0
    if await actions.unblacklist(
        context, chat.alliance_id, target.user_id, actor=actor, chat_id=chat.id
    ):
        text = tr(
            lang,
            "{name} is no longer blacklisted; the bans in all our groups are lifted.",
            name=target.name,
        )
    else:
        text = tr(lang, "{name} is not blacklisted.", name=target.name)
    await reply(update, context, text)


@admin_command("blacklisted")
async def cmd_blacklisted(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None and chat.alliance_id is not None
    lang = language(context)
    args = context.args or []
    if args and (not args[0].isdigit() or int(args[0]) < 1):
        await usage(update, context, "blacklisted")
        return
    page = int(args[0]) if args else 1
    repo = BlacklistRepository(context.uow.session)
    total = await repo.count_active(chat.alliance_id)
    entries = await repo.list_active(chat.alliance_id, limit=PAGE, offset=(page - 1) * PAGE)
    if not entries:
        await reply(
            update,
            context,
            tr(lang, "The blacklist is empty.")
            if total == 0
            else tr(lang, "No entries on that page."),
        )
        return
    pages = (total + PAGE - 1) // PAGE
    lines = [
        tr(
            lang,
            "Blacklist: {total} accounts (page {page} of {pages})",
            total=total,
            page=page,
            pages=pages,
        )
    ]
    for entry in entries:
        lines.append(f"• {entry.user_id} — {entry.created_at:%Y-%m-%d} — {entry.reason[:120]}")
    await reply(update, context, "\n".join(lines))


@admin_command("inviter")
async def cmd_inviter(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "inviter", protect=False)
    if target is None:
        return
    chat = context.uow.chat
    assert chat is not None and chat.alliance_id is not None
    lang = language(context)
    session = context.uow.session
    groups = [g.id for g in await ChatRepository(session).list_active(chat.alliance_id)]
    strikes = StrikeRepository(session)
    membership = await strikes.inviter_of(groups, target.user_id)
    lines = []
    if membership is None or membership.invited_by is None:
        lines.append(
            tr(
                lang,
                "I do not know who invited {name} (they joined by themselves, or before I was here).",
                name=target.name,
            )
        )
    else:
        inviter = membership.invited_by
        link = f" ({membership.invite_link})" if membership.invite_link else ""
        lines.append(
            tr(
                lang,
                "{name} was invited by {inviter}{link}.",
                name=target.name,
                inviter=inviter,
                link=link,
            )
        )
        invitees = await strikes.invitees(groups, inviter)
        blacklist = BlacklistRepository(session)
        banned = [
            m.user_id for m in invitees if await blacklist.get_active(chat.alliance_id, m.user_id)
        ]
        lines.append(
            tr(
                lang,
                "That inviter brought in {count} members; {banned} of them are blacklisted; strikes: {strikes}.",
                count=len({m.user_id for m in invitees}),
                banned=len(set(banned)),
                strikes=await strikes.count(inviter),
            )
        )
    await reply(update, context, "\n".join(lines))


@admin_command("spam")
async def cmd_spam(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        await usage(update, context, "spam")
        return
    target = await target_or_usage(update, context, "spam")
    if target is None or target.message is None:
        return
    chat = context.uow.chat
    assert chat is not None
    lang = language(context)
    text = target.message.text or target.message.caption or ""
    if text:
        await LabeledMessageRepository(context.uow.session).add(
            text, "spam", source="admin", chat_id=chat.id, at=utcnow()
        )
        context.services.schedule_retrain()
    offence = actions.Offence(
        target.user_id,
        target.name,
        reason=tr(lang, "advertising is not allowed here"),
        detail="/spam by an admin",
        message_id=target.message.message_id,
        text=text,
    )
    actor = update.effective_user.id if update.effective_user else None
    await actions.warn(context, chat, offence, actor=actor)
    await context.uow.queue("delete_message", chat.id, {"message_id": message.message_id})


async def on_undo(update: Update, context: BotContext) -> None:
    """The owner's undo button on a blacklist report (callback data bl:undo:<alliance>:<user>)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    lang = context.services.settings.default_language
    if not context.services.is_owner(query.from_user.id):
        await query.answer(tr(lang, "Only an owner can do that."), show_alert=True)
        return
    _, _, raw_alliance, raw_user = query.data.split(":")
    alliance_id, user_id = int(raw_alliance), int(raw_user)
    if alliance_id not in context.services.owners[query.from_user.id]:
        await query.answer(tr(lang, "Only an owner can do that."), show_alert=True)
        return
    session = context.uow.session
    entry = await BlacklistRepository(session).get_active(alliance_id, user_id)
    evidence_text = str(entry.evidence.get("text") or "") if entry is not None else ""
    auto = entry is not None and entry.added_by is None
    if not await actions.unblacklist(
        context, alliance_id, user_id, actor=query.from_user.id, chat_id=None
    ):
        await query.answer(tr(lang, "{user} is not blacklisted.", user=user_id))
        return
    if auto and evidence_text:
        await LabeledMessageRepository(session).add(
            evidence_text, "ham", source="undo", chat_id=None, at=utcnow()
        )
        context.services.schedule_retrain()
    await query.answer(tr(lang, "Undone: {user} is no longer blacklisted.", user=user_id))
    if query.message is not None:
        await context.uow.queue(
            "send_message",
            query.message.chat.id,
            {
                "text": tr(lang, "Undone: {user} is no longer blacklisted.", user=user_id),
                "reply_to_message_id": query.message.message_id,
                "allow_sending_without_reply": True,
            },
        )
