"""Community health for people: /stats, /whois and /vip in a group (admins); /groups, /digest
and /schedule in the private chat (owners); and reactions counted toward their authors."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Update

from bot.context import BotContext
from bot.i18n import N_, tr
from bot.scheduler import DEFAULTS, install, queue_digest_to, timezone_of
from handlers import commands
from handlers.alerts import percent, tier_name
from handlers.commands import admin_command, reply, usage
from handlers.digest import (
    LIST_LIMIT,
    build_digest,
    group_lines,
    group_metrics,
    groups_csv,
    local_today,
    per_day,
    period_changes,
)
from handlers.private import language_for
from rules.health import Advice, Window, size_advice
from rules.paging import split_message
from rules.roles import Role, RoleRules, display_order, roles, stage
from rules.schedule import ScheduleError, format_recurrence, parse_recurrence
from storage.groups import MemberRepository
from storage.models import Alliance, Chat, utcnow
from storage.people import PeopleRepository
from storage.roles import RoleRepository
from storage.schedule import ScheduleRepository

commands.USAGE.update(
    {
        "whois": N_(
            "Usage: reply to a member's message with /whois, or /whois <user id | @username>"
        ),
        "vip": N_(
            "Usage: reply to a member's message with /vip (or /vip off); /vip alone lists the VIPs"
        ),
        "digest": N_("Usage: /digest [daily | weekly]"),
        "schedule": N_(
            "Usage: /schedule shows the times. Change one: /schedule daily 09:00 · /schedule weekly mon 09:00 · /schedule report sun 20:00 · /schedule weekly off · /schedule timezone Asia/Shanghai"
        ),
    }
)
ROLE_NAMES = {
    Role.OWNER: N_("owner"),
    Role.ADMIN: N_("admin"),
    Role.VIP: N_("VIP"),
    Role.BUTLER: N_("butler"),
    Role.CORE: N_("core member"),
    Role.INFLUENCER: N_("influencer"),
    Role.PARTNER: N_("partner"),
    Role.NEWCOMER: N_("newcomer"),
    Role.LURKER: N_("lurker"),
}
STAGE_NAMES = {
    "joined": N_("just joined"),
    "lurking": N_("lurking"),
    "participating": N_("participating"),
    "left": N_("left"),
}
WEEKLY_KINDS = ("digest_weekly", "group_report")
SCHEDULE_WORDS = {"daily": "digest_daily", "weekly": "digest_weekly", "report": "group_report"}
SCHEDULE_NAMES = {
    "digest_daily": N_("Daily digest"),
    "digest_weekly": N_("Weekly digest"),
    "group_report": N_("Weekly report in each group"),
}


# -- reactions ------------------------------------------------------------------------------------


async def on_reaction(update: Update, context: BotContext) -> None:
    activity = context.services.activity
    if (change := update.message_reaction) is not None:
        added = len(change.new_reaction) - len(change.old_reaction)
        by = change.user.id if change.user is not None else None
        activity.note_reactions(change.chat.id, change.message_id, change.date, added=added, by=by)
    elif (counts := update.message_reaction_count) is not None:
        total = sum(r.total_count for r in counts.reactions)
        activity.note_reactions(counts.chat.id, counts.message_id, counts.date, total=total)


# -- in a group -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Here:
    """Where a group command runs: the group, its alliance, language, time zone and local day."""

    chat: Chat
    alliance: Alliance
    lang: str
    tz: ZoneInfo
    today: date


async def _here(context: BotContext) -> Here:
    chat = context.uow.chat
    assert chat is not None and chat.alliance_id is not None
    alliance = await context.uow.session.get(Alliance, chat.alliance_id)
    assert alliance is not None
    today = local_today(alliance, utcnow())
    return Here(chat, alliance, commands.language(context), ZoneInfo(alliance.timezone), today)


@admin_command("stats")
async def cmd_stats(update: Update, context: BotContext) -> None:
    here = await _here(context)
    chat, alliance, lang, tz, today = here.chat, here.alliance, here.lang, here.tz, here.today
    session = context.uow.session
    rules = context.services.settings.tier_rules
    week = await group_metrics(session, alliance.id, chat.id, tz, Window.ending(today, 7), rules)
    month = await group_metrics(session, alliance.id, chat.id, tz, Window.ending(today, 30), rules)
    if week is None or month is None:
        await reply(update, context, tr(lang, "This group is not active in the alliance."))
        return
    lines = [
        tr(lang, "📊 {group}, last 7 days", group=chat.title),
        tr(
            lang,
            "Active members: {active} of {members} ({ratio}), tier {tier}",
            active=week.active_members,
            members=week.members,
            ratio=percent(week.active_ratio),
            tier=tier_name(lang, week.tier),
        ),
        tr(
            lang,
            "Joined {joins}, left {leaves}, exit rate {exits}",
            joins=week.joins,
            leaves=week.leaves,
            exits=percent(week.exit_rate),
        ),
        tr(lang, "Messages per day: {n}", n=per_day(week.messages_per_day)),
    ]
    if week.top_share is not None:
        lines.append(
            tr(
                lang,
                "The most active tenth wrote {share} of messages",
                share=percent(week.top_share),
            )
        )
    if week.retention is not None:
        lines.append(
            tr(lang, "Newcomers retained after 7 days: {share}", share=percent(week.retention))
        )
    lines.append(
        tr(
            lang,
            "Last 30 days: {ratio} active, {n} messages per day",
            ratio=percent(month.active_ratio),
            n=per_day(month.messages_per_day),
        )
    )
    if week.flagged:
        lines.append(
            "⚠️ "
            + tr(
                lang,
                "Under {share} active: this group is hard to keep alive.",
                share=percent(rules.critical),
            )
        )
    advice = size_advice(week.members, week.active_ratio, month.active_ratio, rules)
    if advice is Advice.SPLIT:
        lines.append(
            "✂️ "
            + tr(lang, "Past {size} members: consider splitting the group.", size=rules.split_size)
        )
    elif advice is Advice.WATCH_SIZE:
        lines.append(
            "✂️ "
            + tr(
                lang,
                "Past {size} members and cooling: consider splitting the group.",
                size=rules.split_watch,
            )
        )
    top = await PeopleRepository(session).top_contributors(
        chat.id, Window.ending(today, 7), limit=3
    )
    if top:
        lines.append(
            tr(lang, "Top contributors:") + " " + ", ".join(f"{p.name} ({p.count})" for p in top)
        )
    lines.append(
        tr(lang, "(Members are known from the day I joined: Telegram does not let bots list them.)")
    )
    await reply(update, context, "\n".join(lines))


@admin_command("whois")
async def cmd_whois(update: Update, context: BotContext) -> None:
    target = await commands.target_or_usage(update, context, "whois", protect=False)
    if target is None:
        return
    here = await _here(context)
    chat, alliance, lang, tz, today = here.chat, here.alliance, here.lang, here.tz, here.today
    session = context.uow.session
    rules = RoleRules()
    activity = await RoleRepository(session).member_activity(
        alliance.id, chat.id, target.user_id, today, tz, rules
    )
    if activity is None:
        await reply(
            update,
            context,
            tr(lang, "I have no record of {name} in this group yet.", name=target.name),
        )
        return
    member = await MemberRepository(session).get(chat.id, target.user_id)
    assert member is not None
    names = [tr(lang, ROLE_NAMES[r]) for r in display_order(roles(activity, today, rules))]
    lines = [
        tr(lang, "👤 {name} ({id})", name=target.name, id=target.user_id),
        tr(lang, "Roles: {roles}", roles=", ".join(names) or "—"),
        tr(lang, "Stage: {stage}", stage=tr(lang, STAGE_NAMES[stage(activity, today, rules)])),
        tr(
            lang,
            "Last 30 days: {messages} messages on {days} days; replies from {repliers} members",
            messages=activity.messages,
            days=activity.days_active,
            repliers=activity.distinct_repliers,
        ),
        tr(lang, "In {n} of our groups", n=activity.groups),
    ]
    if member.joined_at is not None:
        lines.append(
            tr(lang, "Joined {day}", day=member.joined_at.astimezone(tz).date().isoformat())
        )
    else:
        lines.append(
            tr(lang, "First seen {day}", day=member.first_seen.astimezone(tz).date().isoformat())
        )
    if member.invited_by is not None:
        lines.append(tr(lang, "Invited by {id}", id=member.invited_by))
    if member.left_at is not None and not activity.present:
        lines.append(tr(lang, "Left {day}", day=member.left_at.astimezone(tz).date().isoformat()))
    for event in await MemberRepository(session).history(chat.id, target.user_id, limit=5):
        word = tr(lang, "joined") if event.kind == "join" else tr(lang, "left")
        lines.append(f"· {event.at.astimezone(tz):%Y-%m-%d %H:%M} {word}")
    await reply(update, context, "\n".join(lines))


@admin_command("vip")
async def cmd_vip(update: Update, context: BotContext) -> None:
    chat = context.uow.chat
    assert chat is not None
    lang = commands.language(context)
    members = MemberRepository(context.uow.session)
    message = update.effective_message
    args = [a.lower() for a in context.args or []]
    if message is not None and message.reply_to_message is None and not args:
        vips = await members.list_with_role(chat.id, "vip")
        if not vips:
            await reply(
                update,
                context,
                tr(lang, "No VIPs in this group yet. Reply to a member's message with /vip."),
            )
            return
        await reply(
            update, context, tr(lang, "VIPs: {names}", names=", ".join(str(v) for v in vips))
        )
        return
    clear = bool(args) and args[-1] in ("off", "clear", "remove", "取消")
    if clear:
        context.args = (context.args or [])[:-1]
    target = await commands.target_or_usage(update, context, "vip", protect=False)
    if target is None:
        return
    actor = update.effective_user.id if update.effective_user else None
    await members.set_role(
        chat.id, target.user_id, "vip", None if clear else {"by": actor, "at": utcnow().isoformat()}
    )
    text = (
        tr(lang, "{name} is no longer a VIP.", name=target.name)
        if clear
        else tr(lang, "⭐ {name} is now a VIP.", name=target.name)
    )
    await reply(update, context, text)


# -- in private (owners) --------------------------------------------------------------------------


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
    await queue_digest_to(
        context.uow.session, [chat_id], split_message("\n".join(lines)), None, table, ""
    )
    context.uow.queued += 1


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
    caption = html.unescape(
        digest.texts[0].split("\n", 1)[0].replace("<b>", "").replace("</b>", "")
    )
    await queue_digest_to(
        session, [update.effective_chat.id], digest.texts, digest.chart, digest.csv, caption
    )
    context.uow.queued += 1


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
