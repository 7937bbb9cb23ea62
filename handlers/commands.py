"""Shared plumbing of slash commands: answering, refusing, usage texts, naming a target user.

A command either does its job or answers with a short reason (refusal, usage, unknown user):
never silence, never a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from telegram import Message, Update

from bot.context import BotContext
from bot.i18n import N_, tr
from handlers import actions
from handlers.authority import may_moderate, protected_reason
from storage.groups import UserRepository

Command = Callable[[Update, BotContext], Awaitable[None]]

USAGE = {
    "warn": N_("Usage: reply to a message with /warn [reason]"),
    "unwarn": N_("Usage: /unwarn as a reply, or /unwarn <user id | @username>"),
    "warns": N_("Usage: /warns as a reply, or /warns <user id | @username>"),
    "ban": N_("Usage: /ban as a reply, or /ban <user id | @username> [reason]"),
    "unban": N_("Usage: /unban as a reply, or /unban <user id | @username>"),
    "kick": N_("Usage: /kick as a reply, or /kick <user id | @username>"),
    "mute": N_(
        "Usage: /mute as a reply or with <user id | @username>, then a duration like 10m, 2h or 3d (none: until /unmute)"
    ),
    "unmute": N_("Usage: /unmute as a reply, or /unmute <user id | @username>"),
    "del": N_("Usage: reply to the message to delete with /del"),
    "blacklist": N_("Usage: /blacklist as a reply, or /blacklist <user id | @username> [reason]"),
    "unblacklist": N_("Usage: /unblacklist <user id | @username>, or as a reply"),
    "blacklisted": N_("Usage: /blacklisted [page]"),
    "inviter": N_(
        "Usage: reply to a member's message with /inviter, or /inviter <user id | @username>"
    ),
    "spam": N_("Usage: reply to the ad with /spam"),
    "setrules": N_(
        "Usage: /setrules followed by the rules (several lines are fine), or as a reply to a message holding them"
    ),
    "setwelcome": N_(
        "Usage: /setwelcome followed by the template. Placeholders: {name} {title} {rules} {count}. /setwelcome alone shows the current one"
    ),
    "shadow": N_("Usage: /shadow on | off"),
}


@dataclass(frozen=True)
class TargetUser:
    user_id: int
    name: str
    message: Message | None  # the replied message, when named by a reply


async def reply(update: Update, context: BotContext, text: str, *, delete_after: int = 0) -> None:
    message = update.effective_message
    if message is None:
        return
    payload: dict[str, object] = {
        "text": text,
        "reply_to_message_id": message.message_id,
        "allow_sending_without_reply": True,
    }
    if delete_after:
        payload["delete_after"] = delete_after
    await context.uow.queue("send_message", message.chat.id, payload)


def language(context: BotContext) -> str:
    return actions.chat_language(context, context.uow.chat)


def usage_text(lang: str, command: str) -> str:
    return tr(lang, USAGE[command])


async def usage(
    update: Update, context: BotContext, command: str, problem: str | None = None
) -> None:
    lang = language(context)
    text = usage_text(lang, command)
    if problem:
        text = f"{problem}\n{text}"
    await reply(update, context, text)


def admin_command(name: str) -> Callable[[Command], Command]:
    """Run the command only for those with authority in a group; refuse others briefly."""

    def decorate(func: Command) -> Command:
        @wraps(func)
        async def wrapper(update: Update, context: BotContext) -> None:
            if context.uow.chat is None:
                await reply(
                    update, context, tr(language(context), "This command works in a group.")
                )
                return
            if not await may_moderate(update, context):
                await reply(
                    update,
                    context,
                    tr(
                        language(context),
                        "Only the group's owner and admins who can restrict members may use /{command}.",
                        command=name,
                    ),
                    delete_after=60,
                )
                return
            await func(update, context)

        return wrapper

    return decorate


async def resolve_target(
    update: Update, context: BotContext
) -> tuple[TargetUser | None, str | None]:
    """The user a command is about: the replied message's sender, or an id or @username argument.

    Returns (target, None), or (None, problem) where problem is a translated reason or None when
    no target was named at all.
    """
    message = update.effective_message
    lang = language(context)
    args = context.args or []
    if message is not None and message.reply_to_message is not None:
        replied = message.reply_to_message
        if replied.from_user is not None and replied.sender_chat is None:
            return TargetUser(replied.from_user.id, replied.from_user.full_name, replied), None
        return None, tr(lang, "That message was sent as a channel or group, not by a member.")
    if not args:
        return None, None
    word = args[0]
    if word.lstrip("-").isdigit() and not word.startswith("-"):
        user_id = int(word)
        known = await UserRepository(context.uow.session).get(user_id)
        return TargetUser(user_id, known.first_name if known else word, None), None
    if word.startswith("@") and len(word) > 1:
        known = await UserRepository(context.uow.session).find_by_username(word)
        if known is None:
            return None, tr(
                lang,
                "I have not seen {username} in our groups, so I do not know their id. Use the numeric id instead.",
                username=word,
            )
        return TargetUser(known.id, known.first_name, None), None
    return None, tr(lang, "“{word}” is not a user id or @username.", word=word)


def rest_of_args(context: BotContext, *, skip: int) -> str:
    return " ".join((context.args or [])[skip:]).strip()


async def target_or_usage(
    update: Update, context: BotContext, command: str, *, protect: bool = True
) -> TargetUser | None:
    target, problem = await resolve_target(update, context)
    if target is None:
        await usage(update, context, command, problem)
        return None
    chat = context.uow.chat
    assert chat is not None
    if protect:
        why = await protected_reason(context, chat.id, target.user_id)
        if why is not None:
            await reply(update, context, protected_text(language(context), why))
            return None
    return target


def protected_text(lang: str, why: str) -> str:
    texts = {
        "bot": tr(lang, "I will not act against myself."),
        "owner": tr(lang, "The owner cannot be warned, banned or blacklisted."),
        "admin": tr(lang, "Admins cannot be warned, banned or blacklisted."),
    }
    return texts[why]


def reason_words(context: BotContext, target: TargetUser) -> str:
    """The free text after the target (all the arguments when the target is a reply)."""
    return rest_of_args(context, skip=0 if target.message is not None else 1)
