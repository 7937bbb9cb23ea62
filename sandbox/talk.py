"""What people write in the sandbox world and how they react, and the updates Telegram sends.

`Talk(world)` acts for people: messages in groups (replies, forwards, photos, buttons, anonymous
admins, channel posts), many messages at once for benchmarks, edits, private messages to the
bot, button presses and reactions. Each action checks what Telegram checks (present in the
group, not restricted), changes the world, queues the update when the bot is in the chat, notes a
transcript line and returns what it created (None when the person may not do it). A message
costs O(1) besides marking its entities. Every date comes from `World.now()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.markup import detect_entities
from sandbox.model import ANONYMOUS_ADMIN, CHANNEL_BOT, Chat, Message, User, emoji_reaction
from sandbox.posting import bot_present, message_to_api, new_message, post, reply_extra
from sandbox.world import ChatRef, UserRef, World

Buttons = list[list[dict[str, Any]]]


class Talk:
    """What people say, press and react in the world's chats."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ---- messages ---------------------------------------------------------------------
    def send(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str = "",
        *,
        reply_to: Message | int | None = None,
        entities: list[dict[str, Any]] | None = None,
        forward_from_chat: str | dict[str, Any] | None = None,
        buttons: Buttons | None = None,
        photo: bool = False,
        caption: str | None = None,
        sender_chat: ChatRef | bool | None = None,
    ) -> Message | None:
        """A message from the user in a group; None when they may not write there.
        `sender_chat=True` posts as the group's anonymous admin; a channel's name posts as
        that channel."""
        world = self.world
        group, sender = world.chat(chat), world.user(user)
        if not self._may_write(sender, group, as_chat=sender_chat is not None):
            return None
        extra: dict[str, Any] = {}
        if reply_to is not None:
            target = group.messages[reply_to] if isinstance(reply_to, int) else reply_to
            extra.update(reply_extra(world, target))
        if forward_from_chat is not None:
            extra["forward_origin"] = self._channel_origin(forward_from_chat)
        shown_from = self._shown_sender(sender, group, sender_chat, extra)
        if "sender_chat" in extra and extra["sender_chat"]["id"] in group.banned_senders:
            return None  # a channel banned in the group may not post there
        body = caption if photo and caption is not None else text
        if entities is None:
            body, found = detect_entities(body)
        else:
            found = entities
        if photo:
            extra["photo"] = _photo_sizes(group.next_message_id)
            if body:
                extra["caption"] = body
                if found:
                    extra["caption_entities"] = found
            message = new_message(world, group, shown_from, **extra)
        else:
            message = new_message(world, group, shown_from, body, entities=found, **extra)
        message.buttons = buttons or None
        world.note(group, f"{self._who(sender, shown_from, extra)}: {_shown(message)}", "message")
        return post(world, message)

    def send_many(self, messages: Iterable[tuple[UserRef, ChatRef, str]]) -> list[Message | None]:
        """Plain text messages `(user, chat, text)` in one go, for benchmarks: each checked,
        stored and queued as `send` does, with one transcript line and one wake-up for all."""
        world = self.world
        sent: list[Message | None] = []
        for user, chat, text in messages:
            group, sender = world.chat(chat), world.user(user)
            if not self._may_write(sender, group):
                sent.append(None)
                continue
            body, found = detect_entities(text)
            message = new_message(world, group, sender, body, entities=found)
            sent.append(post(world, message, wake=False))
        written = sum(1 for m in sent if m is not None)
        world.note(None, f"({written} of {len(sent)} messages sent at once)", "message")
        world.touch()
        return sent

    def _may_write(self, person: User, group: Chat, *, as_chat: bool = False) -> bool:
        """The person is in the group (or writes as a chat) and not restricted from writing."""
        if not as_chat and not self.world.is_present(person.id, group):
            return False
        return not _restricted(person, group, "can_send_messages")

    def _shown_sender(
        self,
        sender: User,
        group: Chat,
        sender_chat: ChatRef | bool | None,
        extra: dict[str, Any],
    ) -> User:
        """Who the message is shown from: the sender, or the anonymous admin or channel bot."""
        if sender_chat is None:
            return sender
        if isinstance(sender_chat, str) and sender_chat not in self.world.chats:
            extra["sender_chat"] = _channel(sender_chat)
            return CHANNEL_BOT
        extra["sender_chat"] = group.to_api()
        return ANONYMOUS_ADMIN

    def _who(self, sender: User, shown_from: User, extra: dict[str, Any]) -> str:
        name_of = self.world.name_of
        who = name_of(sender) if shown_from is sender else name_of(shown_from)
        if shown_from is ANONYMOUS_ADMIN:
            who = f"{name_of(sender)} (anonymous admin)"
        elif shown_from is CHANNEL_BOT:
            who = f"{extra['sender_chat']['title']} (channel)"
        if "_reply_to" in extra:
            who += f" (reply to #{extra['_reply_to']})"
        if "forward_origin" in extra:
            who += f" (forwarded from {extra['forward_origin']['chat']['title']})"
        return who

    def _channel_origin(self, source: str | dict[str, Any]) -> dict[str, Any]:
        channel = _channel(source) if isinstance(source, str) else source
        return {"type": "channel", "chat": channel, "message_id": 1, "date": self.world.now()}

    def edit(self, user: UserRef, message: Message, text: str) -> Message:
        """The user edits their message: an edited_message update."""
        world = self.world
        group = world.chat_by_id[message.chat_id]
        message.text, message.entities = detect_entities(text)
        message.edited, message.edit_date = True, world.now()
        world.note(group, f"{world.name_of(world.user(user))} edited #{message.message_id}: {text}")
        if bot_present(world, group):
            world.push("edited_message", message_to_api(world, message))
        return message

    def private(self, user: UserRef, text: str) -> Message:
        """A message from the user to the bot in their private chat."""
        world = self.world
        sender = world.user(user)
        sender.started = True
        chat = world.private_chat(sender)
        body, found = detect_entities(text)
        message = new_message(world, chat, sender, body, entities=found)
        world.note(chat, f"{world.name_of(sender)}: {body}", "message")
        world.push("message", message_to_api(world, message))
        return message

    # ---- buttons and reactions ----------------------------------------------------------
    def press(self, user: UserRef, message: Message, data: str) -> str:
        """The user presses the button carrying `data` on a bot message: a callback_query.
        Returns the query's id."""
        world = self.world
        presser = world.user(user)
        query_id = f"{presser.id}{world.updates.next_id:06d}"
        label = next(
            (
                b.get("text")
                for row in message.buttons or []
                for b in row
                if b.get("callback_data") == data
            ),
            data,
        )
        query = {
            "id": query_id,
            "from": presser.to_api(),
            "chat_instance": str(abs(message.chat_id)),
            "data": data,
            "message": message_to_api(world, message),
        }
        world.callbacks[query_id] = query
        world.note(world.chat_by_id[message.chat_id], f"{world.name_of(presser)} pressed [{label}]")
        world.push("callback_query", query)
        return query_id

    def react(
        self, user: UserRef, chat: ChatRef, message_id: Message | int, emoji: str | None
    ) -> Message | None:
        """The user sets their reaction on a message to `emoji` (None takes it back), as a user
        without Premium: one reaction each, a new one replaces the old. Queues message_reaction
        then message_reaction_count, which Telegram sends only to a bot that is an admin of the
        group (or in a private chat). None when nothing changed or the user may not react."""
        world = self.world
        group, person = world.chat(chat), world.user(user)
        message = group.messages.get(int(message_id)) if isinstance(message_id, int) else message_id
        if message is None or message.deleted:
            raise KeyError(f"no message #{message_id} in {group.key}")
        if group.type != "private" and (
            not world.is_present(person.id, group)
            or _restricted(person, group, "can_react_to_messages")
        ):
            return None
        old = message.reactions.get(person.id, [])
        new = [emoji] if emoji else []
        if old == new:
            return None
        message.reactions.pop(person.id, None)  # a changed reaction counts as the latest
        if new:
            message.reactions[person.id] = new
        world.note(group, _reaction_note(world.name_of(person), message.message_id, old, new))
        if group.type == "private" or group.status_of(world.bot.id) in ("creator", "administrator"):
            self._push_reactions(group, message, person, old, new)
        return message

    def _push_reactions(
        self, chat: Chat, message: Message, person: User, old: list[str], new: list[str]
    ) -> None:
        world = self.world
        where = {"chat": chat.to_api(), "message_id": message.message_id, "date": world.now()}
        world.push(
            "message_reaction",
            {
                **where,
                "user": person.to_api(),
                "old_reaction": [emoji_reaction(e) for e in old],
                "new_reaction": [emoji_reaction(e) for e in new],
            },
        )
        world.push("message_reaction_count", {**where, "reactions": message.reaction_counts()})


def _restricted(person: User, group: Chat, permission: str) -> bool:
    """The person is restricted from `permission` in the group."""
    member = group.members.get(person.id)
    if member is None or member.status != "restricted":
        return False
    return not member.permissions.get(permission, True)


def _channel(title: str) -> dict[str, Any]:
    """A channel known only by its title, with a stable id made from it."""
    channel_id = -(1_000_000_000_000 + 1_900_000_000 + sum(map(ord, title)) % 99_991)
    username = title.lower() if title.isascii() and title.isalnum() else None
    data: dict[str, Any] = {"id": channel_id, "type": "channel", "title": title}
    if username:
        data["username"] = username
    return data


def _photo_sizes(serial: int) -> list[dict[str, Any]]:
    """A small and a large PhotoSize, as a client uploads a photo."""
    return [
        {
            "file_id": f"AgAC{serial}{size}",
            "file_unique_id": f"AQ{size}",
            "width": side,
            "height": side,
            "file_size": weight,
        }
        for size, side, weight in (("s", 90, 1_200), ("m", 800, 64_000))
    ]


def _shown(message: Message) -> str:
    photo = "[photo] " if "photo" in message.extra else ""
    return f"{photo}{message.shown_text}  #{message.message_id}"


def _reaction_note(who: str, message_id: int, old: list[str], new: list[str]) -> str:
    if not new:
        return f"{who} took back {''.join(old)} on #{message_id}"
    if not old:
        return f"{who} reacted {''.join(new)} to #{message_id}"
    return f"{who} changed {''.join(old)} to {''.join(new)} on #{message_id}"
