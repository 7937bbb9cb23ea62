"""Thin Telegram-facing handlers, registered as a pipeline of handler groups.

-2  the bot's own membership and group upgrades (work even for chats not yet in an alliance)
-1  guards: drop chats outside any alliance, load the chat
 0  the group's traffic: joins (welcome or ban), leaves, every message through moderation
 1  commands and buttons (a message moderation removed never reaches them)
99  remember who was seen
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from handlers import (
    admin,
    allowlist,
    blacklist,
    errors,
    group_rules,
    guards,
    health,
    members,
    membership,
    moderation,
    owner,
    private,
    settings,
    shadow,
)
from handlers.commands import answer, reply
from handlers.context import BotApplication, BotContext
from services.i18n import tr

GROUP_COMMANDS = {
    "warn": admin.cmd_warn,
    "unwarn": admin.cmd_unwarn,
    "warns": admin.cmd_warns,
    "ban": admin.cmd_ban,
    "unban": admin.cmd_unban,
    "kick": admin.cmd_kick,
    "mute": admin.cmd_mute,
    "unmute": admin.cmd_unmute,
    "del": admin.cmd_del,
    "blacklist": blacklist.cmd_blacklist,
    "unblacklist": blacklist.cmd_unblacklist,
    "blacklisted": blacklist.cmd_blacklisted,
    "inviter": blacklist.cmd_inviter,
    "spam": blacklist.cmd_spam,
    "rules": group_rules.cmd_rules,
    "setrules": group_rules.cmd_setrules,
    "setwelcome": group_rules.cmd_setwelcome,
    "shadow": group_rules.cmd_shadow,
    "stats": health.cmd_stats,
    "whois": health.cmd_whois,
    "vip": health.cmd_vip,
    "approve": settings.cmd_approve,
    "unapprove": settings.cmd_unapprove,
}
# in a group for its admins, in private for the owners
BOTH_COMMANDS = {
    "allow": allowlist.cmd_allow,
    "disallow": allowlist.cmd_disallow,
    "settings": settings.cmd_settings,
    "set": settings.cmd_set,
}
OWNER_COMMANDS = {
    "groups": owner.cmd_groups,
    "digest": owner.cmd_digest,
    "schedule": owner.cmd_schedule,
}


async def on_command(update: Update, context: BotContext) -> None:
    """Route a command: group commands in groups, /start in private (a group is pointed
    there), the rest anywhere."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not message.text:
        return
    name = message.text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()
    in_group = chat.type in (chat.GROUP, chat.SUPERGROUP)
    lang = private.language_for(update, context)
    if name in GROUP_COMMANDS:
        if in_group:
            await GROUP_COMMANDS[name](update, context)
        else:
            await reply(update, context, tr(lang, "This command works in a group."))
    elif name in OWNER_COMMANDS:
        await OWNER_COMMANDS[name](update, context)
    elif name in BOTH_COMMANDS:
        await BOTH_COMMANDS[name](update, context)
    elif name == "start":
        if chat.type == chat.PRIVATE:
            await private.cmd_start(update, context)
        else:
            await reply(update, context, tr(lang, "Send me this command in our private chat."))
    elif name == "help":
        await private.cmd_help(update, context)


async def on_unknown_private_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have, in its private chat: say so (in groups it may be
    another bot's)."""
    lang = private.language_for(update, context)
    await reply(update, context, tr(lang, "I do not know that command. /help lists what I can do."))


async def on_stale_button(update: Update, context: BotContext) -> None:
    """A button press no handler knows (an old message, forged data): answered all the same."""
    query = update.callback_query
    if query is not None:
        lang = private.language_for(update, context)
        await answer(context, query, tr(lang, "That button is no longer valid."))


def _no_pattern_matches(data: object) -> bool:
    return False


def register(app: BotApplication) -> None:
    my_member = ChatMemberHandler.MY_CHAT_MEMBER
    app.add_handler(ChatMemberHandler(membership.on_my_chat_member, my_member), -2)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.on_migrate), -2)
    app.add_handler(TypeHandler(Update, guards.on_update), -1)

    groups = filters.ChatType.GROUPS
    app.add_handler(ChatMemberHandler(members.on_chat_member, ChatMemberHandler.CHAT_MEMBER), 0)
    app.add_handler(
        MessageHandler(groups & filters.StatusUpdate.NEW_CHAT_MEMBERS, members.on_new_members), 0
    )
    app.add_handler(
        MessageHandler(groups & filters.StatusUpdate.LEFT_CHAT_MEMBER, members.on_left_member), 0
    )
    names = [*GROUP_COMMANDS, *OWNER_COMMANDS, *BOTH_COMMANDS, "start", "help"]
    app.add_handler(
        # TEXT first: a text message is never a service message, and the check is cheap
        MessageHandler(
            groups & (filters.TEXT | ~filters.StatusUpdate.ALL),
            moderation.screener(frozenset(names)),
        ),
        0,
    )
    app.add_handler(MessageReactionHandler(health.on_reaction), 0)

    # One handler for every command (each plain message would otherwise be checked against
    # each command in turn); `on_command` picks the callback.
    app.add_handler(CommandHandler(names, on_command, filters.UpdateType.MESSAGE), 1)
    # python-telegram-bot hands a press without data to the first handler with a pattern,
    # whatever the pattern: this one takes those first (and no other press) and answers them.
    app.add_handler(CallbackQueryHandler(on_stale_button, pattern=_no_pattern_matches), 1)
    app.add_handler(CallbackQueryHandler(membership.on_approval, pattern=r"^grp:(ok|no):-?\d+$"), 1)
    app.add_handler(CallbackQueryHandler(blacklist.on_undo, pattern=r"^bl:undo:\d+:\d+$"), 1)
    app.add_handler(CallbackQueryHandler(settings.on_toggle, pattern=r"^set:\w+$"), 1)
    app.add_handler(CallbackQueryHandler(shadow.on_fine, pattern=r"^sh:fine:\d+$"), 1)
    app.add_handler(CallbackQueryHandler(shadow.on_enforce, pattern=r"^sh:on:-?\d+$"), 1)
    app.add_handler(CallbackQueryHandler(on_stale_button), 1)
    private_commands = filters.ChatType.PRIVATE & filters.COMMAND & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(private_commands, on_unknown_private_command), 1)
    private_texts = (
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND
    ) & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(private_texts, private.on_private_text), 1)

    app.add_handler(TypeHandler(Update, guards.remember_sender), 99)
    app.add_error_handler(errors.on_error)
