"""Who may use admin commands, and who is protected from moderation, checked against Telegram.

Authority: the alliance's owners, the group's creator, and its administrators with the right to
restrict members; an anonymous admin posting as the group counts. A channel, Telegram's service
account (777000) or Channel_Bot (136817688) never does. Statuses come from getChatAdministrators, cached
per chat for a while and dropped when a chat_member update says an admin changed.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import TelegramError

from bot.caches import MemberStatus
from bot.context import BotContext
from handlers.guards import CHANNEL_BOT, SERVICE_NOTIFICATIONS
from rules.moderation import Target, protection


async def chat_admins(context: BotContext, chat_id: int) -> dict[int, MemberStatus]:
    """The chat's administrators (from the cache, else from Telegram)."""
    cache = context.services.admin_cache
    known = cache.get(chat_id)
    if known is not None:
        return known
    await context.uow.end_reads()
    try:
        members = await context.bot.get_chat_administrators(chat_id)
    except TelegramError:
        return {}
    admins = {
        m.user.id: MemberStatus(
            m.status, m.status == "creator" or bool(getattr(m, "can_restrict_members", False))
        )
        for m in members
    }
    cache.put(chat_id, admins)
    return admins


async def member_status(context: BotContext, chat_id: int, user_id: int) -> MemberStatus:
    admins = await chat_admins(context, chat_id)
    return admins.get(user_id, MemberStatus("member", False))


def is_anonymous_admin(message: Message) -> bool:
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


async def may_moderate(update: Update, context: BotContext) -> bool:
    """Whether the sender of this update may use admin commands in its chat."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return False
    if is_anonymous_admin(message):
        return True
    if message.sender_chat is not None or user.id in (SERVICE_NOTIFICATIONS, CHANNEL_BOT):
        return False
    if context.services.is_owner(user.id):
        return True
    if chat.type == "private":
        return False
    status = await member_status(context, chat.id, user.id)
    return status.status == "creator" or (status.status == "administrator" and status.can_restrict)


async def protected_reason(context: BotContext, chat_id: int, user_id: int) -> str | None:
    """Why this user may not be warned, banned or blacklisted here (None: they may)."""
    if user_id == context.bot.id:
        return "bot"
    if context.services.is_owner(user_id):
        return "owner"
    status = await member_status(context, chat_id, user_id)
    return protection(Target(user_id, status.status))
