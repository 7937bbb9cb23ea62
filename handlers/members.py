"""Members coming and going: who joined, who brought them, through which invite link, who left.

Telegram reports a join twice (a chat_member update, when the bot asks for them, and a service
message with new_chat_members); both are recorded idempotently, and whichever names the inviter
or the link fills it in. Arrivals then go to the welcome (blacklisted ones are banned instead).
A change of someone's admin status drops the chat's cached admin list.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import welcome
from handlers.alerts import send_alert
from rules.health import Alert, AlertKind
from rules.membership import is_present
from rules.roles import Role, from_bits
from storage.groups import MemberRepository
from storage.models import Alliance, Member, utcnow


async def on_chat_member(update: Update, context: BotContext) -> None:
    change = update.chat_member
    chat = context.uow.chat
    if change is None or chat is None:
        return
    old, new = change.old_chat_member, change.new_chat_member
    user = new.user
    if {"administrator", "creator"} & {old.status, new.status}:
        context.services.admin_cache.drop(change.chat.id)
    members = MemberRepository(context.uow.session)
    was, now = is_present(old.status), is_present(new.status)
    if now and not was:
        link = change.invite_link
        link_name = (link.name or link.invite_link) if link is not None else None
        inviter = change.from_user.id if change.from_user.id != user.id else None
        if inviter is None and link is not None and link.creator is not None:
            if link.creator.id != context.bot.id:
                inviter = link.creator.id
        fresh = await members.record_join(
            chat.id,
            user.id,
            at=min(change.date, utcnow()),
            invited_by=inviter,
            invite_link=link_name,
            status=new.status,
        )
        if fresh:
            await welcome.on_joined(context, chat, [user])
    elif was and not now:
        at = min(change.date, utcnow())
        left = await members.record_leave(chat.id, user.id, at=at, status=new.status)
        await alert_if_notable(context, left, user.full_name)
    elif now:
        await members.set_status(chat.id, user.id, new.status)


async def on_new_members(update: Update, context: BotContext) -> None:
    message = update.effective_message
    chat = context.uow.chat
    if message is None or chat is None or not message.new_chat_members:
        return
    members = MemberRepository(context.uow.session)
    adder = message.from_user
    arrived = []
    for user in message.new_chat_members:
        if user.id == context.bot.id:
            continue
        inviter = adder.id if adder is not None and adder.id != user.id else None
        fresh = await members.record_join(
            chat.id,
            user.id,
            at=min(message.date, utcnow()),
            invited_by=inviter,
            invite_link=None,
            status="member",
        )
        if fresh:
            arrived.append(user)
    if arrived:
        await welcome.on_joined(context, chat, arrived)


async def on_left_member(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.left_chat_member is None:
        return
    user = message.left_chat_member
    if user.id == context.bot.id:
        return
    left = await MemberRepository(context.uow.session).record_leave(
        message.chat.id, user.id, at=min(message.date, utcnow()), status="left"
    )
    await alert_if_notable(context, left, user.full_name)


async def alert_if_notable(context: BotContext, member: Member | None, name: str) -> None:
    """A core member or an influencer (as of the last daily count) left: tell the owners."""
    chat = context.uow.chat
    if member is None or chat is None or chat.alliance_id is None or member.status == "kicked":
        return  # a ban is the admins' own decision, not a loss to report
    notable = [r for r in (Role.CORE, Role.INFLUENCER) if r in from_bits(member.role_flags)]
    if not notable:
        return
    session = context.uow.session
    alliance = await session.get(Alliance, chat.alliance_id)
    if alliance is None:
        return
    alert = Alert(AlertKind.MEMBER_LEFT, chat.id, {"role": notable[0].value, "name": name})
    await send_alert(session, alliance, chat.title, alert, now=utcnow())
