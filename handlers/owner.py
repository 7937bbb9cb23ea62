"""The owners' commands in the private chat: /groups (every group by tier), /digest (the
digest now) and /schedule (view and change the digest and report times, and the time zone)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Update

from bot.context import BotContext
from bot.i18n import N_, tr
from bot.scheduler import DEFAULTS, install, timezone_of
from handlers import commands
from handlers.commands import reply, usage
from handlers.digest import (
    LIST_LIMIT,
    Digest,
    build_digest,
    group_lines,
    local_today,
    period_changes,
    queue_digest,
)
from handlers.digest_media import groups_csv
from handlers.private import language_for
from rules.health import Window
from rules.paging import split_message
from rules.schedule import ScheduleError, format_recurrence, parse_recurrence
from storage.models import Alliance, utcnow
from storage.schedule import ScheduleRepository

commands.USAGE.update(
    {
        "digest": N_("Usage: /digest [daily | weekly]"),
        "schedule": N_(
            "Usage: /schedule shows the times. Change one: /schedule daily 09:00 · /schedule weekly mon 09:00 · /schedule report sun 20:00 · /schedule weekly off · /schedule timezone Asia/Shanghai"
        ),
    }
)
WEEKLY_KINDS = ("digest_weekly", "group_report")
SCHEDULE_WORDS = {"daily": "digest_daily", "weekly": "digest_weekly", "report": "group_report"}
SCHEDULE_NAMES = {
    "digest_daily": N_("Daily digest"),
    "digest_weekly": N_("Weekly digest"),
    "group_report": N_("Weekly report in each group"),
}


async def _owner_alliance(update: Update, context: BotContext) -> Alliance | None:
    user = update.effective_user
    lang = language_for(update, context)
    if user is None or not context.services.is_owner(user.id):
        await reply(
            update, context, tr(lang, "Only the owners of our groups can use this command.")
        )
        return None
    if context.uow.chat is not None:
        await reply(update, context, tr(lang, "Send me this command in our private chat."))
        return None
    return await context.uow.session.get(Alliance, min(context.services.owners[user.id]))


async def cmd_groups(update: Update, context: BotContext) -> None:
    alliance = await _owner_alliance(update, context)
    if alliance is None:
        return
    lang = alliance.language
    today = local_today(alliance, utcnow())
    rules = context.services.settings.tier_rules
    window = Window.ending(today, 7)
    changes, chats = await period_changes(context.uow.session, alliance, window, rules)
    if not changes:
        await reply(update, context, tr(lang, "I am not in any of your groups yet."))
        return
    lines = [tr(lang, "<b>Your groups, last 7 days</b>"), *group_lines(lang, changes, chats, rules)]
    chat_id = update.effective_chat.id if update.effective_chat else alliance.owner_ids[0]
    table = groups_csv(changes, chats, rules) if len(changes) > LIST_LIMIT else None
    listing = Digest(lines[0], split_message("\n".join(lines)), csv=table)
    await queue_digest(context.uow.session, [chat_id], listing)


async def cmd_digest(update: Update, context: BotContext) -> None:
    alliance = await _owner_alliance(update, context)
    if alliance is None or update.effective_chat is None:
        return
    words = [a.lower() for a in context.args or []]
    if words and words[0] not in ("daily", "weekly", "day", "week", "日报", "周报"):
        await usage(update, context, "digest")
        return
    period = "day" if words and words[0] in ("daily", "day", "日报") else "week"
    session = context.uow.session
    digest = await build_digest(
        session,
        alliance,
        period=period,
        today=local_today(alliance, utcnow()),
        include_today=period == "week",  # a day so far is no day: the daily one is yesterday
        rules=context.services.settings.tier_rules,
    )
    await queue_digest(session, [update.effective_chat.id], digest)


async def cmd_schedule(update: Update, context: BotContext) -> None:
    alliance = await _owner_alliance(update, context)
    if alliance is None:
        return
    lang = alliance.language
    session = context.uow.session
    repo = ScheduleRepository(session)
    args = context.args or []
    if args:
        word = args[0].lower()
        rest = " ".join(args[1:]).strip()
        if word in ("timezone", "tz", "时区"):
            try:
                ZoneInfo(rest)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder
                await usage(
                    update,
                    context,
                    "schedule",
                    tr(
                        lang,
                        "Unknown time zone “{zone}”. Use a name like Asia/Shanghai.",
                        zone=rest,
                    ),
                )
                return
            alliance.timezone = rest
            if alliance.id == context.services.alliance_id:
                context.services.activity.tz = ZoneInfo(rest)
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
                        text=rest,
                    )
                    await usage(update, context, "schedule", problem)
                    return
                if kind in WEEKLY_KINDS and recurrence.is_daily:
                    problem = tr(
                        lang,
                        "A weekly schedule needs its day, e.g. “mon 09:00” or “每周一 09:00”.",
                    )
                    await usage(update, context, "schedule", problem)
                    return
                row.recurrence = format_recurrence(recurrence)
                row.paused = False
        else:
            await usage(update, context, "schedule")
            return
        await session.flush()
        for row in await repo.list_for(alliance.id):
            install(context.services, row, timezone_of(row, alliance))
    lines = [tr(lang, "Schedules (time zone {zone}):", zone=alliance.timezone)]
    for row in await repo.list_for(alliance.id):
        if row.kind in SCHEDULE_NAMES:
            when = tr(lang, "off") if row.paused else row.recurrence
            lines.append(f"• {tr(lang, SCHEDULE_NAMES[row.kind])}: {when}")
    lines.append(commands.usage_text(lang, "schedule"))
    await reply(update, context, "\n".join(lines))
