"""The alliance-wide blacklist from the admins' side, inviter records, and detector feedback.

/blacklist bans in every group of the alliance; /unblacklist lifts it everywhere (an owner's
entry only an owner may lift; an admin's or an automatic one the admins of the group it came from,
or as the alliance's policy says); /blacklisted lists entries with reasons; /inviter shows who
brought a member in and their record; /spam marks an ad (deleted, warned, stored as a labeled
ad). The owner's report carries an undo button per entry: undoing lifts the blacklist and stores
the evidence as a labeled normal message.
"""

from __future__ import annotations

from telegram import Update

from handlers.commands import (
    actor_of,
    admin_command,
    answer,
    language,
    reason_words,
    reply,
    resolve_target,
    target_or_usage,
    usage,
)
from handlers.context import BotContext
from handlers.private import language_for
from rules.actions import DeleteMessage
from rules.decision import Decision, Reason
from rules.limits import echo, parse_chat_id, parse_user_id
from rules.moderation import Offence
from services import moderation, notices
from services.apply import apply
from services.i18n import N_, tr, tr_n
from services.uow import Wake
from storage.groups import ChatRepository, UserRepository
from storage.models import Alliance, utcnow
from storage.moderation import BlacklistRepository, LabeledMessageRepository, StrikeRepository

PAGE = 10  # entries a page: long names and reasons stay within one message


def lift_refusal(lang: str, why: str, name: str) -> str:
    texts = {
        "not_blacklisted": tr(lang, "{name} is not blacklisted.", name=name),
        "owner_entry": tr(
            lang, "Only an owner can lift {name}'s blacklisting: an owner made it.", name=name
        ),
        "owners_only": tr(lang, "Only an owner can lift a blacklisting in our groups.", name=name),
        "not_admin": tr(lang, "Only admins of our groups can lift a blacklisting.", name=name),
        "other_group": tr(
            lang,
            "{name} was blacklisted from another of our groups: an admin there or an owner can lift it.",
            name=name,
        ),
    }
    return texts.get(why, texts["owners_only"])


@admin_command("blacklist")
async def cmd_blacklist(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "blacklist")
    if target is None:
        return
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    lang = language(context)
    reason = reason_words(context, target) or tr(lang, "blacklisted by an admin")
    replied = target.message
    offence = Offence(
        target.person,
        chat.id,
        reason=reason,
        detail=f"/blacklist: {reason}",
        message_id=replied.message_id if replied is not None else None,
        text=(replied.text or replied.caption or "") if replied is not None else "",
    )
    actor = actor_of(update)
    rt = context.runtime
    added_as = "owner" if rt.alliances.is_owner(actor, chat.alliance_id) else "admin"
    outcome = await moderation.blacklist(
        context.uow, rt, chat.alliance_id, offence, actor=actor, added_as=added_as
    )
    if outcome.applied.shadow:
        text = tr(
            lang,
            "Shadow mode: nothing was done. I would blacklist {name} in all our groups.",
            name=target.name,
        )
    elif outcome.applied.new_entry:
        text = tr(
            lang,
            "{name} is blacklisted and will be removed from all our groups. Reason: {reason}",
            name=target.name,
            reason=echo(reason, 200),
        )
    else:
        text = tr(lang, "{name} is already blacklisted.", name=target.name)
    await reply(update, context, text)


@admin_command("unblacklist")
async def cmd_unblacklist(update: Update, context: BotContext) -> None:
    target, problem = await resolve_target(update, context)
    if target is None:
        await usage(update, context, "unblacklist", problem)
        return
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    lang = language(context)
    why = await moderation.unblacklist(
        context.uow,
        context.runtime,
        chat.alliance_id,
        target.person,
        actor=actor_of(update) or 0,
        chat_id=chat.id,
        actor_moderates_here=True,
    )
    if why is None:
        text = tr(
            lang,
            "{name} is no longer blacklisted; the bans in all our groups are being lifted.",
            name=target.name,
        )
    else:
        text = lift_refusal(lang, why, target.name)
    await reply(update, context, text)


@admin_command("blacklisted")
async def cmd_blacklisted(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    lang = language(context)
    args = context.args or []
    page = parse_user_id(args[0]) if args else 1
    if len(args) > 1 or page is None or page > 100_000:
        await usage(update, context, "blacklisted")
        return
    session = context.uow.session
    repo = BlacklistRepository(session)
    total = await repo.count_active(chat.alliance_id)
    entries = await repo.list_active(chat.alliance_id, limit=PAGE, offset=(page - 1) * PAGE)
    if not entries:
        empty = (
            tr(lang, "The blacklist is empty.")
            if total == 0
            else tr(lang, "No entries on that page.")
        )
        await reply(update, context, empty)
        return
    pages = (total + PAGE - 1) // PAGE
    people = await UserRepository(session).people([e.user_id for e in entries])
    lines = [
        tr_n(
            lang,
            total,
            N_("Blacklist: {total} account (page {page} of {pages})"),
            N_("Blacklist: {total} accounts (page {page} of {pages})"),
            total=total,
            page=page,
            pages=pages,
        )
    ]
    for entry in entries:
        who = people[entry.user_id].render()
        lines.append(f"• {who} — {entry.created_at:%Y-%m-%d} — {echo(entry.reason, 120)}")
    await reply(update, context, "\n".join(lines))


@admin_command("inviter")
async def cmd_inviter(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "inviter", protect=False)
    if target is None:
        return
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    lang = language(context)
    session = context.uow.session
    groups = [g.id for g in await ChatRepository(session).list_active(chat.alliance_id)]
    strikes = StrikeRepository(session)
    membership = await strikes.inviter_of(groups, target.user_id)
    if membership is None or membership.invited_by is None:
        await reply(
            update,
            context,
            tr(
                lang,
                "I do not know who invited {name} (they joined by themselves, or before I was here).",
                name=target.name,
            ),
        )
        return
    inviter = (await UserRepository(session).people([membership.invited_by]))[membership.invited_by]
    link = f" ({echo(membership.invite_link)})" if membership.invite_link else ""
    lines = [
        tr(
            lang,
            "{name} was invited by {inviter}{link}.",
            name=target.name,
            inviter=inviter.render(),
            link=link,
        )
    ]
    invitees = {m.user_id for m in await strikes.invitees(groups, inviter.user_id)}
    blacklist = BlacklistRepository(session)
    banned = [u for u in invitees if await blacklist.get_active(chat.alliance_id, u)]
    lines.append(
        tr(
            lang,
            "That inviter brought in {count} members; {banned} of them are blacklisted; strikes: {strikes}.",
            count=len(invitees),
            banned=len(banned),
            strikes=await strikes.count(inviter.user_id, chat.alliance_id),
        )
    )
    await reply(update, context, "\n".join(lines))


@admin_command("spam")
async def cmd_spam(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        await usage(update, context, "spam")
        return
    target = await target_or_usage(update, context, "spam")
    if target is None or target.message is None:
        return
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    lang = language(context)
    text = target.message.text or target.message.caption or ""
    uow = context.uow
    if text:
        await LabeledMessageRepository(uow.session).add(
            text, "spam", source="admin", chat_id=chat.id, at=utcnow()
        )
        uow.after_commit(Wake.RETRAIN)
    offence = Offence(
        target.person,
        chat.id,
        reason=tr(lang, "advertising is not allowed here"),
        detail="/spam by an admin",
        message_id=target.message.message_id,
        text=text,
    )
    await moderation.punish(uow, context.runtime, chat.alliance_id, offence, actor=actor_of(update))
    tidy = DeleteMessage(chat_id=chat.id, message_id=message.message_id)
    command = Decision(
        "delete", chat.id, actor=actor_of(update), reasons=(Reason("/spam"),), steps=(tidy,)
    )
    await apply(uow, context.runtime, command)


async def on_undo(update: Update, context: BotContext) -> None:
    """The owner's undo button on a blacklist report (callback data bl:undo:<alliance>:<user>)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    rt, uow = context.runtime, context.uow
    lang = language_for(update, context)
    parts = query.data.split(":")
    alliance_id = parse_user_id(parts[2]) if len(parts) == 4 else None
    user_id = parse_user_id(parts[3]) if len(parts) == 4 else None
    if alliance_id is None or user_id is None or parse_chat_id(parts[2]) is None:
        await answer(context, query, tr(lang, "That button is no longer valid."))
        return
    if not rt.alliances.is_owner(query.from_user.id, alliance_id):
        await answer(context, query, tr(lang, "Only an owner can do that."), alert=True)
        return
    session = uow.session
    alliance = await session.get(Alliance, alliance_id)
    lang = alliance.language if alliance is not None else lang
    entry = await BlacklistRepository(session).get_active(alliance_id, user_id)
    person = (await UserRepository(session).people([user_id]))[user_id]
    evidence_text = str(entry.evidence.get("text") or "") if entry is not None else ""
    auto = entry is not None and entry.added_by is None
    why = await moderation.unblacklist(
        uow, rt, alliance_id, person, actor=query.from_user.id, chat_id=None
    )
    if why is not None:
        await answer(context, query, lift_refusal(lang, why, person.render()))
        return
    if auto and evidence_text:
        await LabeledMessageRepository(session).add(
            evidence_text, "ham", source="undo", chat_id=None, at=utcnow()
        )
        uow.after_commit(Wake.RETRAIN)
    done = tr(lang, "Undone: {user} is no longer blacklisted.", user=person.render())
    await answer(context, query, done)
    if query.message is not None:
        await notices.reply(uow, query.message.chat.id, done, reply_to=query.message.message_id)
