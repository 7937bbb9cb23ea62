"""Telegram's numbers that every layer needs, in one place: text limits, id ranges, batch sizes
and the pseudo-accounts that stand in for people.

Pure facts and the small checks built on them; nothing here talks to Telegram.
"""

from __future__ import annotations

TEXT_LIMIT = 4096  # a message's text, in UTF-16 code units as Telegram counts
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
DELETE_BATCH = 100  # message ids per deleteMessages call
# Bot API ids "have at most 52 significant bits": a user id is a positive integer below this.
MAX_ID = (1 << 52) - 1
ECHO_LIMIT = 64  # characters of a user's own words repeated back in an answer

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
SERVICE_NOTIFICATIONS = 777000  # Telegram: a linked channel's automatic forward
CHANNEL_BOT = 136817688  # Channel_Bot: someone posting as a channel
PSEUDO_SENDERS = frozenset({ANONYMOUS_ADMIN, SERVICE_NOTIFICATIONS, CHANNEL_BOT})

# Telegram's send limits: about 30 messages a second per bot, 20 a minute per group.
SEND_RATE_PER_SECOND = 30.0
SEND_RATE_PER_CHAT_PER_MINUTE = 20


def utf16_length(text: str) -> int:
    """The length Telegram counts: characters outside the BMP (most emoji) count twice."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int = TEXT_LIMIT, *, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending with `ellipsis` when cut."""
    if len(text) * 2 <= limit or utf16_length(text) <= limit:
        return text
    room = limit - utf16_length(ellipsis)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > room:
            return text[:index].rstrip() + ellipsis
    return text


def echo(words: str, limit: int = ECHO_LIMIT) -> str:
    """A user's own words as an answer may quote them: one line, cut short."""
    line = " ".join(words.split())
    return fit(line, limit)


def parse_user_id(word: str) -> int | None:
    """A Telegram user id written as digits (1 .. MAX_ID); None for anything else."""
    if not word.isascii() or not word.isdigit() or len(word) > 16:
        return None
    value = int(word)
    return value if 0 < value <= MAX_ID else None


def parse_chat_id(word: str) -> int | None:
    """A chat id as written in callback data or links: an optional minus sign and digits whose
    value Telegram can have; None for anything else."""
    digits = word[1:] if word.startswith("-") else word
    if not digits.isascii() or not digits.isdigit() or len(digits) > 16:
        return None
    value = int(word)
    return value if value != 0 and -(MAX_ID * 1000) <= value <= MAX_ID else None
