"""Welcoming newcomers with the group's rules, and keeping blacklisted accounts from joining.

A wave of joins gets one welcome: the first join queues a welcome a few seconds ahead in the
outbox, and later joins of the wave are added to that same pending message. Each new welcome
replaces the previous one (the executor deletes the old message), and a welcome deletes itself
after the group's configured time.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, User

from bot.context import BotContext
from bot.i18n import N_, tr
from handlers import actions
from rules.welcome import TemplateError, render_welcome
from storage.models import Chat, utcnow
from storage.moderation import BlacklistRepository
from storage.outbox import OutboxRepository
from storage.policy import GroupPolicy

WELCOME_KEY = "welcome"
DEFAULT_TEMPLATE = N_("Welcome to “{title}”, {name}! Please read the group rules:\n{rules}")
DEFAULT_TEMPLATE_NO_RULES = N_("Welcome to “{title}”, {name}! Please read the group rules first.")


async def on_joined(context: BotContext, chat: Chat, users: list[User]) -> None:
    """Ban blacklisted arrivals at once; welcome the others."""
    uow = context.uow
    assert chat.alliance_id is not None
    blacklist = BlacklistRepository(uow.session)
    policy = GroupPolicy.load(chat.policy)
    welcome: list[User] = []
    for user in users:
        if user.is_bot or user.id == context.bot.id:
            continue
        entry = await blacklist.get_active(chat.alliance_id, user.id)
        if entry is None:
            welcome.append(user)
            continue
        if policy.shadow_mode:
            actions.log(
                uow,
                "would_ban",
                chat_id=chat.id,
                actor=None,
                target=user.id,
                reasons="blacklisted: joined",
            )
            continue
        await uow.queue("ban_chat_member", chat.id, {"user_id": user.id, "revoke_messages": True})
        actions.log(
            uow,
            "ban",
            chat_id=chat.id,
            actor=None,
            target=user.id,
            reasons=f"blacklisted: joined ({entry.reason})",
        )
    if welcome and policy.welcome_enabled and not policy.shadow_mode:
        await _queue_welcome(context, chat, policy, welcome)


async def _queue_welcome(
    context: BotContext, chat: Chat, policy: GroupPolicy, users: list[User]
) -> None:
    outbox = OutboxRepository(context.uow.session)
    now = utcnow()
    pending = await outbox.find_pending_tracked(
        chat.id, WELCOME_KEY, after=now + timedelta(seconds=0.3)
    )
    names: dict[str, str] = dict(pending.payload.get("_names", {})) if pending else {}
    for user in users:
        names[str(user.id)] = user.full_name
    payload = welcome_payload(context, chat, policy, list(names.values()))
    payload["_names"] = names
    if pending is not None and await outbox.update_pending_payload(pending.id, payload):
        return
    await context.uow.queue(
        "send_message",
        chat.id,
        payload,
        not_before=now + timedelta(seconds=policy.welcome_batch_seconds),
    )


def welcome_payload(
    context: BotContext, chat: Chat, policy: GroupPolicy, names: list[str]
) -> dict[str, object]:
    """The welcome message for `names`, with the rules inline or behind a button."""
    language = actions.chat_language(context, chat)
    rules = actions.rules_text(chat, language)
    if chat.welcome_template:
        template = chat.welcome_template
    elif policy.rules_in_welcome:
        template = tr(language, DEFAULT_TEMPLATE)
    else:
        template = tr(language, DEFAULT_TEMPLATE_NO_RULES)
    try:
        text = render_welcome(template, names=names, title=chat.title, rules=rules)
    except TemplateError:
        text = render_welcome(
            tr(language, DEFAULT_TEMPLATE), names=names, title=chat.title, rules=rules
        )
    payload: dict[str, object] = {
        "text": text,
        "track_as": WELCOME_KEY,
        "delete_after": policy.welcome_delete_after,
    }
    if not policy.rules_in_welcome or "{rules}" not in template:
        payload["reply_markup"] = rules_button(context, chat, language)
    return payload


def rules_button(context: BotContext, chat: Chat, language: str) -> dict[str, object]:
    url = f"https://t.me/{context.bot.username}?start=rules_{chat.id}"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr(language, "Read the group rules"), url=url)]]
    ).to_dict()
