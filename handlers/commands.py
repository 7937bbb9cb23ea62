"""Shared plumbing of slash commands: answering, refusing, usage texts, naming a target user.

A command either does its job or answers with a short reason (refusal, usage, unknown user):
never silence, never a traceback, never more than Telegram's limit (a user's own words are cut
when they are echoed). A member refused a command is told once, not again for a while.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import wraps

from telegram import CallbackQuery, Message, Update

from handlers.authority import may_moderate, protected_reason
from handlers.context import BotContext
from rules.decision import Person
from rules.limits import PSEUDO_SENDERS, echo, parse_user_id
from services import notices
from services.i18n import N_, tr
from services.texts import chat_language
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
    "shadow": N_("Usage: /shadow on | off | report"),
    "set": N_(
        "Change one: /set <key> <value>, e.g. /set warn_limit 3 · /set welcome off · /set welcome_delete 10m · /set strictness strict · /set allowed_domains +example.com · /set language en (keys in English or Chinese: /set 警告上限 3)"
    ),
    "set_owner": N_(
        "Change one: /set timezone Asia/Shanghai · /set language en · /set unblacklist_by owners (keys in English or Chinese: /set 时区 Asia/Shanghai)"
    ),
    "approve": N_(
        "Usage: /approve as a reply, or /approve <user id | @username>: the member's messages are no longer checked for ads"
    ),
    "unapprove": N_("Usage: /unapprove as a reply, or /unapprove <user id | @username>"),
    "allow": N_(
        "Usage: /allow <handle, link or id> … — the club's own contacts and links, never treated as ads; /allow alone lists them"
    ),
    "disallow": N_("Usage: /disallow <handle, link or id> …"),
    "whois": N_("Usage: reply to a member's message with /whois, or /whois <user id | @username>"),
    "vip": N_(
        "Usage: reply to a member's message with /vip (or /vip off); /vip alone lists the VIPs"
    ),
    "digest": N_("Usage: /digest [daily | weekly]"),
    "schedule": N_(
        "Usage: /schedule shows the times. Change one: /schedule daily 09:00 · /schedule weekly mon 09:00 · /schedule report sun 20:00 · /schedule weekly off · /schedule timezone Asia/Shanghai"
    ),
}


@dataclass(frozen=True)
class TargetUser:
    person: Person
    message: Message | None  # the replied message, when named by a reply

    @property
    def user_id(self) -> int:
        return self.person.user_id

    @property
    def name(self) -> str:
        return self.person.render()


def language(context: BotContext) -> str:
    uow = context.uow
    return chat_language(context.runtime, uow.chat, uow.alliance)


def actor_of(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    *,
    delete_after: int = 0,
    after: int | None = None,
    failures: Mapping[str, str] | None = None,
) -> None:
    message = update.effective_message
    if message is None:
        return
    await notices.reply(
        context.uow,
        message.chat.id,
        text,
        reply_to=message.message_id,
        delete_after=delete_after,
        after=after,
        failures=failures,
    )


async def answer(
    context: BotContext, query: CallbackQuery, text: str, *, alert: bool = False
) -> None:
    """Answer a button press (through the outbox, after the commit)."""
    await notices.answer_callback(context.uow, query.from_user.id, query.id, text, alert=alert)


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


async def refuse(update: Update, context: BotContext, text: str) -> None:
    """Tell the sender the command is not theirs, once in a while at most."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    await notices.refuse(
        context.uow,
        chat_id=message.chat.id,
        user_id=user.id,
        reply_to=message.message_id,
        text=text,
    )


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
                text = tr(
                    language(context),
                    "Only the group's owner and admins who can restrict members may use /{command}.",
                    command=name,
                )
                await refuse(update, context, text)
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
        user = replied.from_user
        if user is not None and replied.sender_chat is None and user.id not in PSEUDO_SENDERS:
            return TargetUser(Person(user.id, user.full_name, user.username), replied), None
        return None, tr(lang, "That message was sent as a channel or group, not by a member.")
    if not args:
        return None, None
    word = args[0]
    users = UserRepository(context.uow.session)
    if word.startswith("@") and 1 < len(word) <= 33:
        known = await users.find_by_username(word)
        if known is None:
            return None, tr(
                lang,
                "I have not seen {username} in our groups, so I do not know their id. Use the numeric id instead.",
                username=echo(word),
            )
        return TargetUser((await users.people([known.id]))[known.id], None), None
    user_id = parse_user_id(word)
    if user_id is None:
        return None, tr(lang, "“{word}” is not a user id or @username.", word=echo(word))
    if user_id in PSEUDO_SENDERS:  # nothing can be done to them: Telegram would refuse
        return None, tr(
            lang,
            "{id} is Telegram's stand-in for anonymous admins and channels, not a member.",
            id=user_id,
        )
    return TargetUser((await users.people([user_id]))[user_id], None), None


def rest_of_args(context: BotContext, *, skip: int) -> str:
    return " ".join((context.args or [])[skip:]).strip()


async def target_or_usage(
    update: Update, context: BotContext, command: str, *, protect: bool = True
) -> TargetUser | None:
    target, problem = await resolve_target(update, context)
    if target is None:
        await usage(update, context, command, problem)
        return None
    if target.user_id == context.runtime.options.bot_id:  # even lifting: Telegram would refuse
        await reply(update, context, protected_text(language(context), "bot"))
        return None
    if protect:
        why = await protected_reason(context, target.user_id)
        if why is not None:
            await reply(update, context, protected_text(language(context), why))
            return None
    return target


def protected_text(lang: str, why: str) -> str:
    texts = {
        "bot": tr(lang, "I will not act against myself."),
        "owner": tr(lang, "The owner cannot be warned, banned or blacklisted."),
        "admin": tr(lang, "Admins of our groups cannot be warned, banned or blacklisted."),
    }
    return texts[why]


def reason_words(context: BotContext, target: TargetUser, *, limit: int = 200) -> str:
    """The free text after the target (all the arguments when the target is a reply)."""
    return rest_of_args(context, skip=0 if target.message is not None else 1)[:limit]
