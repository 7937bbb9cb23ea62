"""Messages and member changes as Telegram stores them and tells the bot: the building blocks
that people's actions (`Membership`, `Talk`) and the Bot API methods share.

A message is stored in its chat with the next message id and the world's date; it is rendered as
the Bot API's Message object; the bot hears of it (a `message` update) only when it is in the
chat. A member change is rendered as a ChatMemberUpdated and queued as `chat_member` when the bot
is in the chat, or as `my_chat_member` when it is about the bot itself.
"""

from __future__ import annotations

from typing import Any

from sandbox.model import PRESENT, Chat, InviteLink, Message, User
from sandbox.world import World


def new_message(
    world: World,
    chat: Chat,
    sender: User | None,
    text: str = "",
    *,
    by_bot: bool = False,
    entities: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Message:
    """Store a message in the chat; nobody is told yet."""
    message = Message(
        chat.id,
        chat.next_message_id,
        sender,
        text,
        world.now(),
        by_bot=by_bot,
        entities=entities or [],
        extra=extra,
    )
    chat.next_message_id += 1
    chat.messages[message.message_id] = message
    return message


def message_to_api(world: World, message: Message, *, nested: bool = False) -> dict[str, Any]:
    """The Message object; `nested` (inside reply_to_message) leaves out its own reply, as
    Telegram does. Keys of `extra` starting with `_` are the sandbox's notes, never shown."""
    chat = world.chat_by_id[message.chat_id]
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "date": message.date,
        "chat": chat.to_api(),
    }
    if message.sender is not None:
        data["from"] = message.sender.to_api()
    if message.text:
        data["text"] = message.text
        if message.entities:
            data["entities"] = message.entities
    if message.buttons:
        data["reply_markup"] = {"inline_keyboard": message.buttons}
    if message.edited:
        data["edit_date"] = message.edit_date or world.now()
    data.update({k: v for k, v in message.extra.items() if not k.startswith("_")})
    if nested:
        data.pop("reply_to_message", None)
    return data


def reply_extra(world: World, target: Message) -> dict[str, Any]:
    """What a message replying to `target` carries: a full reply_to_message."""
    return {
        "reply_to_message": message_to_api(world, target, nested=True),
        "_reply_to": target.message_id,
    }


def bot_present(world: World, chat: Chat) -> bool:
    return chat.status_of(world.bot.id) in PRESENT


def post(world: World, message: Message, *, wake: bool = True) -> Message:
    """Tell the bot about a message people wrote, if it is in the chat."""
    if bot_present(world, world.chat_by_id[message.chat_id]):
        world.push("message", message_to_api(world, message), wake=wake)
    return message


def member_update(
    world: World,
    chat: Chat,
    actor: User,
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    link: InviteLink | None = None,
    via_join_request: bool = False,
    mine: bool = False,
) -> None:
    """Tell the bot a member's status changed from `old` to `new` (ChatMember objects)."""
    payload: dict[str, Any] = {
        "chat": chat.to_api(),
        "from": actor.to_api(),
        "date": world.now(),
        "old_chat_member": old,
        "new_chat_member": new,
    }
    if link is not None:
        payload["invite_link"] = link.to_api()
    if via_join_request:
        payload["via_join_request"] = True
    if mine or bot_present(world, chat):
        world.push("my_chat_member" if mine else "chat_member", payload)


def owner_of(chat: Chat) -> User:
    return next(m.user for m in chat.members.values() if m.status == "creator")


def find_link(chat: Chat, ref: InviteLink | str) -> InviteLink:
    """An invite link of the chat by name or URL; a new one of the owner's if unknown."""
    if isinstance(ref, InviteLink):
        return ref
    for link in chat.links.values():
        if ref in (link.name, link.url):
            return link
    link = InviteLink(f"https://t.me/+{ref}", ref, owner_of(chat))
    chat.links[link.url] = link
    return link
