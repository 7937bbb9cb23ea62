"""/shadow report and its buttons: what shadow mode would have done in this group, "this was
fine" under each would-be action, and one tap to turn enforcement on.

The report is the group admins' (in the group); the owners get the same in the daily digest
while a group is in shadow mode, with the same buttons, which they may press in private.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import CallbackQuery, Update

from handlers.authority import may_moderate
from handlers.commands import actor_of, answer, language
from handlers.context import BotContext
from rules.actions import SendMessage
from rules.limits import TEXT_LIMIT, fit, parse_chat_id, parse_user_id
from services import notices
from services.i18n import normalise_language, tr
from services.shadow import build_report, keyboard, mark_fine, render_report, set_shadow, would_row
from services.texts import chat_language
from storage.groups import ChatRepository
from storage.models import Alliance, Chat, utcnow
from storage.policy import GroupPolicy


async def cmd_report(update: Update, context: BotContext) -> None:
    """/shadow report (the caller checked the sender's authority)."""
    uow = context.uow
    message = update.effective_message
    if uow.chat is None or message is None:
        return
    lang = language(context)
    tz = ZoneInfo(uow.alliance.timezone if uow.alliance else "UTC")
    report = await build_report(uow.session, uow.chat, now=utcnow())
    await uow.send(
        SendMessage(
            chat_id=uow.chat.id,
            text=fit(render_report(lang, report, tz), TEXT_LIMIT),
            reply_to=message.message_id,
            buttons=keyboard(lang, report),
        )
    )


def language_for(update: Update, context: BotContext) -> str:
    """The group's language, or in private the alliance's for an owner, else the presser's own."""
    if context.uow.chat is not None:
        return language(context)
    if context.reader_language is not None:
        return context.reader_language
    user = update.effective_user
    default = context.runtime.options.default_language
    return normalise_language(user.language_code if user else None, default)


async def _may_act(update: Update, context: BotContext, chat: Chat) -> str | None:
    """The language to answer in when the presser may act on `chat` (its admins there, its
    alliance's owners anywhere); None when not."""
    rt, uow = context.runtime, context.uow
    user = update.effective_user
    if uow.chat is not None:
        if uow.chat.id != chat.id or not await may_moderate(update, context):
            return None
        return language(context)
    if user is None or not rt.alliances.is_owner(user.id, chat.alliance_id):
        return None
    alliance = await uow.session.get(Alliance, chat.alliance_id) if chat.alliance_id else None
    return chat_language(rt, None, alliance)


async def _refuse(update: Update, context: BotContext, query: CallbackQuery) -> None:
    lang = language_for(update, context)
    text = tr(lang, "Only the group's admins and the owners can do that.")
    await answer(context, query, text, alert=True)


async def on_fine(update: Update, context: BotContext) -> None:
    """ "✅ n was fine" (callback data sh:fine:<audit row id>)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    uow = context.uow
    log_id = parse_user_id(query.data.rsplit(":", 1)[1])
    row = await would_row(uow.session, log_id) if log_id is not None else None
    chat = await ChatRepository(uow.session).get(row.chat_id) if row and row.chat_id else None
    if row is None or chat is None:
        lang = language_for(update, context)
        await answer(context, query, tr(lang, "That button is no longer valid."))
        return
    may = await _may_act(update, context, chat)
    if may is None:
        await _refuse(update, context, query)
        return
    lang = may
    if not await mark_fine(uow, row, query.from_user.id):
        await answer(context, query, tr(lang, "Already marked as fine."))
        return
    report = await build_report(uow.session, chat, now=utcnow())
    done = tr(
        lang,
        "Marked as fine; I learn from it. {fine} of {total} marked in “{title}”.",
        fine=report.fine,
        total=len(report.items),
        title=chat.title,
    )
    await answer(context, query, done)
    if query.message is not None:
        await notices.reply(uow, query.message.chat.id, done, reply_to=query.message.message_id)


async def on_enforce(update: Update, context: BotContext) -> None:
    """ "Turn enforcement on" (callback data sh:on:<chat id>): shadow mode off in that group."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    uow = context.uow
    chat_id = parse_chat_id(query.data.rsplit(":", 1)[1])
    row = await uow.session.get(Chat, chat_id) if chat_id is not None else None
    if row is None or row.status != "active":
        lang = language_for(update, context)
        await answer(context, query, tr(lang, "That button is no longer valid."))
        return
    may = await _may_act(update, context, row)
    if may is None:
        await _refuse(update, context, query)
        return
    lang = may
    if not GroupPolicy.load(row.policy).shadow_mode:
        text = tr(lang, "Enforcement is already on in “{title}”.", title=row.title)
        await answer(context, query, text)
        return
    await set_shadow(uow, row, False, actor_of(update))
    alliance = await uow.session.get(Alliance, row.alliance_id) if row.alliance_id else None
    group_lang = chat_language(context.runtime, row, alliance)
    await notices.reply(uow, row.id, tr(group_lang, "Shadow mode is off: I act on what I find."))
    text = tr(lang, "Enforcement is on in “{title}”.", title=row.title)
    await answer(context, query, text)
    if uow.chat is None and query.message is not None:
        await notices.reply(uow, query.message.chat.id, text)
