"""Members coming and going, from Telegram's two reports of each (a chat_member update and a
service message), turned into arrivals and departures for `services.members`. A change of
someone's admin status drops the group's cached admin list at once."""

from __future__ import annotations

from telegram import ChatMemberAdministrator, ChatMemberOwner, Update, User

from handlers.context import BotContext
from rules.decision import Person
from rules.membership import is_present
from services.members import Arrival, arrived, left
from storage.admins import AdminEntry
from storage.groups import MemberRepository


def _person(user: User) -> Person:
    return Person(user.id, user.full_name, user.username)


async def on_chat_member(update: Update, context: BotContext) -> None:
    change = update.chat_member
    uow, rt = context.uow, context.runtime
    if change is None or uow.chat is None:
        return
    entry = await rt.state.entry(uow, uow.chat.id)
    if entry is None:
        return
    old, new = change.old_chat_member, change.new_chat_member
    user = new.user
    if {"administrator", "creator"} & {old.status, new.status}:
        admin: AdminEntry | None = None
        if isinstance(new, ChatMemberOwner):
            admin = AdminEntry("creator", True)
        elif isinstance(new, ChatMemberAdministrator):
            admin = AdminEntry("administrator", new.can_restrict_members)
        await rt.authority.changed(uow, change.chat.id, user.id, admin)
    was, now = is_present(old.status), is_present(new.status)
    if now and not was:
        link = change.invite_link
        link_name = (link.name or link.invite_link) if link is not None else None
        # an admin approving a join request is not who invited the member
        by_hand = change.from_user.id != user.id and not change.via_join_request
        inviter = change.from_user.id if by_hand else None
        if (
            inviter is None
            and link is not None
            and link.creator is not None
            and link.creator.id != rt.options.bot_id
        ):
            inviter = link.creator.id
        arrival = Arrival(
            _person(user),
            change.date,
            invited_by=inviter,
            invite_link=link_name,
            status=new.status,
            is_bot=user.is_bot,
        )
        await arrived(uow, rt, entry, [arrival], bot_username=context.bot.username)
    elif was and not now:
        await left(uow, rt, entry, _person(user), at=change.date, status=new.status)
    elif now:
        await MemberRepository(uow.session).set_status(change.chat.id, user.id, new.status)


async def on_new_members(update: Update, context: BotContext) -> None:
    message = update.effective_message
    uow, rt = context.uow, context.runtime
    if message is None or uow.chat is None or not message.new_chat_members:
        return
    entry = await rt.state.entry(uow, uow.chat.id)
    if entry is None:
        return
    adder = message.from_user
    arrivals = [
        Arrival(
            _person(user),
            message.date,
            invited_by=adder.id if adder is not None and adder.id != user.id else None,
            is_bot=user.is_bot,
        )
        for user in message.new_chat_members
    ]
    await arrived(uow, rt, entry, arrivals, bot_username=context.bot.username)


async def on_left_member(update: Update, context: BotContext) -> None:
    message = update.effective_message
    uow, rt = context.uow, context.runtime
    if message is None or message.left_chat_member is None or uow.chat is None:
        return
    user = message.left_chat_member
    entry = await rt.state.entry(uow, uow.chat.id)
    if entry is None or user.id == rt.options.bot_id:
        return
    await left(uow, rt, entry, _person(user), at=message.date, status="left")
