"""Thin Telegram-facing handlers, registered as a pipeline of handler groups.

-2  the bot's own membership and group upgrades (work even for chats not yet in an alliance)
-1  guards: drop chats outside any alliance, load the chat, remember senders
 0  commands and features
"""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram import Update

from handlers import errors, guards, members, membership, private


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER), -2)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.on_migrate), -2)
    app.add_handler(TypeHandler(Update, guards.on_update), -1)

    app.add_handler(ChatMemberHandler(members.on_chat_member, ChatMemberHandler.CHAT_MEMBER), 1)
    app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, members.on_new_members), 1)
    app.add_handler(MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, members.on_left_member), 1)

    app.add_handler(CallbackQueryHandler(membership.on_approval, pattern=r"^grp:(ok|no):-?\d+$"), 0)
    app.add_handler(CommandHandler("start", private.cmd_start, filters.ChatType.PRIVATE), 0)
    app.add_handler(CommandHandler("help", private.cmd_help), 0)
    app.add_error_handler(errors.on_error)
