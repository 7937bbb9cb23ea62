"""The owners' digest and the groups' weekly report: figures from storage, judgement from rules,
text for a phone, a chart, and a CSV when the groups are many.

One function builds each (`build_digest`, `render_group_report`); the scheduled jobs and the
/digest, /groups and /stats commands all use them, so what an owner reads on demand is what the
schedule sends.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from rules.actions import Keyboard, SendDocument, SendMessage, SendPhoto
from rules.health import (
    DEFAULT_RULES,
    Advice,
    Change,
    GroupMetrics,
    Tier,
    TierRules,
    Window,
    attention_order,
    compare,
    compute,
    needs_attention,
    size_advice,
    tier_counts,
)
from rules.limits import CAPTION_LIMIT, TEXT_LIMIT, fit
from rules.paging import split_message
from rules.roles import Role
from services.alerts import percent, tier_name
from services.charts import GroupPoint, TrendPoint
from services.digest_media import groups_csv, render_chart
from services.i18n import N_, tr, tr_n
from services.shadow import digest_part
from services.uow import UnitOfWork
from storage.health import Bounds, ChatRow, HealthRepository
from storage.inbox import InboxRepository
from storage.models import Alliance, utcnow
from storage.people import PeopleRepository, Person

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
TIER_MARK = {Tier.HIGH: "🟢", Tier.GENERAL: "🟡", Tier.INACTIVE: "🔴"}
LIST_LIMIT = 30  # more groups than this: the text lists those needing attention, the CSV all


@dataclass
class Digest:
    title: str  # plain text, also the chart's caption
    texts: list[str]
    chart: bytes | None = None
    csv: bytes | None = None
    changes: list[Change] = field(default_factory=list)
    # while groups are in shadow mode: a message each with its would-be actions and buttons
    shadow: list[tuple[str, Keyboard]] = field(default_factory=list)


async def period_changes(
    session: AsyncSession, alliance: Alliance, window: Window, rules: TierRules = DEFAULT_RULES
) -> tuple[list[Change], dict[int, ChatRow]]:
    """Every group's metrics for the window against the window before, in attention order."""
    tz = ZoneInfo(alliance.timezone)
    repo = HealthRepository(session)
    now = [compute(c, window, rules) for c in await repo.group_counts(alliance.id, window, tz)]
    previous = window.previous()
    chats = {c.id: c for c in await repo.chats(alliance.id)}
    # a group has a previous period when the bot served it through the whole of it
    served_from = Bounds.of(previous, tz).start
    before = {
        c.chat_id: compute(c, previous, rules)
        for c in await repo.group_counts(alliance.id, previous, tz)
        if c.chat_id in chats and chats[c.chat_id].since <= served_from
    }
    return attention_order(compare(now, before), rules), chats


async def build_digest(
    session: AsyncSession,
    alliance: Alliance,
    *,
    period: str,
    today: date,
    include_today: bool = False,
    chart: bool = True,
    keep: bool = False,
    rules: TierRules = DEFAULT_RULES,
) -> Digest:
    """The digest of the `period` ("day" or "week") ending yesterday, or today when asked now."""
    lang = alliance.language
    tz = ZoneInfo(alliance.timezone)
    end = today if include_today else date.fromordinal(today.toordinal() - 1)
    window = Window.ending(end, PERIOD_DAYS[period])
    repo = HealthRepository(session)
    changes, chats = await period_changes(session, alliance, window, rules)
    title = tr(lang, "📊 Daily digest {day}", day=window.end.isoformat())
    if period != "day":
        title = tr(
            lang,
            "📊 Weekly digest {start} – {end}",
            start=window.start.isoformat(),
            end=window.end.isoformat(),
        )
    lines = [f"<b>{html.escape(title)}</b>", *_overview(lang, changes), ""]
    lines += group_lines(lang, changes, chats, rules)
    people = PeopleRepository(session)
    departed = await people.departed(alliance.id, tz, window, [Role.CORE, Role.INFLUENCER])
    if departed:
        lines += ["", "<b>" + tr(lang, "Core members and influencers who left") + "</b>"]
        for person in departed[:LIST_LIMIT]:
            where = chats[person.chat_id].title if person.chat_id in chats else person.chat_id
            lines.append(f"• {html.escape(person.name)} — {html.escape(str(where))}")
        if len(departed) > LIST_LIMIT:
            lines.append(tr(lang, "… and {count} more.", count=len(departed) - LIST_LIMIT))
    lines += ["", *_newcomers(lang, changes)]
    moderation = await repo.moderation(alliance.id, tz, window)
    lines.append(
        tr_n(
            lang,
            moderation.ads_removed,
            N_("🛡 {ads} ad removed, "),
            N_("🛡 {ads} ads removed, "),
            ads=moderation.ads_removed,
        )
        + tr_n(
            lang,
            moderation.blacklisted,
            N_("{accounts} account blacklisted."),
            N_("{accounts} accounts blacklisted."),
            accounts=moderation.blacklisted,
        )
    )
    set_aside = await InboxRepository(session).quarantined(
        since=Bounds.of(window, tz).start, chat_ids=list(chats)
    )
    if set_aside:
        lines.append(
            tr(
                lang,
                "⚠️ {count} updates could not be handled and were set aside; the log has each one.",
                count=set_aside,
            )
        )
    shadow = (
        await digest_part(session, alliance.id, lang, tz, now=utcnow()) if period == "day" else None
    )
    if shadow is not None:
        lines += ["", *shadow.lines]
    lines += _inviter_lines(lang, await people.top_inviters(alliance.id, tz, window))
    lines += [
        "",
        "<i>"
        + tr(
            lang,
            "Members are known from the day I joined each group: Telegram does not let bots list members.",
        )
        + "</i>",
    ]
    digest = Digest(title, split_message("\n".join(lines)), changes=changes)
    if shadow is not None:
        digest.shadow = shadow.messages
    if chart:
        trend_window = Window.ending(window.end, max(window.days, 14))
        trend = await repo.trend(alliance.id, trend_window)
        digest.chart = await asyncio.to_thread(
            render_chart,
            lang,
            title,
            [TrendPoint(t.day, t.messages, t.active_members) for t in trend],
            [GroupPoint(c.now.active_ratio, c.now.tier.value) for c in changes],
            rules,
        )
    if len(changes) > LIST_LIMIT:
        digest.csv = groups_csv(changes, chats, rules, lang)
    if keep:  # the scheduled digests write the tier history; asking now does not
        await repo.keep_periods(period, window.start, [c.now for c in changes])
    return digest


def _inviter_lines(lang: str, inviters: Sequence[Person]) -> list[str]:
    if not inviters:
        return []
    lines = ["", "<b>" + tr(lang, "Top inviters") + "</b>"]
    for person in inviters:
        line = tr(
            lang, "• {name}: {count} invited", name=html.escape(person.name), count=person.count
        )
        if person.extra:
            line += " " + tr(lang, "({count} blacklisted)", count=person.extra)
        lines.append(line)
    return lines


def _overview(lang: str, changes: list[Change]) -> list[str]:
    counts = tier_counts(c.now for c in changes)
    before = tier_counts(c.before for c in changes if c.before is not None)
    has_before = any(c.before is not None for c in changes)
    parts = []
    for tier in Tier:
        delta = f" ({counts[tier] - before[tier]:+d})" if has_before else ""
        parts.append(f"{TIER_MARK[tier]} {tier_name(lang, tier)} {counts[tier]}{delta}")
    members = sum(c.now.members for c in changes)
    active = sum(c.now.active_members for c in changes)
    leaves = sum(c.now.leaves for c in changes)
    return [
        tr_n(lang, len(changes), N_("{count} group: "), N_("{count} groups: "), count=len(changes))
        + " · ".join(parts),
        tr(
            lang,
            "{members} members, {active} active ({ratio}), {leaves} left.",
            members=members,
            active=active,
            ratio=percent(active / members if members else 0.0),
            leaves=leaves,
        ),
    ]


def per_day(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def group_line(lang: str, change: Change, title: str, rules: TierRules = DEFAULT_RULES) -> str:
    m = change.now
    delta = change.ratio_delta
    trend = (
        ""
        if delta is None
        else f" ({'↑' if delta > 0 else '↓' if delta < 0 else '→'}{abs(delta) * 100:.0f})"
    )
    line = tr(
        lang,
        "{mark} <b>{title}</b> {ratio}{trend} active · {members} members · exits {exits} · {per_day} msgs/day",
        mark=TIER_MARK[m.tier],
        title=html.escape(title),
        ratio=percent(m.active_ratio),
        trend=trend,
        members=m.members,
        exits=percent(m.exit_rate),
        per_day=per_day(m.messages_per_day),
    )
    notes = []
    if m.flagged:
        notes.append(tr(lang, "under {share} active", share=percent(rules.critical)))
    if change.exit_jumped(rules):
        notes.append(tr(lang, "exits jumped"))
    if change.tier_dropped and change.before is not None:
        notes.append(tr(lang, "was {tier}", tier=tier_name(lang, change.before.tier)))
    before = change.before.active_ratio if change.before else None
    advice = size_advice(m.members, m.active_ratio, before, rules)
    if advice is Advice.SPLIT:
        notes.append(tr(lang, "past {size} members: consider splitting", size=rules.split_size))
    elif advice is Advice.WATCH_SIZE:
        notes.append(
            tr(lang, "past {size} members and cooling: consider splitting", size=rules.split_watch)
        )
    if notes:
        line += "\n   ⚠️ " + "; ".join(notes)
    return line


def group_lines(
    lang: str, changes: list[Change], chats: dict[int, ChatRow], rules: TierRules
) -> list[str]:
    def title(change: Change) -> str:
        chat = chats.get(change.now.chat_id)
        return chat.title if chat is not None and chat.title else str(change.now.chat_id)

    urgent = [c for c in changes if needs_attention(c, rules)]
    rest = [c for c in changes if not needs_attention(c, rules)]
    lines: list[str] = []
    room = LIST_LIMIT
    for heading, group in (
        (tr(lang, "Needs attention"), urgent),
        (tr(lang, "Groups by tier"), rest),
    ):
        if not group:
            continue
        shown = group[: max(room, 0)] if len(changes) > LIST_LIMIT else group
        room -= len(shown)
        lines.append(f"<b>{heading}</b>")
        lines += [group_line(lang, c, title(c), rules) for c in shown]
        if len(shown) < len(group):
            count = len(group) - len(shown)
            lines.append(tr(lang, "… and {count} more in the attached table.", count=count))
        lines.append("")
    return lines[:-1] if lines else lines


def _newcomers(lang: str, changes: list[Change]) -> list[str]:
    joins = sum(c.now.joins for c in changes)
    retained = [c.now.retention for c in changes if c.now.retention is not None]
    text = tr(lang, "👋 {joins} joined.", joins=joins)
    if retained:
        text += " " + tr(
            lang,
            "Retention of earlier newcomers (still here after 7 days and spoke): {share}.",
            share=percent(sum(retained) / len(retained)),
        )
    return [text]


async def group_metrics(
    session: AsyncSession,
    alliance_id: int,
    chat_id: int,
    tz: ZoneInfo,
    window: Window,
    rules: TierRules = DEFAULT_RULES,
) -> GroupMetrics | None:
    found = await HealthRepository(session).group_counts(alliance_id, window, tz, chat_id=chat_id)
    return compute(found[0], window, rules) if found else None


def render_group_report(lang: str, title: str, m: GroupMetrics, top: list[Person]) -> str:
    """A group's own week: its numbers, and thanks to its top contributors."""
    lines = [
        "<b>" + tr(lang, "📈 This week in {group}", group=html.escape(title)) + "</b>",
        tr(
            lang,
            "{active} members spoke ({ratio} of {members}), {messages} messages, {joins} joined.",
            active=m.active_members,
            ratio=percent(m.active_ratio),
            members=m.members,
            messages=m.messages,
            joins=m.joins,
        ),
    ]
    if top:
        lines += ["", tr(lang, "Thank you to this week's most active members:")]
        medals = ["🥇", "🥈", "🥉", "4.", "5."]
        lines += [
            tr(
                lang,
                "{rank} {name}: {count} messages",
                rank=medals[i],
                name=html.escape(p.name),
                count=p.count,
            )
            for i, p in enumerate(top[: len(medals)])
        ]
    return "\n".join(lines)


def local_today(alliance: Alliance, now: datetime) -> date:
    return now.astimezone(ZoneInfo(alliance.timezone)).date()


async def queue_digest(uow: UnitOfWork, chat_ids: Sequence[int], digest: Digest) -> None:
    """The digest to each private chat: its text (split), the chart, the table of all groups."""
    for chat_id in chat_ids:
        for text in digest.texts:
            await uow.send(SendMessage(chat_id=chat_id, text=text, parse_mode="HTML"))
        if digest.chart is not None:
            chart = SendPhoto(
                chat_id=chat_id,
                photo=digest.chart,
                filename="digest.png",
                caption=fit(digest.title, CAPTION_LIMIT),
            )
            await uow.send(chart)
        if digest.csv is not None:
            table = SendDocument(chat_id=chat_id, document=digest.csv, filename="groups.csv")
            await uow.send(table)
        for text, buttons in digest.shadow:
            await uow.send(
                SendMessage(chat_id=chat_id, text=fit(text, TEXT_LIMIT), buttons=buttons)
            )
