"""The group's rules and welcome: /rules for everyone; /setrules, /setwelcome and /shadow for
admins; the rules in a private chat through the welcome's button (/start rules_<chat id>)."""

from __future__ import annotations

from telegram import Update

from handlers import shadow
from handlers.commands import (
    actor_of,
    admin_command,
    language,
    reply,
    usage,
    usage_text,
)
from handlers.context import BotContext
from rules.limits import echo
from rules.welcome import MAX_TEMPLATE, TemplateError, check_template
from services import notices
from services.apply import audit
from services.i18n import normalise_language, tr
from services.shadow import set_shadow
from services.texts import rules_text
from services.welcome import welcome_message
from storage.groups import ChatRepository
from storage.policy import GroupPolicy

MAX_RULES = 3500


def _command_body(update: Update) -> str:
    """Everything after the command word, line breaks kept."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def cmd_rules(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    if chat is None:
        return
    lang = language(context)
    text = tr(lang, "Rules of “{title}”:\n{rules}", title=chat.title, rules=rules_text(chat, lang))
    await reply(update, context, text)


@admin_command("setrules")
async def cmd_setrules(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    message = update.effective_message
    assert chat is not None
    assert message is not None
    body = _command_body(update)
    if not body and message.reply_to_message is not None:
        body = (message.reply_to_message.text or "").strip()
    if not body:
        await usage(update, context, "setrules")
        return
    lang = language(context)
    if len(body) > MAX_RULES:
        too_long = tr(
            lang,
            "The rules are too long ({length} characters; at most {limit}).",
            length=len(body),
            limit=MAX_RULES,
        )
        await reply(update, context, too_long)
        return
    (await context.uow.chat_for_update()).rules_text = body
    audit(context.uow, "set_rules", chat_id=chat.id, actor=actor_of(update), target=None)
    saved = tr(lang, "Rules saved. Members will see them like this:\n\n{rules}", rules=body)
    await reply(update, context, saved)


def _preview(context: BotContext, update: Update, policy: GroupPolicy) -> str:
    chat = context.uow.chat
    assert chat is not None
    user = update.effective_user
    sample = [user.full_name if user is not None else "Alice"]
    message = welcome_message(language(context), chat, policy, sample, context.bot.username)
    return message.text


@admin_command("setwelcome")
async def cmd_setwelcome(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None
    lang = language(context)
    body = _command_body(update)
    policy = GroupPolicy.load(chat.policy)
    if not body:
        current = tr(
            lang,
            "Current welcome, as a newcomer sees it:\n\n{preview}",
            preview=_preview(context, update, policy),
        )
        await reply(update, context, current + "\n\n" + usage_text(lang, "setwelcome"))
        return
    try:
        check_template(body)
    except TemplateError as exc:
        problem = tr(
            lang, "That template cannot be used: {error}", error=template_problem(lang, exc)
        )
        await usage(update, context, "setwelcome", problem)
        return
    row = await context.uow.chat_for_update()
    row.welcome_template = body
    context.uow.chat = row
    audit(context.uow, "set_welcome", chat_id=chat.id, actor=actor_of(update), target=None)
    preview = _preview(context, update, policy)
    await reply(update, context, tr(lang, "Welcome saved. Preview:\n\n{preview}", preview=preview))


@admin_command("shadow")
async def cmd_shadow(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None
    args = [a.lower() for a in (context.args or [])]
    if args == ["report"]:
        await shadow.cmd_report(update, context)
        return
    if args not in (["on"], ["off"]):
        await usage(update, context, "shadow")
        return
    lang = language(context)
    on = args == ["on"]
    await set_shadow(context.uow, await context.uow.chat_for_update(), on, actor_of(update))
    if on:
        text = tr(
            lang, "Shadow mode is on: I decide and log, but delete, warn and ban nothing here."
        )
    else:
        text = tr(lang, "Shadow mode is off: I act on what I find.")
    await reply(update, context, text)


def template_problem(lang: str, error: TemplateError) -> str:
    texts = {
        "too_long": tr(
            lang,
            "it is {length} characters long; at most {limit}",
            length=error.detail,
            limit=MAX_TEMPLATE,
        ),
        "unclosed": tr(lang, "a “{” is never closed (write {{ for a brace)"),
        "lone_close": tr(lang, "a “}” has no “{” (write }} for a brace)"),
        "unknown": tr(
            lang,
            "{found} is not a placeholder; use only {{name}} {{title}} {{rules}} {{count}}",
            found=echo(error.detail),
        ),
    }
    return texts.get(error.problem, error.problem)


async def rules_in_private(update: Update, context: BotContext, chat_id: int) -> None:
    """/start rules_<chat id>: the rules of that group, in the private chat."""
    uow, rt = context.uow, context.runtime
    row = await ChatRepository(uow.session).get(chat_id)
    private = update.effective_chat
    if private is None:
        return
    user = update.effective_user
    lang = row.language if row is not None and row.language else rt.options.default_language
    if user is not None and user.language_code:
        lang = normalise_language(user.language_code, lang)
    if row is None or row.status != "active":
        await notices.reply(uow, private.id, tr(lang, "I do not know that group."))
        return
    text = tr(lang, "Rules of “{title}”:\n{rules}", title=row.title, rules=rules_text(row, lang))
    await notices.reply(uow, private.id, text)
