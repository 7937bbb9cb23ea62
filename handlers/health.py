"""Community health in a group: /stats, /whois and /vip (admins), and reactions counted toward
their authors. The owners' commands in private are in handlers.owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from telegram import Update

from handlers import commands
from handlers.commands import admin_command, reply
from handlers.context import BotContext
from rules.health import Advice, Window, size_advice
from rules.roles import Role, RoleRules, display_order, roles, stage
from services.alerts import percent, tier_name
from services.digest import (
    group_metrics,
    local_today,
    per_day,
)
from services.i18n import N_, tr
from storage.groups import MemberRepository, UserRepository
from storage.models import Alliance, Chat, utcnow
from storage.moderation import BlacklistRepository
from storage.people import PeopleRepository
from storage.roles import RoleRepository

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
# -- reactions ------------------------------------------------------------------------------------


async def on_reaction(update: Update, context: BotContext) -> None:
    uow, rt = context.uow, context.runtime
    if uow.chat is None:
        return
    entry = await rt.state.entry(uow, uow.chat.id)
    if entry is None:
        return
    activity, tz = rt.activity, entry.tz
    if (change := update.message_reaction) is not None:
        added = len(change.new_reaction) - len(change.old_reaction)
        by = change.user.id if change.user is not None else None
        activity.note_reactions(
            change.chat.id, change.message_id, change.date, tz=tz, added=added, by=by
        )
    elif (counts := update.message_reaction_count) is not None:
        total = sum(r.total_count for r in counts.reactions)
        activity.note_reactions(counts.chat.id, counts.message_id, counts.date, tz=tz, total=total)


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
    assert chat is not None
    assert chat.alliance_id is not None
    alliance = await context.uow.session.get(Alliance, chat.alliance_id)
    assert alliance is not None
    today = local_today(alliance, utcnow())
    return Here(chat, alliance, commands.language(context), ZoneInfo(alliance.timezone), today)


@admin_command("stats")
async def cmd_stats(update: Update, context: BotContext) -> None:
    here = await _here(context)
    chat, alliance, lang, tz, today = here.chat, here.alliance, here.lang, here.tz, here.today
    session = context.uow.session
    rules = context.runtime.options.tier_rules
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
    barred = await _blacklist_line(context, alliance, target.user_id, lang, tz)
    if activity is None:
        none = tr(lang, "I have no record of {name} in this group yet.", name=target.name)
        await reply(update, context, "\n".join(line for line in (none, barred) if line))
        return
    member = await MemberRepository(session).get(chat.id, target.user_id)
    assert member is not None
    names = [tr(lang, ROLE_NAMES[r]) for r in display_order(roles(activity, today, rules))]
    lines = [
        f"👤 {target.name}",
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
        inviter = (await UserRepository(session).people([member.invited_by]))[member.invited_by]
        lines.append(tr(lang, "Invited by {name}", name=inviter.render()))
    if member.left_at is not None and not activity.present:
        lines.append(tr(lang, "Left {day}", day=member.left_at.astimezone(tz).date().isoformat()))
    for event in await MemberRepository(session).history(chat.id, target.user_id, limit=5):
        word = tr(lang, "joined") if event.kind == "join" else tr(lang, "left")
        lines.append(f"· {event.at.astimezone(tz):%Y-%m-%d %H:%M} {word}")
    if barred:
        lines.append(barred)
    await reply(update, context, "\n".join(lines))


async def _blacklist_line(
    context: BotContext, alliance: Alliance, user_id: int, lang: str, tz: ZoneInfo
) -> str | None:
    """What /whois says of an account on the alliance's blacklist: since when, why and by whom."""
    session = context.uow.session
    entry = await BlacklistRepository(session).get_active(alliance.id, user_id)
    if entry is None:
        return None
    if entry.added_by is not None:
        who = (await UserRepository(session).people([entry.added_by]))[entry.added_by].render()
    elif entry.added_as == "import":
        who = tr(lang, "an imported list")
    else:
        who = tr(lang, "the bot, automatically")
    return tr(
        lang,
        "⛔ Blacklisted in all our groups since {day} by {who}: {reason}",
        day=entry.created_at.astimezone(tz).date().isoformat(),
        who=who,
        reason=entry.reason or "—",
    )


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
        people = await UserRepository(context.uow.session).people(vips)
        if not vips:
            await reply(
                update,
                context,
                tr(lang, "No VIPs in this group yet. Reply to a member's message with /vip."),
            )
            return
        await reply(
            update,
            context,
            tr(lang, "VIPs: {names}", names=", ".join(p.render() for p in people.values())),
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
