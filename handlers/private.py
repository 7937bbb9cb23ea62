"""The private chat with the bot: /start and /help."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import normalise_language, tr
from storage.groups import UserRepository


def language_for(update: Update, context: BotContext) -> str:
    """The language to answer in: the chat's, else the user's Telegram language, else the default."""
    default = context.services.settings.default_language
    uow = context.uow
    if uow.chat is not None and uow.chat.language:
        return uow.chat.language
    if uow.chat is None and update.effective_user is not None:
        return normalise_language(update.effective_user.language_code, default)
    if uow.alliance is not None:
        return uow.alliance.language
    return default


async def cmd_start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or update.effective_chat is None:
        return
    await UserRepository(context.uow.session).mark_started(user.id)
    lang = language_for(update, context)
    if context.services.is_owner(user.id):
        text = tr(lang, "Welcome back. Add me to your groups as an admin and I will look after them.")
    else:
        text = tr(lang, "Hello! I look after community groups. Group rules and notices will reach you here.")
    await context.uow.queue("send_message", update.effective_chat.id, {"text": text})


async def cmd_help(update: Update, context: BotContext) -> None:
    if update.effective_chat is None:
        return
    lang = language_for(update, context)
    text = tr(lang, "Commands:\n/start - start talking to me\n/help - this list")
    await context.uow.queue("send_message", update.effective_chat.id, {"text": text})
