"""The first stage of every update: drop what is not ours and load the chat it belongs to.

`on_update` runs in handler group -1, after the bot's own membership changes (group -2). A group
or supergroup update is processed only when the chat serves an alliance; private chats always
pass. `remember_sender` runs last: accounts seen are remembered (only when their name changed) so
admins can name them by @username.
"""

from __future__ import annotations

from telegram import Chat as TgChat
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from storage.activity import SeenUser

GROUP_TYPES = (TgChat.GROUP, TgChat.SUPERGROUP)
ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
SERVICE_NOTIFICATIONS = 777000  # Telegram: a linked channel's automatic forward
CHANNEL_BOT = 136817688  # Channel_Bot: someone posting as a channel
PSEUDO_SENDERS = frozenset({ANONYMOUS_ADMIN, SERVICE_NOTIFICATIONS, CHANNEL_BOT})


async def on_update(update: Update, context: BotContext) -> None:
    uow = context.uow
    chat = update.effective_chat
    if chat is None or chat.type not in GROUP_TYPES:
        return
    row, alliance = await context.services.state.chat(uow, chat.id)
    if row is None or row.status != "active" or row.alliance_id is None:
        raise ApplicationHandlerStop
    uow.chat, uow.alliance = row, alliance
    if chat.title and row.title != chat.title:
        (await uow.chat_for_update()).title = chat.title


async def remember_sender(update: Update, context: BotContext) -> None:
    """Last stage: note the sender's current name, written with the next activity batch."""
    user = update.effective_user
    if user is None or user.id in PSEUDO_SENDERS:
        return
    seen = context.services.seen_users
    signature = (user.username, user.first_name, user.last_name)
    if seen.get(user.id) == signature:
        return
    context.services.activity.note_user(
        SeenUser(
            user.id, user.first_name, user.last_name, user.username, user.is_bot, user.language_code
        )
    )
    if len(seen) > 100_000:
        seen.clear()
    seen[user.id] = signature
