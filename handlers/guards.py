"""The first stage of every update: drop what is not ours and load the chat it belongs to.

`on_update` runs in handler group -1, after the bot's own membership changes (group -2). A group
or supergroup update is processed only when the chat serves an alliance; private chats always
pass, and an alliance's owner is answered there in the alliance's language. `remember_sender` runs last: accounts seen are remembered (only when their name changed) so
admins can name them by @username.
"""

from __future__ import annotations

from telegram import Chat as TgChat
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import BotContext
from rules.limits import PSEUDO_SENDERS
from storage.activity import SeenUser
from storage.models import Alliance

GROUP_TYPES = (TgChat.GROUP, TgChat.SUPERGROUP)


async def on_update(update: Update, context: BotContext) -> None:
    uow, rt = context.uow, context.runtime
    chat = update.effective_chat
    if chat is not None and chat.type == TgChat.PRIVATE:
        await _owner_language(update, context)
        return
    if chat is None or chat.type not in GROUP_TYPES:
        return
    entry = await rt.state.entry(uow, chat.id)
    if entry is None or entry.chat.status != "active" or entry.chat.alliance_id is None:
        raise ApplicationHandlerStop
    uow.chat, uow.alliance = entry.chat, entry.alliance
    if chat.title and entry.chat.title != chat.title:
        rt.activity.note_title(chat.id, chat.title)


async def _owner_language(update: Update, context: BotContext) -> None:
    """An owner reads the bot in their (first) alliance's language, not their app's."""
    user = update.effective_user
    owned = context.runtime.alliances.owned_by(user.id if user else None)
    if owned:
        alliance = await context.uow.session.get(Alliance, min(owned))
        if alliance is not None:
            context.reader_language = alliance.language


async def remember_sender(update: Update, context: BotContext) -> None:
    """Last stage: note the sender's current name, written with the next activity batch."""
    user = update.effective_user
    if user is None or user.id in PSEUDO_SENDERS:
        return
    context.runtime.activity.note_user(
        SeenUser(
            user.id, user.first_name, user.last_name, user.username, user.is_bot, user.language_code
        )
    )
