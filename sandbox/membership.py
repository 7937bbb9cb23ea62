"""People coming and going in the sandbox world, and the updates Telegram sends when they do.

`Membership(world)` acts for people: joining (added, through a link, approved), leaving, asking to
join, owners adding and removing the bot, promoting and demoting, a basic group becoming a
supergroup. Each action changes the world, queues the updates in Telegram's order (a join is a
chat_member update then a service message; adding the bot is my_chat_member then a service
message), notes a transcript line and returns what it created. Updates are queued only for
chats the bot is in. Every date comes from `World.now()`.
"""

from __future__ import annotations

from typing import Any

from sandbox.model import (
    ADMIN_RIGHTS,
    ANONYMOUS_ADMIN,
    PRESENT,
    Chat,
    InviteLink,
    Member,
    Message,
    User,
)
from sandbox.posting import bot_present, find_link, member_update, new_message, owner_of, post
from sandbox.world import ChatRef, UserRef, World


class Membership:
    """What people do to who is in which group."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ---- the bot in groups ------------------------------------------------------------
    def add_bot(
        self,
        chat: ChatRef,
        *,
        by: UserRef,
        as_admin: bool = True,
        rights: dict[str, bool] | None = None,
    ) -> Message:
        """The user adds the bot to the group, as an admin with `rights` or as a member."""
        world = self.world
        group, adder = world.chat(chat), world.user(by)
        status = "administrator" if as_admin else "member"
        granted = {**ADMIN_RIGHTS, **(rights or {})} if as_admin else {}
        self._set(group, adder, Member(world.bot, status, granted))
        world.note(
            group, f"{world.name_of(adder)} added the bot" + (" as admin" if as_admin else "")
        )
        return post(world, new_message(world, group, adder, new_chat_members=[world.bot.to_api()]))

    def remove_bot(self, chat: ChatRef, *, by: UserRef) -> None:
        world = self.world
        group, actor = world.chat(chat), world.user(by)
        self._set(
            group, actor, Member(world.bot, "kicked" if group.type == "supergroup" else "left")
        )
        world.note(group, f"{world.name_of(actor)} removed the bot")
        new_message(world, group, actor, left_chat_member=world.bot.to_api())

    # ---- members ---------------------------------------------------------------------
    def join(
        self,
        user: UserRef,
        chat: ChatRef,
        *,
        inviter: UserRef | None = None,
        invite_link: InviteLink | str | None = None,
        approved_by: User | None = None,
    ) -> Message | None:
        """The user joins, added by `inviter` or through `invite_link`; returns the service
        message, or None when refused (a ban) or already in."""
        world = self.world
        group, joiner = world.chat(chat), world.user(user)
        adder = world.user(inviter) if inviter is not None else joiner
        status = world.status_of(joiner, group)
        if status in PRESENT:
            return None
        adder_status = group.status_of(adder.id) if adder is not joiner else "member"
        if status == "kicked" and adder_status not in ("creator", "administrator"):
            world.refused.append((world.name_of(joiner), group.key))
            world.note(group, f"{world.name_of(joiner)} tried to join: refused, banned", "refused")
            world.touch()
            return None
        found = find_link(group, invite_link) if invite_link is not None else None
        old: dict[str, Any] = {"user": joiner.to_api(), "status": status}
        if status == "kicked":
            old["until_date"] = group.members[joiner.id].until_date
        group.members[joiner.id] = Member(joiner)
        member_update(
            world,
            group,
            approved_by or adder,
            old,
            group.members[joiner.id].to_api(),
            link=found,
            via_join_request=approved_by is not None,
        )
        how = f" (invited by {world.name_of(adder)})" if adder is not joiner else ""
        if found is not None:
            how = f" via link {found.name or found.url}"
        world.note(group, f"{world.name_of(joiner)} joined{how}", "join")
        return post(world, new_message(world, group, adder, new_chat_members=[joiner.to_api()]))

    def leave(self, user: UserRef, chat: ChatRef) -> Message | None:
        """The user leaves; returns the service message, or None when they were not in."""
        world = self.world
        group, leaver = world.chat(chat), world.user(user)
        old = group.members.get(leaver.id)
        if old is None or old.status not in PRESENT or old.status == "creator":
            return None
        del group.members[leaver.id]
        member_update(
            world, group, leaver, old.to_api(), {"user": leaver.to_api(), "status": "left"}
        )
        world.note(group, f"{world.name_of(leaver)} left", "leave")
        return post(world, new_message(world, group, leaver, left_chat_member=leaver.to_api()))

    def join_request(self, user: UserRef, chat: ChatRef, invite_link: InviteLink | str) -> None:
        """The user asks to join through a link that needs an admin's approval."""
        world = self.world
        group, person = world.chat(chat), world.user(user)
        link = find_link(group, invite_link)
        group.join_requests[person.id] = link
        world.note(group, f"{world.name_of(person)} asked to join via link {link.name or link.url}")
        if bot_present(world, group):
            world.push(
                "chat_join_request",
                {
                    "chat": group.to_api(),
                    "from": person.to_api(),
                    "user_chat_id": person.id,
                    "date": world.now(),
                    "invite_link": link.to_api(),
                },
            )

    # ---- admins ------------------------------------------------------------------------
    def promote(
        self, user: UserRef, chat: ChatRef, *, by: UserRef | None = None, **rights: bool
    ) -> None:
        """`by` (the owner unless given) makes the user an admin with the usual rights, changed
        by `rights`."""
        world = self.world
        group, target = world.chat(chat), world.user(user)
        actor = world.user(by) if by is not None else owner_of(group)
        self._set(group, actor, Member(target, "administrator", {**ADMIN_RIGHTS, **rights}))
        world.note(group, f"{world.name_of(actor)} made {world.name_of(target)} an admin")

    def demote(self, user: UserRef, chat: ChatRef, *, by: UserRef | None = None) -> None:
        world = self.world
        group, target = world.chat(chat), world.user(user)
        actor = world.user(by) if by is not None else owner_of(group)
        old = group.members.get(target.id)
        if old is None or old.status != "administrator":
            return
        self._set(group, actor, Member(target))
        world.note(group, f"{world.name_of(actor)} removed {world.name_of(target)} as admin")

    def _set(self, group: Chat, actor: User, new: Member) -> None:
        """Give a member a new status and tell the bot (as my_chat_member when it is the bot)."""
        user = new.user
        old = group.members.get(user.id)
        old_api = old.to_api() if old else {"user": user.to_api(), "status": "left"}
        group.members[user.id] = new
        mine = user.id == self.world.bot.id
        member_update(self.world, group, actor, old_api, new.to_api(), mine=mine)

    # ---- the group itself ----------------------------------------------------------------
    def migrate_to_supergroup(
        self, chat: ChatRef, *, by: UserRef | None = None, supergroup_first: bool = False
    ) -> Chat:
        """A basic group becomes a supergroup with a new id; members and key carry over.

        Telegram sends two service messages, migrate_to_chat_id in the old group and
        migrate_from_chat_id in the new supergroup, and either may reach the bot first:
        `supergroup_first` sends the supergroup's first."""
        world = self.world
        old = world.chat(chat)
        actor = world.user(by) if by is not None else owner_of(old)
        new = Chat(
            world.new_group_id(supergroup=True),
            old.key,
            old.title,
            "supergroup",
            old.username,
            members=dict(old.members),
            links=dict(old.links),
        )
        world.chats[old.key] = new
        world.chat_by_id[new.id] = new
        old.migrated_to = new.id
        to = new_message(world, old, actor, migrate_to_chat_id=new.id)
        from_ = new_message(world, new, ANONYMOUS_ADMIN, migrate_from_chat_id=old.id)
        for message in (from_, to) if supergroup_first else (to, from_):
            post(world, message)
        world.note(new, f"the group became a supergroup (id {old.id} -> {new.id})")
        return new
