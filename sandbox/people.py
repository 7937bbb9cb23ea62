"""People acting in the sandbox world, and the updates Telegram sends the bot when they do.

Each action changes the world, queues the updates in Telegram's order (a join is a chat_member
update then a service message; adding the bot is my_chat_member then a service message) and
returns what it created. Updates are queued only for chats the bot is in. What people write
and how they react is in `sandbox.people_talk`. Every date comes from `World.now()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.model import (
    ADMIN_RIGHTS,
    ANONYMOUS_ADMIN_ID,
    PRESENT,
    Chat,
    InviteLink,
    Member,
    Message,
    User,
)

if TYPE_CHECKING:
    from sandbox.world import World

ANONYMOUS_ADMIN = User(
    ANONYMOUS_ADMIN_ID, "Group", "GroupAnonymousBot", is_bot=True, language_code=None
)


class People:
    """The actions of `World` that people take. Mixed into World; `self` is the world."""

    # ---- building blocks ---------------------------------------------------------------
    def new_message(
        self: World,
        chat: Chat,
        sender: User | None,
        text: str = "",
        *,
        by_bot: bool = False,
        entities: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Message:
        message = Message(
            chat.id,
            chat.next_message_id,
            sender,
            text,
            self.now(),
            by_bot=by_bot,
            entities=entities or [],
            extra=extra,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def message_to_api(self: World, message: Message, *, nested: bool = False) -> dict[str, Any]:
        """The Message object; `nested` (inside reply_to_message) leaves out its own reply, as
        Telegram does."""
        chat = self.chat_by_id[message.chat_id]
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
            data["edit_date"] = message.edit_date or self.now()
        data.update({k: v for k, v in message.extra.items() if not k.startswith("_")})
        if nested:
            data.pop("reply_to_message", None)
        return data

    def reply_extra(self: World, target: Message) -> dict[str, Any]:
        """What a message replying to `target` carries: a full reply_to_message."""
        return {
            "reply_to_message": self.message_to_api(target, nested=True),
            "_reply_to": target.message_id,
        }

    def member_update(
        self: World,
        chat: Chat,
        actor: User,
        old: dict[str, Any],
        new: dict[str, Any],
        *,
        link: InviteLink | None = None,
        via_join_request: bool = False,
        mine: bool = False,
    ) -> None:
        payload: dict[str, Any] = {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": self.now(),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        if link is not None:
            payload["invite_link"] = link.to_api()
        if via_join_request:
            payload["via_join_request"] = True
        if mine or self.bot_present(chat):
            self.push("my_chat_member" if mine else "chat_member", payload)

    def bot_present(self: World, chat: Chat) -> bool:
        return chat.status_of(self.bot.id) in PRESENT

    def _post(self: World, message: Message) -> Message:
        if self.bot_present(self.chat_by_id[message.chat_id]):
            self.push("message", self.message_to_api(message))
        return message

    def find_link(self: World, chat: Chat, ref: InviteLink | str) -> InviteLink:
        """An invite link of the chat by name or URL; a new one of the owner's if unknown."""
        if isinstance(ref, InviteLink):
            return ref
        for link in chat.links.values():
            if ref in (link.name, link.url):
                return link
        owner = next(m.user for m in chat.members.values() if m.status == "creator")
        link = InviteLink(f"https://t.me/+{ref}", ref, owner)
        chat.links[link.url] = link
        return link

    # ---- the bot in groups ------------------------------------------------------------
    def add_bot(
        self: World,
        chat: Chat | str,
        *,
        by: User | str,
        as_admin: bool = True,
        rights: dict[str, bool] | None = None,
    ) -> Message:
        group, adder = self.chat(chat), self.user(by)
        old = group.members.get(self.bot.id)
        old_api = old.to_api() if old else {"user": self.bot.to_api(), "status": "left"}
        status = "administrator" if as_admin else "member"
        granted = {**ADMIN_RIGHTS, **(rights or {})} if as_admin else {}
        group.members[self.bot.id] = Member(self.bot, status, granted)
        self.member_update(group, adder, old_api, group.members[self.bot.id].to_api(), mine=True)
        self.note(group, f"{self.name_of(adder)} added the bot" + (" as admin" if as_admin else ""))
        return self._post(self.new_message(group, adder, new_chat_members=[self.bot.to_api()]))

    def remove_bot(self: World, chat: Chat | str, *, by: User | str) -> None:
        group, actor = self.chat(chat), self.user(by)
        old = group.members.get(self.bot.id)
        old_api = old.to_api() if old else {"user": self.bot.to_api(), "status": "left"}
        status = "kicked" if group.type == "supergroup" else "left"
        group.members[self.bot.id] = Member(self.bot, status)
        self.member_update(group, actor, old_api, group.members[self.bot.id].to_api(), mine=True)
        self.note(group, f"{self.name_of(actor)} removed the bot")
        self.new_message(group, actor, left_chat_member=self.bot.to_api())

    # ---- members ---------------------------------------------------------------------
    def join(
        self: World,
        user: User | str,
        chat: Chat | str,
        *,
        inviter: User | str | None = None,
        invite_link: InviteLink | str | None = None,
        link: InviteLink | str | None = None,
        approved_by: User | None = None,
    ) -> Message | None:
        """The user joins, added by `inviter` or through `invite_link`; None when refused."""
        group, joiner = self.chat(chat), self.user(user)
        adder = self.user(inviter) if inviter is not None else joiner
        via = invite_link if invite_link is not None else link
        status = self.status_of(joiner, group)
        if status in PRESENT:
            return None
        adder_status = group.status_of(adder.id) if adder is not joiner else "member"
        if status == "kicked" and adder_status not in ("creator", "administrator"):
            self.refused.append((self.name_of(joiner), group.key))
            self.note(group, f"{self.name_of(joiner)} tried to join: refused, banned", "refused")
            self.touch()
            return None
        found = self.find_link(group, via) if via is not None else None
        old = {"user": joiner.to_api(), "status": status}
        if status == "kicked":
            old["until_date"] = group.members[joiner.id].until_date
        group.members[joiner.id] = Member(joiner)
        actor = approved_by or adder
        self.member_update(
            group,
            actor,
            old,
            group.members[joiner.id].to_api(),
            link=found,
            via_join_request=approved_by is not None,
        )
        how = f" (invited by {self.name_of(adder)})" if adder is not joiner else ""
        if found is not None:
            how = f" via link {found.name or found.url}"
        self.note(group, f"{self.name_of(joiner)} joined{how}", "join")
        return self._post(self.new_message(group, adder, new_chat_members=[joiner.to_api()]))

    def leave(self: World, user: User | str, chat: Chat | str) -> Message | None:
        group, leaver = self.chat(chat), self.user(user)
        old = group.members.get(leaver.id)
        if old is None or old.status not in PRESENT or old.status == "creator":
            return None
        del group.members[leaver.id]
        self.member_update(group, leaver, old.to_api(), {"user": leaver.to_api(), "status": "left"})
        self.note(group, f"{self.name_of(leaver)} left", "leave")
        return self._post(self.new_message(group, leaver, left_chat_member=leaver.to_api()))

    def join_request(
        self: World, user: User | str, chat: Chat | str, invite_link: InviteLink | str
    ) -> None:
        group, person = self.chat(chat), self.user(user)
        link = self.find_link(group, invite_link)
        group.join_requests[person.id] = link
        self.note(group, f"{self.name_of(person)} asked to join via link {link.name or link.url}")
        if self.bot_present(group):
            self.push(
                "chat_join_request",
                {
                    "chat": group.to_api(),
                    "from": person.to_api(),
                    "user_chat_id": person.id,
                    "date": self.now(),
                    "invite_link": link.to_api(),
                },
            )

    def promote(
        self: World,
        user: User | str,
        chat: Chat | str,
        *,
        by: User | str | None = None,
        **rights: bool,
    ) -> None:
        group, target = self.chat(chat), self.user(user)
        actor = self.user(by) if by is not None else self._owner(group)
        old = group.members.get(target.id)
        old_api = old.to_api() if old else {"user": target.to_api(), "status": "left"}
        group.members[target.id] = Member(target, "administrator", {**ADMIN_RIGHTS, **rights})
        self.member_update(
            group, actor, old_api, group.members[target.id].to_api(), mine=target.id == self.bot.id
        )
        self.note(group, f"{self.name_of(actor)} made {self.name_of(target)} an admin")

    def demote(
        self: World, user: User | str, chat: Chat | str, *, by: User | str | None = None
    ) -> None:
        group, target = self.chat(chat), self.user(user)
        actor = self.user(by) if by is not None else self._owner(group)
        old = group.members.get(target.id)
        if old is None or old.status != "administrator":
            return
        group.members[target.id] = Member(target)
        self.member_update(
            group,
            actor,
            old.to_api(),
            group.members[target.id].to_api(),
            mine=target.id == self.bot.id,
        )
        self.note(group, f"{self.name_of(actor)} removed {self.name_of(target)} as admin")

    def _owner(self: World, chat: Chat) -> User:
        return next(m.user for m in chat.members.values() if m.status == "creator")

    def migrate_to_supergroup(
        self: World, chat: Chat | str, *, by: User | str | None = None
    ) -> Chat:
        """A basic group becomes a supergroup with a new id; members and key carry over."""
        old = self.chat(chat)
        actor = self.user(by) if by is not None else self._owner(old)
        serial = self._next_group_id
        self._next_group_id += 1
        new = Chat(
            -(1_000_000_000_000 + 1_300_000_000 + serial),
            old.key,
            old.title,
            "supergroup",
            old.username,
            members=dict(old.members),
            links=dict(old.links),
        )
        self.chats[old.key] = new
        self.chat_by_id[new.id] = new
        old.migrated_to = new.id
        self._post(self.new_message(old, actor, migrate_to_chat_id=new.id))
        self._post(self.new_message(new, ANONYMOUS_ADMIN, migrate_from_chat_id=old.id))
        self.note(new, f"the group became a supergroup (id {old.id} -> {new.id})")
        return new
