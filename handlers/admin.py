"""Admin commands that act in the current group: warnings, bans, kicks, mutes, deletions.

The alliance-wide blacklist commands live in `handlers.blacklist`. Every action is decided by
`rules.moderation`, applied by `services.apply` (audit row, outbox, shadow mode) and answered
only once it is done: an answer never claims a ban that failed. The owner, admins of any group of
the alliance and the bot itself cannot be warned, banned, kicked or muted.
"""

from __future__ import annotations

import time

from telegram import Update

from handlers.commands import (
    TargetUser,
    actor_of,
    admin_command,
    language,
    reason_words,
    reply,
    target_or_usage,
    usage,
)
from handlers.context import BotContext
from rules.actions import DeleteMessage, Failure
from rules.decision import Decision, Reason
from rules.limits import echo
from rules.moderation import Offence, in_group, parse_duration
from services.apply import apply, audit
from services.i18n import N_, duration_text, tr
from services.moderation import punish
from storage.models import Chat, utcnow
from storage.moderation import WarningRepository


def _chat(context: BotContext) -> Chat:
    chat = context.uow.chat
    assert chat is not None
    assert chat.alliance_id is not None
    return chat


@admin_command("warn")
async def cmd_warn(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        await usage(update, context, "warn")
        return
    target = await target_or_usage(update, context, "warn")
    if target is None:
        return
    chat = _chat(context)
    reason = reason_words(context, target) or tr(language(context), "breaking the group rules")
    offence = Offence(
        target.person,
        chat.id,
        reason=reason,
        detail=f"/warn: {reason}",
        text=(target.message.text or "") if target.message else "",
    )
    assert chat.alliance_id is not None
    await punish(context.uow, context.runtime, chat.alliance_id, offence, actor=actor_of(update))


@admin_command("unwarn")
async def cmd_unwarn(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "unwarn", protect=False)
    if target is None:
        return
    chat = _chat(context)
    assert chat.alliance_id is not None
    lang = language(context)
    lifted = await WarningRepository(context.uow.session).revoke_latest(
        chat.alliance_id, target.user_id, by=actor_of(update) or 0, now=utcnow()
    )
    if lifted is None:
        await reply(update, context, tr(lang, "{name} has no active warnings.", name=target.name))
        return
    audit(
        context.uow,
        "unwarn",
        chat_id=chat.id,
        actor=actor_of(update),
        target=target.user_id,
        reasons=lifted.reason,
    )
    text = tr(lang, "Removed the latest warning of {name}.", name=target.name)
    await reply(update, context, text)


@admin_command("warns")
async def cmd_warns(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "warns", protect=False)
    if target is None:
        return
    chat = _chat(context)
    assert chat.alliance_id is not None
    lang = language(context)
    active = await WarningRepository(context.uow.session).list_active(
        chat.alliance_id, target.user_id, now=utcnow()
    )
    if not active:
        await reply(update, context, tr(lang, "{name} has no active warnings.", name=target.name))
        return
    lines = [tr(lang, "{name} has {count} active warnings:", name=target.name, count=len(active))]
    lines += [f"• {w.created_at:%Y-%m-%d %H:%M} UTC — {echo(w.reason, 200)}" for w in active]
    await reply(update, context, "\n".join(lines))


VERBS = {
    "ban": N_("ban"),
    "unban": N_("lift the ban of"),
    "kick": N_("remove"),
    "mute": N_("mute"),
    "unmute": N_("unmute"),
}


FAILURES = {
    Failure.RIGHTS: N_(
        "I could not {verb} {name}: make me an admin with the right to ban and restrict members."
    ),
    Failure.NOT_FOUND: N_("I could not {verb} {name}: Telegram does not know that account here."),
    Failure.ADMIN: N_("I could not {verb} {name}: they are an admin here."),
    Failure.SUPERGROUP: N_("I could not {verb} {name}: Telegram allows this only in supergroups."),
    Failure.OTHER: N_("I could not {verb} {name}; the bot's log says why."),
}


def failure_texts(lang: str, command: str, name: str) -> dict[str, str]:
    """What to say, by why Telegram refused, when an order about `name` could not be done."""
    verb = tr(lang, VERBS[command])
    return {reason: tr(lang, text, verb=verb, name=name) for reason, text in FAILURES.items()}


async def _order(
    update: Update,
    context: BotContext,
    command: str,
    target: TargetUser,
    done: str,
    *,
    until: int | None = None,
) -> None:
    """Decide and apply an order about `target` in this group; answer once every call of it is
    carried out, or say why one could not be."""
    chat = _chat(context)
    decision = in_group(
        command,
        chat.id,
        target.person,
        actor=actor_of(update),
        reason=reason_words(context, target),
        until=until,
    )
    applied = await apply(context.uow, context.runtime, decision)
    lang = language(context)
    if applied.shadow:
        done = tr(lang, "Shadow mode: nothing was done. {what}", what=done)
    failures = failure_texts(lang, command, target.name)
    await reply(update, context, done, after=applied.last_sent, failures=failures)


async def _simple_order(
    update: Update, context: BotContext, command: str, done: str, *, protect: bool = True
) -> None:
    """An order with no argument but its target; `done` is the answer's text, untranslated."""
    target = await target_or_usage(update, context, command, protect=protect)
    if target is not None:
        answer = tr(language(context), done, name=target.name)
        await _order(update, context, command, target, answer)


@admin_command("ban")
async def cmd_ban(update: Update, context: BotContext) -> None:
    await _simple_order(update, context, "ban", N_("{name} is banned from this group."))


@admin_command("unban")
async def cmd_unban(update: Update, context: BotContext) -> None:
    done = N_("{name} may join this group again.")
    await _simple_order(update, context, "unban", done, protect=False)


@admin_command("kick")
async def cmd_kick(update: Update, context: BotContext) -> None:
    await _simple_order(update, context, "kick", N_("{name} was removed from this group."))


@admin_command("mute")
async def cmd_mute(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "mute")
    if target is None:
        return
    lang = language(context)
    words = (context.args or [])[0 if target.message is not None else 1 :]
    seconds = parse_duration(words[0]) if words else None
    if words and seconds is None:
        problem = tr(lang, "“{word}” is not a duration.", word=echo(words[0]))
        await usage(update, context, "mute", problem)
        return
    if seconds is not None:
        duration = duration_text(lang, seconds)
        done = tr(lang, "{name} is muted for {duration}.", name=target.name, duration=duration)
    else:
        done = tr(lang, "{name} is muted until an admin uses /unmute.", name=target.name)
    until = int(time.time()) + seconds if seconds is not None else None
    await _order(update, context, "mute", target, done, until=until)


@admin_command("unmute")
async def cmd_unmute(update: Update, context: BotContext) -> None:
    done = N_("{name} may speak again.")
    # those who cannot be muted have nothing to lift, and Telegram refuses to restrict them
    await _simple_order(update, context, "unmute", done)


@admin_command("del")
async def cmd_del(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        await usage(update, context, "del")
        return
    chat = _chat(context)
    replied = message.reply_to_message
    author = replied.from_user.id if replied.from_user else None
    decision = Decision(
        "delete",
        chat.id,
        target=author,
        actor=actor_of(update),
        reasons=(Reason("/del"),),
        steps=(
            DeleteMessage(chat_id=chat.id, message_id=replied.message_id),
            DeleteMessage(chat_id=chat.id, message_id=message.message_id),
        ),
        details={"message_id": replied.message_id, "text": (replied.text or "")[:500]},
    )
    await apply(context.uow, context.runtime, decision)
