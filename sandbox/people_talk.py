"""What people write in the sandbox world and how they react, and the updates Telegram sends.

Messages in groups (replies, forwards, photos, anonymous admins, channel posts), edits, private
messages to the bot, button presses and reactions. Mixed into `World` next to `People`; `self` is
the world. Every date comes from `World.now()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.markup import detect_entities
from sandbox.model import Chat, Message, User, emoji_reaction
from sandbox.people import ANONYMOUS_ADMIN

if TYPE_CHECKING:
    from sandbox.world import World

CHANNEL_BOT = User(136817688, "Channel", "Channel_Bot", is_bot=True, language_code=None)
Buttons = list[list[dict[str, Any]]]


class Talk:
    """The actions of `World` that write, press and react. Mixed into World."""

    # ---- finding messages --------------------------------------------------------------
    def user_messages(self: World, user: User | str | int, chat: Chat | str | int) -> list[Message]:
        """What the user wrote in the chat and is still there (no service messages), oldest
        first."""
        person, group = self.user(user), self.chat(chat)
        return [
            m
            for m in group.messages.values()
            if m.sender is not None
            and m.sender.id == person.id
            and not m.deleted
            and not m.is_service
        ]

    def last_message_of(self: World, user: User | str | int, chat: Chat | str | int) -> Message:
        """The user's latest message in the chat; KeyError when there is none."""
        mine = self.user_messages(user, chat)
        if not mine:
            raise KeyError(
                f"{self.name_of(self.user(user))} has no message in {self.chat(chat).key}"
            )
        return mine[-1]

    # ---- messages ---------------------------------------------------------------------
    def send(
        self: World,
        user: User | str,
        chat: Chat | str,
        text: str = "",
        *,
        reply_to: Message | int | None = None,
        entities: list[dict[str, Any]] | None = None,
        forward_from_chat: str | dict[str, Any] | None = None,
        buttons: Buttons | None = None,
        photo: bool = False,
        caption: str | None = None,
        sender_chat: Chat | str | bool | None = None,
    ) -> Message | None:
        """A message from the user in a group; None when they may not write there."""
        group, sender = self.chat(chat), self.user(user)
        if sender_chat is None and not self.is_present(sender.id, group):
            return None
        if self._restricted(sender, group, "can_send_messages"):
            return None
        extra: dict[str, Any] = {}
        if reply_to is not None:
            target = group.messages[reply_to] if isinstance(reply_to, int) else reply_to
            extra.update(self.reply_extra(target))
        if forward_from_chat is not None:
            extra["forward_origin"] = self._channel_origin(forward_from_chat)
        shown_from = self._shown_sender(sender, group, sender_chat, extra)
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
            message = self.new_message(group, shown_from, **extra)
        else:
            message = self.new_message(group, shown_from, body, entities=found, **extra)
        message.buttons = buttons or None
        self.note(group, f"{self._who(sender, shown_from, extra)}: {_shown(message)}", "message")
        return self._post(message)

    def _restricted(self: World, person: User, group: Chat, permission: str) -> bool:
        """The person is restricted from `permission` in the group."""
        member = group.members.get(person.id)
        if member is None or member.status != "restricted":
            return False
        return not member.permissions.get(permission, True)

    def _shown_sender(
        self: World,
        sender: User,
        group: Chat,
        sender_chat: Chat | str | bool | None,
        extra: dict[str, Any],
    ) -> User:
        """Who the message is shown from: the sender, or the anonymous admin or channel bot."""
        if sender_chat is None:
            return sender
        if isinstance(sender_chat, str) and sender_chat not in self.chats:
            extra["sender_chat"] = self._channel(sender_chat)
            return CHANNEL_BOT
        extra["sender_chat"] = group.to_api()
        return ANONYMOUS_ADMIN

    def _who(self: World, sender: User, shown_from: User, extra: dict[str, Any]) -> str:
        who = self.name_of(sender) if shown_from is sender else self.name_of(shown_from)
        if shown_from is ANONYMOUS_ADMIN:
            who = f"{self.name_of(sender)} (anonymous admin)"
        elif shown_from is CHANNEL_BOT:
            who = f"{extra['sender_chat']['title']} (channel)"
        if "_reply_to" in extra:
            who += f" (reply to #{extra['_reply_to']})"
        if "forward_origin" in extra:
            who += f" (forwarded from {extra['forward_origin']['chat']['title']})"
        return who

    def edit(self: World, user: User | str, message: Message, text: str) -> Message:
        """The user edits their message: an edited_message update."""
        group = self.chat_by_id[message.chat_id]
        message.text, message.entities = detect_entities(text)
        message.edited, message.edit_date = True, self.now()
        self.note(group, f"{self.name_of(self.user(user))} edited #{message.message_id}: {text}")
        if self.bot_present(group):
            self.push("edited_message", self.message_to_api(message))
        return message

    def private(self: World, user: User | str, text: str) -> Message:
        """A message from the user to the bot in their private chat."""
        sender = self.user(user)
        sender.started = True
        chat = self.private_chat(sender)
        body, found = detect_entities(text)
        message = self.new_message(chat, sender, body, entities=found)
        self.note(chat, f"{self.name_of(sender)}: {body}", "message")
        self.push("message", self.message_to_api(message))
        return message

    def press(self: World, user: User | str, message: Message, data: str) -> str:
        """The user presses the button carrying `data` on a bot message: a callback_query."""
        presser = self.user(user)
        query_id = f"{presser.id}{self.next_update_id:06d}"
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
            "message": self.message_to_api(message),
        }
        self.callbacks[query_id] = query
        self.note(self.chat_by_id[message.chat_id], f"{self.name_of(presser)} pressed [{label}]")
        self.push("callback_query", query)
        return query_id

    # ---- reactions ----------------------------------------------------------------------
    def react(
        self: World,
        user: User | str,
        chat: Chat | str,
        message_id: Message | int,
        emoji: str | None,
    ) -> Message | None:
        """The user sets their reaction on a message to `emoji` (None takes it back), as a user
        without Premium: one reaction each, a new one replaces the old. Queues message_reaction
        then message_reaction_count, which Telegram sends only to a bot that is an admin of the
        group (or in a private chat). None when nothing changed or the user may not react."""
        group, person = self.chat(chat), self.user(user)
        message = group.messages.get(int(message_id)) if isinstance(message_id, int) else message_id
        if message is None or message.deleted:
            raise KeyError(f"no message #{message_id} in {group.key}")
        if group.type != "private" and (
            not self.is_present(person.id, group)
            or self._restricted(person, group, "can_react_to_messages")
        ):
            return None
        old = message.reactions.get(person.id, [])
        new = [emoji] if emoji else []
        if old == new:
            return None
        message.reactions.pop(person.id, None)  # a changed reaction counts as the latest
        if new:
            message.reactions[person.id] = new
        self.note(group, _reaction_note(self.name_of(person), message.message_id, old, new))
        if self._sees_reactions(group):
            self._push_reactions(group, message, person, old, new)
        return message

    def _sees_reactions(self: World, chat: Chat) -> bool:
        if chat.type == "private":
            return True
        return chat.status_of(self.bot.id) in ("creator", "administrator")

    def _push_reactions(
        self: World, chat: Chat, message: Message, person: User, old: list[str], new: list[str]
    ) -> None:
        now = self.now()
        where = {"chat": chat.to_api(), "message_id": message.message_id, "date": now}
        self.push(
            "message_reaction",
            {
                **where,
                "user": person.to_api(),
                "old_reaction": [emoji_reaction(e) for e in old],
                "new_reaction": [emoji_reaction(e) for e in new],
            },
        )
        self.push("message_reaction_count", {**where, "reactions": message.reaction_counts()})

    # ---- channels ---------------------------------------------------------------------
    def _channel(self: World, title: str) -> dict[str, Any]:
        channel_id = -(1_000_000_000_000 + 1_900_000_000 + sum(map(ord, title)) % 99_991)
        username = title.lower() if title.isascii() and title.isalnum() else None
        data: dict[str, Any] = {"id": channel_id, "type": "channel", "title": title}
        if username:
            data["username"] = username
        return data

    def _channel_origin(self: World, source: str | dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(source) if isinstance(source, str) else source
        return {"type": "channel", "chat": channel, "message_id": 1, "date": self.now()}


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
