"""The owners' commands in the private chat: /groups (every group by tier), /digest (the
digest now) and /schedule (view and change the digest and report times, and the time zone).

Each acts on the caller's own alliances: every one of them, or the one named first (`#2`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Update

from handlers.commands import reply, usage, usage_text
from handlers.context import BotContext
from handlers.private import language_for
from rules.health import Window
from rules.limits import echo, parse_user_id
from rules.paging import split_message
from rules.schedule import ScheduleError, format_recurrence, parse_recurrence
from services.digest import (
    LIST_LIMIT,
    Digest,
    build_digest,
    group_lines,
    local_today,
    period_changes,
    queue_digest,
)
from services.digest_media import groups_csv
from services.i18n import N_, tr
from services.schedules import DEFAULTS
from services.uow import InstallSchedules
from storage.models import Alliance, utcnow
from storage.schedule import ScheduleRepository

WEEKLY_KINDS = ("digest_weekly", "group_report")
SCHEDULE_WORDS = {"daily": "digest_daily", "weekly": "digest_weekly", "report": "group_report"}
SCHEDULE_NAMES = {
    "digest_daily": N_("Daily digest"),
    "digest_weekly": N_("Weekly digest"),
    "group_report": N_("Weekly report in each group"),
}


async def _owner_alliances(update: Update, context: BotContext) -> list[Alliance]:
    """The caller's alliances this command is about (the one named by `#id` first, else all);
    an answer and [] for anyone else, or outside the private chat."""
    user = update.effective_user
    lang = language_for(update, context)
    owned = context.runtime.alliances.owned_by(user.id if user else None)
    if not owned:
        await reply(
            update, context, tr(lang, "Only the owners of our groups can use this command.")
        )
        return []
    if context.uow.chat is not None:
        await reply(update, context, tr(lang, "Send me this command in our private chat."))
        return []
    args = context.args or []
    if args and args[0].startswith("#"):
        chosen = parse_user_id(args[0][1:])
        if chosen not in owned:
            await reply(
                update,
                context,
                tr(
                    lang,
                    "You own no alliance {which}. Yours: {ids}",
                    which=echo(args[0]),
                    ids=", ".join(f"#{a}" for a in sorted(owned)),
                ),
            )
            return []
        context.args = args[1:]
        owned = frozenset({chosen})
    session = context.uow.session
    found = [await session.get(Alliance, a) for a in sorted(owned)]
    return [a for a in found if a is not None]


async def cmd_groups(update: Update, context: BotContext) -> None:
    for alliance in await _owner_alliances(update, context):
        lang = alliance.language
        today = local_today(alliance, utcnow())
        rules = context.runtime.options.tier_rules
        changes, chats = await period_changes(
            context.uow.session, alliance, Window.ending(today, 7), rules
        )
        if not changes:
            await reply(update, context, tr(lang, "I am not in any of your groups yet."))
            continue
        lines = [
            tr(lang, "<b>Your groups, last 7 days</b>"),
            *group_lines(lang, changes, chats, rules),
        ]
        chat_id = update.effective_chat.id if update.effective_chat else alliance.owner_ids[0]
        table = groups_csv(changes, chats, rules, lang) if len(changes) > LIST_LIMIT else None
        listing = Digest(lines[0], split_message("\n".join(lines)), csv=table)
        await queue_digest(context.uow, [chat_id], listing)


async def cmd_digest(update: Update, context: BotContext) -> None:
    alliances = await _owner_alliances(update, context)
    if not alliances or update.effective_chat is None:
        return
    words = [a.lower() for a in context.args or []]
    if len(words) > 1 or (
        words and words[0] not in ("daily", "weekly", "day", "week", "日报", "周报")
    ):
        await usage(update, context, "digest")
        return
    period = "day" if words and words[0] in ("daily", "day", "日报") else "week"
    for alliance in alliances:
        digest = await build_digest(
            context.uow.session,
            alliance,
            period=period,
            today=local_today(alliance, utcnow()),
            include_today=period == "week",  # a day so far is no day: the daily one is yesterday
            rules=context.runtime.options.tier_rules,
        )
        await queue_digest(context.uow, [update.effective_chat.id], digest)


async def cmd_schedule(update: Update, context: BotContext) -> None:
    alliances = await _owner_alliances(update, context)
    if not alliances:
        return
    args = context.args or []
    for alliance in alliances:
        if args and not await _change_schedule(update, context, alliance, args):
            return
    session = context.uow.session
    for alliance in alliances:
        lang = alliance.language
        repo = ScheduleRepository(session)
        heading = tr(lang, "Schedules (time zone {zone}):", zone=alliance.timezone)
        lines = [f"#{alliance.id} {heading}" if len(alliances) > 1 else heading]
        for row in await repo.list_for(alliance.id):
            if row.kind in SCHEDULE_NAMES:
                when = tr(lang, "off") if row.paused else row.recurrence
                lines.append(f"• {tr(lang, SCHEDULE_NAMES[row.kind])}: {when}")
        lines.append(usage_text(lang, "schedule"))
        await reply(update, context, "\n".join(lines))


async def _change_schedule(
    update: Update, context: BotContext, alliance: Alliance, args: list[str]
) -> bool:
    """Apply `/schedule <word> <rest>` to one alliance; False (with the usage said) when the
    words cannot be used."""
    lang = alliance.language
    repo = ScheduleRepository(context.uow.session)
    word, rest = args[0].lower(), " ".join(args[1:]).strip()
    if word in ("timezone", "tz", "时区"):
        try:
            ZoneInfo(rest)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder
            problem = tr(
                lang, "Unknown time zone “{zone}”. Use a name like Asia/Shanghai.", zone=echo(rest)
            )
            await usage(update, context, "schedule", problem)
            return False
        alliance.timezone = rest
    elif word in SCHEDULE_WORDS and rest:
        kind = SCHEDULE_WORDS[word]
        row = await repo.ensure(alliance.id, kind, DEFAULTS[kind][0], paused=DEFAULTS[kind][1])
        if rest.lower() in ("off", "关闭"):
            row.paused = True
        elif rest.lower() in ("on", "开启"):
            row.paused = False
        else:
            try:
                recurrence = parse_recurrence(rest)
            except ScheduleError:
                problem = tr(
                    lang,
                    "I could not read “{text}” as a time. Examples: daily 09:00, mon 09:00, mon-fri 08:30, 每天 09:00, 每周一 09:00.",
                    text=echo(rest),
                )
                await usage(update, context, "schedule", problem)
                return False
            if kind in WEEKLY_KINDS and recurrence.is_daily:
                problem = tr(
                    lang, "A weekly schedule needs its day, e.g. “mon 09:00” or “每周一 09:00”."
                )
                await usage(update, context, "schedule", problem)
                return False
            row.recurrence = format_recurrence(recurrence)
            row.paused = False
    else:
        await usage(update, context, "schedule")
        return False
    await context.uow.session.flush()
    context.uow.after_commit(InstallSchedules(alliance.id))
    return True
