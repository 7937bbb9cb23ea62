"""Every group message: turned into plain facts and screened (`services.screening`).

A message that was removed (an ad, a blacklisted account) stops here: commands and later stages
never see it. Anonymous admins posting as the group and the forwards of the group's linked
channel are not screened; a post made as another channel is judged as a channel's post.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from operator import attrgetter
from typing import Any

from telegram import Message, MessageEntity, MessageOriginChannel, Update
from telegram.ext import ApplicationHandlerStop

from handlers.authority import is_anonymous_admin
from handlers.context import BotContext
from rules.decision import Person
from rules.facts import MessageFacts
from rules.limits import SERVICE_NOTIFICATIONS
from rules.text import command_words
from services.screening import Incoming, screen

MEDIA_FIELDS = (
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
)
_media = attrgetter(*MEDIA_FIELDS)


def screener(
    commands: frozenset[str],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """The handler of every group message; `commands` are the bot's own command names, whose
    arguments (ids, @usernames) are no ad evidence."""

    async def on_group_message(update: Update, context: BotContext) -> None:
        await _screen(update, context, commands)

    return on_group_message


async def _screen(update: Update, context: BotContext, commands: frozenset[str]) -> None:
    message = update.effective_message
    uow, rt = context.uow, context.runtime
    user = message.from_user if message is not None else None
    if message is None or uow.chat is None or user is None:
        return
    if is_anonymous_admin(message) or message.is_automatic_forward:
        return  # an admin as the group, or the group's own linked channel
    if user.id == SERVICE_NOTIFICATIONS:
        return
    entry = await rt.state.entry(uow, uow.chat.id)
    if entry is None:
        return
    incoming = Incoming(
        chat_id=entry.chat.id,
        message_id=message.message_id,
        sender=Person(user.id, user.full_name, user.username),
        facts=_for_screening(message_facts(message), commands, context.bot.username or ""),
        at=message.date,
        is_bot=user.is_bot,
        as_channel=message.sender_chat is not None,
        sender_chat_id=message.sender_chat.id if message.sender_chat is not None else None,
        edited=update.message is None,
        reply_to_author=_replied_author(message, rt.options.bot_id),
        bot_username=context.bot.username or "",
    )
    if await screen(uow, rt, entry, incoming):
        raise ApplicationHandlerStop


def _replied_author(message: Message, bot_id: int) -> int | None:
    """The member this message answers; not a topic's opening message, a bot or a channel."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    author = replied.from_user
    if author is None or author.is_bot or author.id == bot_id or replied.sender_chat is not None:
        return None
    return author.id


def message_facts(message: Message) -> MessageFacts:
    """The plain facts of a message that the detector reads."""
    text = message.text or ""
    caption = message.caption or ""
    urls: list[str] = []
    mentions: list[str] = []
    for entities, source in ((message.entities, text), (message.caption_entities, caption)):
        for entity in entities or ():
            if entity.type == MessageEntity.TEXT_LINK and entity.url:
                urls.append(entity.url)
            elif entity.type == MessageEntity.URL:
                urls.append(_slice(source, entity))
            elif entity.type == MessageEntity.MENTION:
                mentions.append(_slice(source, entity))
    origin = message.forward_origin
    sender_name = message.from_user.full_name if message.from_user else ""
    if message.sender_chat is not None:
        sender_name = f"{sender_name} {message.sender_chat.title or ''}".strip()
    return MessageFacts(
        text=text,
        caption=caption,
        entity_urls=tuple(urls),
        mentions=tuple(mentions),
        has_buttons=message.reply_markup is not None,
        forwarded_from_channel=isinstance(origin, MessageOriginChannel),
        has_media=any(_media(message)),
        sender_name=sender_name,
        chat_id=message.chat.id,
    )


def _for_screening(
    facts: MessageFacts, commands: frozenset[str], bot_username: str
) -> MessageFacts:
    """A command to this bot is judged by its words, not by the accounts it names."""
    words = command_words(facts.text, commands, bot_username)
    if words is None:
        return facts
    return replace(facts, text=words, mentions=())


def _slice(text: str, entity: MessageEntity) -> str:
    # Telegram offsets count UTF-16 code units.
    encoded = text.encode("utf-16-le")
    return encoded[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le")
