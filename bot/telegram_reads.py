"""`services.telegram.TelegramReads` over the Bot API: the reads services need.

Any failure to answer (a timeout, a 5xx, a 429, the bot not in the chat) is reported as
`TelegramUnavailable`: the caller falls back or tries again later, and never guesses.
"""

from __future__ import annotations

from telegram import Bot, ChatMemberAdministrator, ChatMemberOwner
from telegram.error import TelegramError

from services.telegram import TelegramUnavailable
from storage.admins import AdminEntry


class BotReads:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def administrators(self, chat_id: int) -> dict[int, AdminEntry]:
        try:
            members = await self.bot.get_chat_administrators(chat_id)
        except TelegramError as exc:
            raise TelegramUnavailable(f"{type(exc).__name__}: {exc}") from exc
        admins: dict[int, AdminEntry] = {}
        for member in members:
            user = member.user
            if isinstance(member, ChatMemberOwner):
                admins[user.id] = AdminEntry("creator", True, user.full_name, user.username)
            elif isinstance(member, ChatMemberAdministrator):
                can_restrict = member.can_restrict_members
                admins[user.id] = AdminEntry(
                    "administrator", can_restrict, user.full_name, user.username
                )
        return admins

    async def member_count(self, chat_id: int) -> int:
        try:
            return await self.bot.get_chat_member_count(chat_id)
        except TelegramError as exc:
            raise TelegramUnavailable(f"{type(exc).__name__}: {exc}") from exc
