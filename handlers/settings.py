"""/settings and /set: every policy of a group (its admins) or of an alliance (its owners, in
private), shown in the reader's language and changed by name; /approve and /unapprove.

`/settings` shows the whole policy, each key with its English and Chinese name, and buttons that
switch the on/off keys in one tap. `/set <key> <value>` (or `/settings <key> <value>`) changes
one; a value the bot cannot use gets a one-line reason and changes nothing. Every change leaves
an audit row.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from telegram import Update

from handlers.authority import may_moderate
from handlers.commands import (
    actor_of,
    admin_command,
    answer,
    language,
    reply,
    target_or_usage,
    usage,
    usage_text,
)
from handlers.context import BotContext
from handlers.owner import _owner_alliances
from rules.actions import Button, EditMessageText, Keyboard, SendMessage
from rules.limits import TEXT_LIMIT, fit
from services import setting_keys as keys
from services.apply import audit
from services.i18n import tr
from services.setting_keys import ALLIANCE_KEYS, GROUP_KEYS, Key, Refused
from services.settings import set_alliance, set_group
from services.shadow import set_shadow
from services.uow import InstallSchedules
from storage.groups import UserRepository
from storage.models import Alliance, Chat
from storage.policy import AlliancePolicy, GroupPolicy

TOGGLES = ("welcome", "rules_button", "shadow")


def _names(lang: str, key: Key) -> str:
    other = key.name if lang == "zh-CN" else key.alias
    return f"{key.label(lang)} ({other})"


async def group_text(context: BotContext, chat: Chat) -> str:
    lang = language(context)
    alliance_lang = context.uow.alliance.language if context.uow.alliance else lang
    policy = GroupPolicy.load(chat.policy)
    lines = [tr(lang, "⚙️ Settings of “{title}”:", title=chat.title)]
    for key in GROUP_KEYS:
        value = keys.show_group_value(lang, key, chat, policy, alliance_lang)
        lines.append(f"• {_names(lang, key)}: {value} — {tr(lang, key.about)}")
    approved = await UserRepository(context.uow.session).people(policy.approved_users)
    names = ", ".join(p.render() for p in approved.values()) or "—"
    lines.append(tr(lang, "• approved members (never checked for ads): {names}", names=names))
    lines.append(
        tr(
            lang,
            "• own contacts and links (/allow): {terms}",
            terms=", ".join(policy.allowed) or "—",
        )
    )
    lines.append("")
    lines.append(usage_text(lang, "set"))
    return fit("\n".join(lines), TEXT_LIMIT)


def group_keyboard(lang: str, chat: Chat) -> Keyboard:
    policy = GroupPolicy.load(chat.policy)
    buttons = []
    for name in TOGGLES:
        key = keys.find_key(GROUP_KEYS, name)
        assert key is not None
        value = keys.show_group_value(lang, key, chat, policy, lang)
        buttons.append(Button(f"{key.label(lang)}: {value}", callback_data=f"set:{key.name}"))
    return (tuple(buttons),)


def alliance_text(lang: str, alliance: Alliance, *, several: bool) -> str:
    heading = tr(lang, "⚙️ Settings of all our groups:")
    lines = [f"#{alliance.id} {heading}" if several else heading]
    for key in ALLIANCE_KEYS:
        value = keys.alliance_value(lang, key, alliance)
        lines.append(f"• {_names(lang, key)}: {value} — {tr(lang, key.about)}")
    allowed = AlliancePolicy.load(alliance.policy).allowed
    lines.append(
        tr(lang, "• own contacts and links (/allow): {terms}", terms=", ".join(allowed) or "—")
    )
    lines += ["", usage_text(lang, "set_owner")]
    return "\n".join(lines)


async def cmd_settings(update: Update, context: BotContext) -> None:
    if context.args:
        await cmd_set(update, context)
    elif context.uow.chat is not None:
        await _group_settings(update, context)
    else:
        alliances = await _owner_alliances(update, context)
        for alliance in alliances:
            text = alliance_text(alliance.language, alliance, several=len(alliances) > 1)
            await reply(update, context, text)


@admin_command("settings")
async def _group_settings(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None
    message = update.effective_message
    assert message is not None
    text = await group_text(context, chat)
    keyboard = group_keyboard(language(context), chat)
    await context.uow.send(
        SendMessage(chat_id=chat.id, text=text, reply_to=message.message_id, buttons=keyboard)
    )


async def cmd_set(update: Update, context: BotContext) -> None:
    if context.uow.chat is not None:
        await _set_in_group(update, context)
        return
    alliances = await _owner_alliances(update, context)
    args = context.args or []
    for alliance in alliances:
        lang = alliance.language
        if not args:
            await reply(update, context, usage_text(lang, "set_owner"))
            return
        key = keys.find_key(ALLIANCE_KEYS, args[0])
        if key is None:
            await reply(update, context, keys.unknown_key(lang, args[0], ALLIANCE_KEYS))
            return
        try:
            change = set_alliance(lang, alliance, key, args[1:])
        except Refused as refused:
            await reply(update, context, str(refused))
            return
        audit(
            context.uow,
            "set_alliance",
            chat_id=None,
            actor=actor_of(update),
            target=None,
            key=key.name,
            value=change.after,
            alliance=alliance.id,
        )
        if key.name == "timezone":
            context.uow.after_commit(InstallSchedules(alliance.id))
        prefix = f"#{alliance.id} " if len(alliances) > 1 else ""
        await reply(update, context, prefix + change.line(alliance.language))


@admin_command("set")
async def _set_in_group(update: Update, context: BotContext) -> None:
    lang = language(context)
    args = context.args or []
    if not args:
        await usage(update, context, "set")
        return
    key = keys.find_key(GROUP_KEYS, args[0])
    if key is None:
        owners = keys.find_key(ALLIANCE_KEYS, args[0])
        if owners is not None:
            text = tr(
                lang,
                "{key} is set by the owners for all our groups: send /set {key} … to me in our private chat.",
                key=owners.label(lang),
            )
        else:
            text = keys.unknown_key(lang, args[0], GROUP_KEYS)
        await reply(update, context, text)
        return
    await reply(update, context, await change_group(update, context, key, args[1:]))


async def change_group(update: Update, context: BotContext, key: Key, words: Sequence[str]) -> str:
    """Set one group key and say what changed (or why not), in the group's language."""
    uow = context.uow
    lang = language(context)
    row = await uow.chat_for_update()
    alliance_lang = uow.alliance.language if uow.alliance else lang
    try:
        change, policy = set_group(lang, row, key, words, alliance_lang)
    except Refused as refused:
        return str(refused)
    if key.name == "shadow" and policy.shadow_mode != GroupPolicy.load(row.policy).shadow_mode:
        await set_shadow(uow, row, policy.shadow_mode, actor_of(update))
    elif change.before != change.after:
        audit(
            uow,
            "set_policy",
            chat_id=row.id,
            actor=actor_of(update),
            target=None,
            key=key.name,
            value=change.after,
            before=change.before,
        )
    uow.chat = row
    return change.line(row.language or alliance_lang)


async def on_toggle(update: Update, context: BotContext) -> None:
    """A switch under /settings (callback data set:<key>): flips that on/off key."""
    query = update.callback_query
    uow = context.uow
    if query is None or query.data is None or uow.chat is None:
        return
    lang = language(context)
    key = keys.find_key(GROUP_KEYS, query.data.split(":", 1)[1])
    if key is None or key.name not in TOGGLES:
        await answer(context, query, tr(lang, "That button is no longer valid."))
        return
    if not await may_moderate(update, context):
        await answer(
            context, query, tr(lang, "Only the group's admins can change its settings."), alert=True
        )
        return
    assert key.field is not None
    on = getattr(GroupPolicy.load(uow.chat.policy), key.field) != key.invert
    flipped = "off" if on else "on"
    line = await change_group(update, context, key, [flipped])
    await answer(context, query, line)
    if query.message is not None:
        row = await uow.chat_for_update()
        await uow.send(
            EditMessageText(
                chat_id=row.id,
                message_id=query.message.message_id,
                text=await group_text(context, row),
                buttons=group_keyboard(language(context), row),
            )
        )


@admin_command("approve")
async def cmd_approve(update: Update, context: BotContext) -> None:
    await _approve(update, context, approved=True)


@admin_command("unapprove")
async def cmd_unapprove(update: Update, context: BotContext) -> None:
    await _approve(update, context, approved=False)


async def _approve(update: Update, context: BotContext, *, approved: bool) -> None:
    command = "approve" if approved else "unapprove"
    target = await target_or_usage(update, context, command, protect=False)
    if target is None:
        return
    uow = context.uow
    lang = language(context)
    row = await uow.chat_for_update()
    policy = GroupPolicy.load(row.policy)
    listed = list(policy.approved_users)
    if approved == (target.user_id in listed):
        text = (
            tr(lang, "{user} is already approved.", user=target.name)
            if approved
            else tr(lang, "{user} was not approved.", user=target.name)
        )
        await reply(update, context, text)
        return
    if approved:
        listed.append(target.user_id)
    else:
        listed.remove(target.user_id)
    try:
        row.policy = policy.changed(approved_users=listed).stored()
    except ValidationError:
        await reply(update, context, tr(lang, "The list of approved members is full (500)."))
        return
    uow.chat = row
    await UserRepository(uow.session).remember([target.person])
    audit(uow, command, chat_id=row.id, actor=actor_of(update), target=target.user_id)
    text = (
        tr(
            lang,
            "{user} is approved: their messages here are no longer checked for ads.",
            user=target.name,
        )
        if approved
        else tr(
            lang,
            "{user} is no longer approved: their messages are checked for ads again.",
            user=target.name,
        )
    )
    await reply(update, context, text)
