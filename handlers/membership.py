"""The bot's own membership: added to a group, removed, rights changed, group upgraded.

An owner adding the bot makes the group part of the owner's alliance. Anyone else gets a short
"not authorised" message and the bot leaves, or, with UNAUTHORISED_GROUPS=approve, the owners are
asked in private and the group waits. A group upgraded to a supergroup keeps all its data.
"""

from __future__ import annotations

from telegram import ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext, UnitOfWork
from bot.i18n import tr
from bot.scheduler import member_count_job
from handlers.alerts import send_alert
from rules.health import Alert, AlertKind
from rules.membership import Admission, BotAdded, decide_admission, is_present
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Alliance, Chat, Member, ModerationLog, utcnow
from storage.outbox import OutboxRepository

MIGRATED_TABLES = (Member, ModerationLog)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type not in ("group", "supergroup"):
        raise ApplicationHandlerStop
    uow = context.uow
    chats = ChatRepository(uow.session)
    old, new = change.old_chat_member, change.new_chat_member
    rights = _rights(change)
    if not is_present(new.status):
        row = await chats.get(change.chat.id)
        if row is not None and row.status == "active":
            await _alert(context, row, AlertKind.BOT_REMOVED)
        await chats.upsert(change.chat.id, status="left", bot_status=new.status, bot_rights={})
        await _log(uow, change, "bot_removed")
        raise ApplicationHandlerStop
    row = await chats.get(change.chat.id)
    if is_present(old.status) and row is not None and row.status in ("active", "pending"):
        row.bot_status, row.bot_rights = new.status, rights
        if row.status == "active" and old.status == "administrator" != new.status:
            await _alert(context, row, AlertKind.BOT_DEMOTED)
        raise ApplicationHandlerStop
    await _admit(change, context, rights)
    raise ApplicationHandlerStop


async def _alert(context: BotContext, chat: Chat, kind: AlertKind) -> None:
    if chat.alliance_id is None:
        return
    session = context.uow.session
    alliance = await session.get(Alliance, chat.alliance_id)
    if alliance is not None:
        alert = Alert(kind, chat.id, {})
        await send_alert(session, alliance, chat.title, alert, now=utcnow())


async def _admit(change: ChatMemberUpdated, context: BotContext, rights: dict[str, bool]) -> None:
    services, uow = context.services, context.uow
    chat = change.chat
    adder = change.from_user
    decision = decide_admission(
        BotAdded(
            adder_id=adder.id,
            owner_ids=frozenset(services.owners),
            unauthorised_policy=services.settings.unauthorised_groups,
        )
    )
    language = services.settings.default_language
    fields = {
        "title": chat.title or "",
        "type": chat.type,
        "username": chat.username,
        "bot_status": change.new_chat_member.status,
        "bot_rights": rights,
        "added_by": adder.id,
    }
    chats = ChatRepository(uow.session)
    if decision is Admission.JOIN:
        alliance_ids = sorted(services.owners[adder.id])
        row = await chats.upsert(chat.id, status="active", alliance_id=alliance_ids[0], **fields)
        alliance = await AllianceRepository(uow.session).get(alliance_ids[0])
        language = row.language or (alliance.language if alliance else language)
        text = tr(language, "Hello! I now look after this group for its owner.")
        if change.new_chat_member.status != "administrator":
            text += "\n" + tr(
                language,
                "Please make me an admin with the rights to delete messages, ban users and invite users.",
            )
        await uow.queue("send_message", chat.id, {"text": text})
        await _log(uow, change, "bot_joined")
        # the member count is a Bot API read: made by a job, after this transaction
        services.jobs.run_once(
            member_count_job,
            2,
            data=chat.id,
            name=f"member-count:{chat.id}",
            job_kwargs={"misfire_grace_time": 3600},
        )
    elif decision is Admission.AWAIT_APPROVAL:
        await chats.upsert(chat.id, status="pending", alliance_id=None, **fields)
        await uow.queue(
            "send_message",
            chat.id,
            {"text": tr(language, "I am waiting for the owner's approval before I start here.")},
        )
        for owner_id in services.owners:
            await uow.queue(
                "send_message",
                owner_id,
                {
                    "text": tr(
                        language,
                        "{name} added me to the group “{title}”. Shall I serve it?",
                        name=adder.full_name,
                        title=chat.title or chat.id,
                    ),
                    "reply_markup": _approval_keyboard(language, chat.id),
                },
            )
        await _log(uow, change, "bot_awaiting_approval")
    else:
        await chats.upsert(chat.id, status="left", alliance_id=None, **fields)
        text = tr(
            language,
            "I am not authorised to serve this group, so I am leaving. Only the owner can add me.",
        )
        await uow.queue("send_message", chat.id, {"text": text})
        await uow.queue("leave_chat", chat.id, {})
        await _log(uow, change, "bot_refused")


def _approval_keyboard(language: str, chat_id: int) -> dict[str, object]:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(tr(language, "Approve"), callback_data=f"grp:ok:{chat_id}"),
                InlineKeyboardButton(tr(language, "Refuse"), callback_data=f"grp:no:{chat_id}"),
            ]
        ]
    )
    return markup.to_dict()


async def on_approval(update: Update, context: BotContext) -> None:
    """An owner's answer to "shall I serve it?" (callback data grp:ok:<id> or grp:no:<id>)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    services, uow = context.services, context.uow
    language = services.settings.default_language
    if not services.is_owner(query.from_user.id):
        await query.answer(tr(language, "Only an owner can do that."), show_alert=True)
        return
    _, verdict, raw_id = query.data.split(":", 2)
    chat_id = int(raw_id)
    row = await ChatRepository(uow.session).get(chat_id)
    if row is None or row.status != "pending":
        await query.answer(tr(language, "That request was already answered."))
        return
    if verdict == "ok":
        row.status = "active"
        row.alliance_id = sorted(services.owners[query.from_user.id])[0]
        await uow.queue(
            "send_message",
            chat_id,
            {"text": tr(language, "Hello! I now look after this group for its owner.")},
        )
        answer = tr(language, "Approved: I now serve “{title}”.", title=row.title)
    else:
        row.status = "left"
        await uow.queue("leave_chat", chat_id, {})
        answer = tr(language, "Refused: I left “{title}”.", title=row.title)
    await query.answer(answer)
    if query.message is not None:
        await uow.queue(
            "edit_message_text",
            query.message.chat.id,
            {"message_id": query.message.message_id, "text": answer},
        )


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its chat row, members, log and queued actions follow it."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:
        return
    session = context.uow.session
    await ChatRepository(session).migrate(old_id, new_id, MIGRATED_TABLES)
    await OutboxRepository(session).retarget(old_id, new_id)
    raise ApplicationHandlerStop


def _rights(change: ChatMemberUpdated) -> dict[str, bool]:
    member = change.new_chat_member
    names = (
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
        "can_promote_members",
        "can_manage_chat",
    )
    return {name: bool(getattr(member, name, False)) for name in names}


async def _log(uow: UnitOfWork, change: ChatMemberUpdated, action: str) -> None:
    uow.session.add(
        ModerationLog(
            actor_id=change.from_user.id,
            target_id=None,
            chat_id=change.chat.id,
            action=action,
            reasons=f"by {change.from_user.id}",
        )
    )
