"""What services need to read from Telegram, as a protocol `bot` implements over the Bot API.

Reads only: every call that changes a chat goes through the outbox and the executor.
"""

from __future__ import annotations

from typing import Protocol

from storage.admins import AdminEntry


class TelegramUnavailable(Exception):
    """Telegram did not answer a read (a timeout, a 5xx, a flood wait): try again later."""


class TelegramReads(Protocol):
    async def administrators(self, chat_id: int) -> dict[int, AdminEntry]:
        """The chat's creator and administrators; TelegramUnavailable when it cannot say."""
        ...

    async def member_count(self, chat_id: int) -> int:
        """Telegram's member count of the chat; TelegramUnavailable when it cannot say."""
        ...
