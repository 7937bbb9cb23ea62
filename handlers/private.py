"""/start and /help, and the command menus Telegram shows per scope and language."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ExtBot

from handlers import group_rules
from handlers.authority import may_moderate
from handlers.context import BotContext
from rules.limits import parse_chat_id
from services import notices
from services.i18n import LANGUAGES, N_, normalise_language, tr
from services.texts import chat_language
from storage.groups import UserRepository

log = logging.getLogger(__name__)

MEMBER_COMMANDS = [
    ("rules", N_("show the group rules")),
    ("help", N_("what I can do for you")),
]
ADMIN_COMMANDS = [
    ("warn", N_("warn a member (reply)")),
    ("unwarn", N_("remove a member's latest warning")),
    ("warns", N_("list a member's warnings")),
    ("spam", N_("delete an ad, warn, and teach the detector (reply)")),
    ("del", N_("delete a message (reply)")),
    ("mute", N_("mute a member: 10m, 2h, 3d")),
    ("unmute", N_("let a member speak again")),
    ("kick", N_("remove a member from this group")),
    ("ban", N_("ban from this group")),
    ("unban", N_("lift a ban in this group")),
    ("blacklist", N_("ban from all our groups, for good")),
    ("unblacklist", N_("lift a blacklist in all groups")),
    ("blacklisted", N_("list the blacklist")),
    ("inviter", N_("who invited a member, and their record")),
    ("setrules", N_("set the group rules")),
    ("setwelcome", N_("set or preview the welcome")),
    ("shadow", N_("shadow mode on or off: decide but do not act")),
    ("settings", N_("the group's settings; /set changes one")),
    ("approve", N_("exempt a member from the ad checks")),
    ("unapprove", N_("check a member's messages again")),
    ("stats", N_("this group's health: active members, exits, tier")),
    ("whois", N_("a member's roles, stage and history (reply)")),
    ("vip", N_("mark a member as VIP, or list the VIPs")),
    ("allow", N_("the club's own contacts and links, never ads")),
]
PRIVATE_COMMANDS = [
    ("start", N_("start talking to me")),
    ("help", N_("what I can do for you")),
    ("groups", N_("owners: your groups by tier")),
    ("digest", N_("owners: the digest now (daily or weekly)")),
    ("schedule", N_("owners: digest and report times")),
    ("allow", N_("owners: contacts and links never treated as ads")),
    ("settings", N_("owners: time zone, language; /set changes one")),
]


def language_for(update: Update, context: BotContext) -> str:
    """The chat's language in a group; in private the alliance's for its owners (one language
    per reader, whatever their app's), the user's own for anyone else, else the default."""
    uow = context.uow
    if uow.chat is not None:
        return chat_language(context.runtime, uow.chat, uow.alliance)
    if context.reader_language is not None:
        return context.reader_language
    user = update.effective_user
    default = context.runtime.options.default_language
    return normalise_language(user.language_code if user else None, default)


async def cmd_start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    await UserRepository(context.uow.session).mark_started(
        user.id, first_name=user.first_name, username=user.username
    )
    args = context.args or []
    rules_of = parse_chat_id(args[0][6:]) if args and args[0].startswith("rules_") else None
    if rules_of is not None:
        await group_rules.rules_in_private(update, context, rules_of)
        return
    lang = language_for(update, context)
    if context.runtime.alliances.is_owner(user.id):
        text = tr(
            lang, "Welcome back. Add me to your groups as an admin and I will look after them."
        )
    else:
        text = tr(
            lang,
            "Hello! I look after community groups. Group rules and notices will reach you here.",
        )
    await notices.reply(context.uow, chat.id, text)
    # what Telegram would not let the bot send before (reports with their undo buttons,
    # alerts, digests) follows the greeting
    await notices.deliver_kept(context.uow, user.id)


async def cmd_help(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    lang = language_for(update, context)
    if context.uow.chat is None:
        commands = PRIVATE_COMMANDS
    elif await may_moderate(update, context):
        commands = MEMBER_COMMANDS + ADMIN_COMMANDS
    else:
        commands = MEMBER_COMMANDS
    lines = [tr(lang, "Commands you can use here:")]
    lines += [f"/{name} — {tr(lang, about)}" for name, about in commands]
    await notices.reply(context.uow, chat.id, "\n".join(lines))


async def on_private_text(update: Update, context: BotContext) -> None:
    """A plain message in the private chat, not a command: a short hint at what works here."""
    chat = update.effective_chat
    if chat is None:
        return
    lang = language_for(update, context)
    text = tr(lang, "I answer commands here, not messages: /help lists them.")
    await notices.reply(context.uow, chat.id, text)


async def register_menus(bot: ExtBot[None], default_language: str) -> None:
    """Command menus per scope, in both languages (the default one also without a language)."""
    scopes = [
        (BotCommandScopeAllGroupChats(), MEMBER_COMMANDS),
        (BotCommandScopeAllChatAdministrators(), MEMBER_COMMANDS + ADMIN_COMMANDS),
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
    ]
    for scope, commands in scopes:
        for language in (*LANGUAGES, None):
            lang = language or default_language
            menu = [BotCommand(name, tr(lang, about)) for name, about in commands]
            code = language.split("-")[0] if language else None
            try:
                await bot.set_my_commands(menu, scope=scope, language_code=code)
            except TelegramError as exc:  # menus are a convenience: never block the start
                log.warning("could not set command menus: %s", exc)
                return
