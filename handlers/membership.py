"""The bot's own membership: added to a group, removed, rights changed, group upgraded.

An owner adding the bot makes the group part of the owner's alliance (the first of them, when
they own several). Anyone else gets a short "not authorised" message and the bot leaves, or,
with UNAUTHORISED_GROUPS=approve, the owners are asked in private and the group waits. A group
upgraded to a supergroup keeps all its data, whichever of Telegram's two service messages of the
upgrade (migrate_to_chat_id in the group, migrate_from_chat_id in the supergroup) comes first;
the second finds nothing left to move.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from telegram import ChatMemberUpdated, Update
from telegram.ext import ApplicationHandlerStop

from handlers.commands import answer
from handlers.context import BotContext
from rules.actions import Button, EditMessageText, LeaveChat, SendMessage
from rules.health import Alert, AlertKind
from rules.limits import parse_chat_id
from rules.membership import Admission, BotAdded, decide_admission, is_present
from services.alerts import send_alert
from services.apply import audit
from services.i18n import tr
from services.runtime import Runtime
from services.uow import TakeMemberCount, UnitOfWork
from storage.groups import CHAT_KEYED, AllianceRepository, ChatRepository
from storage.models import Alliance, Chat
from storage.outbox import OutboxRepository

RIGHTS = (
    "can_delete_messages",
    "can_restrict_members",
    "can_invite_users",
    "can_pin_messages",
    "can_promote_members",
    "can_manage_chat",
)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type not in ("group", "supergroup"):
        raise ApplicationHandlerStop
    uow, rt = context.uow, context.runtime
    chats = ChatRepository(uow.session)
    old, new = change.old_chat_member, change.new_chat_member
    rights = {name: bool(getattr(new, name, False)) for name in RIGHTS}
    if not is_present(new.status):
        row = await chats.get(change.chat.id)
        if row is not None and row.status == "active":
            await _alert(uow, row, AlertKind.BOT_REMOVED)
        await chats.upsert(change.chat.id, status="left", bot_status=new.status, bot_rights={})
        _log(uow, change, "bot_removed")
        raise ApplicationHandlerStop
    row = await chats.get(change.chat.id)
    if is_present(old.status) and row is not None and row.status in ("active", "pending"):
        row.bot_status, row.bot_rights = new.status, rights
        if row.status == "active" and old.status == "administrator" != new.status:
            await _alert(uow, row, AlertKind.BOT_DEMOTED)
        raise ApplicationHandlerStop
    await _admit(change, uow, rt, rights)
    raise ApplicationHandlerStop


async def _alert(uow: UnitOfWork, chat: Chat, kind: AlertKind) -> None:
    if chat.alliance_id is None:
        return
    alliance = await uow.session.get(Alliance, chat.alliance_id)
    if alliance is not None:
        await send_alert(uow, alliance, chat.title, Alert(kind, chat.id, {}))


async def _admit(
    change: ChatMemberUpdated, uow: UnitOfWork, rt: Runtime, rights: dict[str, bool]
) -> None:
    chat, adder = change.chat, change.from_user
    owners = frozenset(rt.alliances.owners)
    decision = decide_admission(BotAdded(adder.id, owners, rt.options.unauthorised_groups))
    language = rt.options.default_language
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
        alliance_id = min(rt.alliances.owned_by(adder.id))
        row = await chats.upsert(chat.id, status="active", alliance_id=alliance_id, **fields)
        alliance = await AllianceRepository(uow.session).get(alliance_id)
        language = row.language or (alliance.language if alliance else language)
        text = tr(language, "Hello! I now look after this group for its owner.")
        if change.new_chat_member.status != "administrator":
            text += "\n" + tr(
                language,
                "Please make me an admin with the rights to delete messages, ban users and invite users.",
            )
        await uow.send(SendMessage(chat_id=chat.id, text=text))
        _log(uow, change, "bot_joined")
        uow.after_commit(TakeMemberCount(chat.id))
    elif decision is Admission.AWAIT_APPROVAL:
        await chats.upsert(chat.id, status="pending", alliance_id=None, **fields)
        waiting = tr(language, "I am waiting for the owner's approval before I start here.")
        await uow.send(SendMessage(chat_id=chat.id, text=waiting))
        question = tr(
            language,
            "{name} added me to the group “{title}”. Shall I serve it?",
            name=f"{adder.full_name} ({adder.id})",
            title=chat.title or chat.id,
        )
        keyboard = (
            (
                Button(tr(language, "Approve"), callback_data=f"grp:ok:{chat.id}"),
                Button(tr(language, "Refuse"), callback_data=f"grp:no:{chat.id}"),
            ),
        )
        for owner_id in sorted(owners):
            await uow.send(SendMessage(chat_id=owner_id, text=question, buttons=keyboard))
        _log(uow, change, "bot_awaiting_approval")
    else:
        await chats.upsert(chat.id, status="left", alliance_id=None, **fields)
        text = tr(
            language,
            "I am not authorised to serve this group, so I am leaving. Only the owner can add me.",
        )
        await uow.send(SendMessage(chat_id=chat.id, text=text))
        await uow.send(LeaveChat(chat_id=chat.id))
        _log(uow, change, "bot_refused")


async def on_approval(update: Update, context: BotContext) -> None:
    """An owner's answer to "shall I serve it?" (callback data grp:ok:<id> or grp:no:<id>)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    uow, rt = context.uow, context.runtime
    owned = rt.alliances.owned_by(query.from_user.id)
    if not owned:
        language = rt.options.default_language
        await answer(context, query, tr(language, "Only an owner can do that."), alert=True)
        return
    alliance = await uow.session.get(Alliance, min(owned))
    language = alliance.language if alliance is not None else rt.options.default_language
    _, verdict, raw_id = query.data.split(":", 2)
    chat_id = parse_chat_id(raw_id)
    row = await ChatRepository(uow.session).get(chat_id) if chat_id is not None else None
    if row is None or row.status != "pending":
        await answer(context, query, tr(language, "That request was already answered."))
        return
    answered = await ChatRepository(uow.session).answer_request(
        row.id, "active" if verdict == "ok" else "left", min(owned) if verdict == "ok" else None
    )
    if not answered:  # another owner answered first
        await answer(context, query, tr(language, "That request was already answered."))
        return
    if verdict == "ok":
        hello = tr(language, "Hello! I now look after this group for its owner.")
        await uow.send(SendMessage(chat_id=row.id, text=hello))
        uow.after_commit(TakeMemberCount(row.id))
        text = tr(language, "Approved: I now serve “{title}”.", title=row.title)
    else:
        await uow.send(LeaveChat(chat_id=row.id))
        text = tr(language, "Refused: I left “{title}”.", title=row.title)
    audit(uow, f"group_{verdict}", chat_id=row.id, actor=query.from_user.id, target=None)
    await answer(context, query, text)
    if query.message is not None:
        edit = EditMessageText(
            chat_id=query.message.chat.id, message_id=query.message.message_id, text=text
        )
        await uow.send(edit)


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
    # Counts still buffered under the group's id are written first, so that they move with
    # the rest (written later, they would stay with the old id, lost to the supergroup).
    await context.runtime.activity.flush()
    session = context.uow.session
    chats = ChatRepository(session)
    # A write first: on SQLite it waits for the other service message's unit (the two come
    # from two chats, so they are handled side by side), which then has made the move.
    await OutboxRepository(session).retarget(old_id, new_id)
    try:
        async with session.begin_nested():
            await chats.migrate(old_id, new_id, CHAT_KEYED)
    except IntegrityError:
        # PostgreSQL: the other unit made the supergroup's row meanwhile; it moved the data
        await chats.migrate(old_id, new_id, CHAT_KEYED)
    raise ApplicationHandlerStop


def _log(uow: UnitOfWork, change: ChatMemberUpdated, action: str) -> None:
    by = change.from_user
    audit(uow, action, chat_id=change.chat.id, actor=by.id, target=None, reasons=f"by {by.id}")
