"""Who may use admin commands, and who is protected from moderation.

Authority: the alliance's owners, the group's creator, and its administrators with the right to
restrict members; an anonymous admin posting as the group counts. A channel, Telegram's service
account (777000) or Channel_Bot (136817688) never does. Protection: the bot, the alliance's
owners, and the admins of ANY group of the alliance, in every group of it. Statuses come from
`services.authority` (Telegram's lists, cached and stored).
"""

from __future__ import annotations

from telegram import Message, Update

from handlers.context import BotContext
from rules.limits import CHANNEL_BOT, SERVICE_NOTIFICATIONS
from rules.moderation import Target, protection
from storage.groups import ChatRepository


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
    uow = context.uow
    alliance_id = uow.chat.alliance_id if uow.chat is not None else None
    if context.runtime.alliances.is_owner(user.id, alliance_id):
        return True
    if chat.type == "private":
        return False
    return await context.runtime.authority.may_moderate(uow, chat.id, user.id)


async def protected_reason(context: BotContext, user_id: int) -> str | None:
    """Why this user may not be warned, banned or blacklisted anywhere in the alliance of the
    update's group (None: they may)."""
    uow, rt = context.uow, context.runtime
    chat = uow.chat
    if chat is None or chat.alliance_id is None:
        return None
    if user_id == rt.options.bot_id:
        return "bot"
    groups = [g.id for g in await ChatRepository(uow.session).list_active(chat.alliance_id)]
    # groups whose admins were never listed (lists are kept current by Telegram's reports)
    await rt.authority.refresh(uow, groups, missing_only=True, limit=20)
    here = await rt.authority.status(uow, chat.id, user_id)
    elsewhere = await rt.authority.admin_elsewhere(uow, chat.alliance_id, user_id, but=chat.id)
    target = Target(
        user_id,
        here.status if here is not None else "member",
        is_bot_itself=user_id == rt.options.bot_id,
        is_owner=rt.alliances.is_owner(user_id, chat.alliance_id),
        admin_elsewhere=bool(elsewhere),
    )
    return protection(target)
