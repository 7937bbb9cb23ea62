"""Admin commands that act in the current group: warnings, bans, kicks, mutes, deletions.

The alliance-wide blacklist commands live in `handlers.blacklist`. Every action is logged; the
owner, admins and the bot itself cannot be warned, banned, kicked or muted.
"""

from __future__ import annotations

import time

from telegram import Update

from bot.context import BotContext
from bot.i18n import tr
from handlers import actions
from handlers.commands import (
    TargetUser,
    admin_command,
    language,
    reason_words,
    reply,
    target_or_usage,
    usage,
)
from rules.moderation import format_duration, parse_duration
from storage.models import Chat, utcnow
from storage.moderation import WarningRepository

MUTED = {
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
}
UNMUTED = {key: True for key in MUTED} | {"can_invite_users": True}


def _actor(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


def _chat(context: BotContext) -> Chat:
    chat = context.uow.chat
    assert chat is not None
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
    lang = language(context)
    reason = reason_words(context, target) or tr(lang, "breaking the group rules")
    offence = actions.Offence(
        target.user_id,
        target.name,
        reason=reason,
        detail=f"/warn: {reason}",
        message_id=None,
        text=(target.message.text or "") if target.message else "",
    )
    await actions.warn(context, _chat(context), offence, actor=_actor(update))


@admin_command("unwarn")
async def cmd_unwarn(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "unwarn", protect=False)
    if target is None:
        return
    chat = _chat(context)
    assert chat.alliance_id is not None
    lang = language(context)
    lifted = await WarningRepository(context.uow.session).revoke_latest(
        chat.alliance_id, target.user_id, by=_actor(update) or 0, now=utcnow()
    )
    if lifted is None:
        await reply(update, context, tr(lang, "{name} has no active warnings.", name=target.name))
        return
    actions.log(
        context.uow,
        "unwarn",
        chat_id=chat.id,
        actor=_actor(update),
        target=target.user_id,
        reasons=lifted.reason,
    )
    await reply(
        update, context, tr(lang, "Removed the latest warning of {name}.", name=target.name)
    )


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
    lines += [f"• {w.created_at:%Y-%m-%d %H:%M} UTC — {w.reason[:200]}" for w in active]
    await reply(update, context, "\n".join(lines))


async def _act_in_group(
    update: Update,
    context: BotContext,
    target: TargetUser,
    action: str,
    calls: list[tuple[str, dict[str, object]]],
    answer: str,
) -> None:
    """Queue the calls on the target in this group, log the action, answer the admin."""
    chat = _chat(context)
    for kind, payload in calls:
        await context.uow.queue(kind, chat.id, {"user_id": target.user_id, **payload})
    reasons = reason_words(context, target) or f"/{action}"
    actions.log(
        context.uow,
        action,
        chat_id=chat.id,
        actor=_actor(update),
        target=target.user_id,
        reasons=reasons,
    )
    await reply(update, context, answer)


UNBAN = ("unban_chat_member", {"only_if_banned": True})


@admin_command("ban")
async def cmd_ban(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "ban")
    if target is not None:
        text = tr(language(context), "{name} is banned from this group.", name=target.name)
        await _act_in_group(update, context, target, "ban", [("ban_chat_member", {})], text)


@admin_command("unban")
async def cmd_unban(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "unban", protect=False)
    if target is not None:
        text = tr(language(context), "{name} may join this group again.", name=target.name)
        await _act_in_group(update, context, target, "unban", [UNBAN], text)


@admin_command("kick")
async def cmd_kick(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "kick")
    if target is not None:
        # A kick is a ban lifted straight away: removed, but free to come back.
        text = tr(language(context), "{name} was removed from this group.", name=target.name)
        await _act_in_group(update, context, target, "kick", [("ban_chat_member", {}), UNBAN], text)


@admin_command("mute")
async def cmd_mute(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "mute")
    if target is None:
        return
    lang = language(context)
    words = (context.args or [])[0 if target.message is not None else 1 :]
    seconds = parse_duration(words[0]) if words else None
    if words and seconds is None:
        await usage(update, context, "mute", tr(lang, "“{word}” is not a duration.", word=words[0]))
        return
    chat = _chat(context)
    payload: dict[str, object] = {"user_id": target.user_id, "permissions": MUTED}
    if seconds is not None:
        payload["until_date"] = int(time.time()) + seconds
        text = tr(
            lang,
            "{name} is muted for {duration}.",
            name=target.name,
            duration=format_duration(seconds),
        )
    else:
        text = tr(lang, "{name} is muted until an admin uses /unmute.", name=target.name)
    await context.uow.queue("restrict_chat_member", chat.id, payload)
    actions.log(
        context.uow,
        "mute",
        chat_id=chat.id,
        actor=_actor(update),
        target=target.user_id,
        reasons=format_duration(seconds) if seconds else "until unmuted",
    )
    await reply(update, context, text)


@admin_command("unmute")
async def cmd_unmute(update: Update, context: BotContext) -> None:
    target = await target_or_usage(update, context, "unmute", protect=False)
    if target is not None:
        text = tr(language(context), "{name} may speak again.", name=target.name)
        calls = [("restrict_chat_member", {"permissions": UNMUTED})]
        await _act_in_group(update, context, target, "unmute", calls, text)


@admin_command("del")
async def cmd_del(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None:
        await usage(update, context, "del")
        return
    chat = _chat(context)
    replied = message.reply_to_message
    await context.uow.queue("delete_message", chat.id, {"message_id": replied.message_id})
    await context.uow.queue("delete_message", chat.id, {"message_id": message.message_id})
    actions.log(
        context.uow,
        "delete",
        chat_id=chat.id,
        actor=_actor(update),
        target=replied.from_user.id if replied.from_user else None,
        reasons="/del",
        message_id=replied.message_id,
        text=(replied.text or "")[:500],
    )
