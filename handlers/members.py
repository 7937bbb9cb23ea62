"""Members coming and going: who joined, who brought them, through which invite link, who left.

Telegram reports a join twice (a chat_member update when the bot asks for them, and a service
message with new_chat_members); both are recorded idempotently, and whichever names the inviter
or the link wins. Other features (welcome, blacklist enforcement) listen to `JOINED` facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update, User

from bot.context import BotContext
from rules.membership import is_present
from storage.groups import MemberRepository
from storage.models import utcnow


@dataclass(frozen=True)
class Join:
    user: User
    invited_by: int | None
    invite_link: str | None


JOINED = "joined"  # key in UnitOfWork.facts: list[Join] seen in this update


async def on_chat_member(update: Update, context: BotContext) -> None:
    change = update.chat_member
    if change is None:
        return
    members = MemberRepository(context.uow.session)
    user = change.new_chat_member.user
    was, now = is_present(change.old_chat_member.status), is_present(change.new_chat_member.status)
    if now and not was:
        link = change.invite_link
        link_name = (link.name or link.invite_link) if link is not None else None
        inviter = change.from_user.id if change.from_user.id != user.id else None
        if inviter is None and link is not None and link.creator is not None:
            inviter = link.creator.id
        await members.record_join(
            change.chat.id, user.id, at=utcnow(), invited_by=inviter, invite_link=link_name
        )
        context.uow.facts.setdefault(JOINED, []).append(Join(user, inviter, link_name))
    elif was and not now:
        await members.record_leave(
            change.chat.id, user.id, at=utcnow(), status=change.new_chat_member.status
        )


async def on_new_members(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or not message.new_chat_members:
        return
    members = MemberRepository(context.uow.session)
    adder = message.from_user
    for user in message.new_chat_members:
        if user.id == context.bot.id:
            continue
        inviter = adder.id if adder is not None and adder.id != user.id else None
        await members.record_join(
            message.chat.id, user.id, at=utcnow(), invited_by=inviter, invite_link=None
        )
        context.uow.facts.setdefault(JOINED, []).append(Join(user, inviter, None))


async def on_left_member(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.left_chat_member is None:
        return
    user = message.left_chat_member
    if user.id == context.bot.id:
        return
    await MemberRepository(context.uow.session).record_leave(
        message.chat.id, user.id, at=utcnow(), status="left"
    )
