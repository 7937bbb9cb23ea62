"""Scheduled work of an alliance, run in a unit of work: digests, the weekly report inside each
group (off by default) and the daily upkeep (member counts and admin lists from Telegram, roles,
week-on-week alerts, pruning).

A run records the occurrence it served (`last_run_at`) in the same transaction as the messages it
queues, so:
- a run interrupted before its commit is run again after a restart;
- a restart that spans a due time runs the missed occurrence at start (within GRACE);
- the catch-up and the regular job never both send one occurrence.
Times are local to the alliance's time zone. `bot.scheduler` turns the stored schedules into jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from rules.actions import SendMessage
from rules.health import Window, compute, period_alerts
from rules.roles import RoleRules
from rules.schedule import last_due, parse_recurrence
from services.alerts import send_alerts
from services.digest import (
    build_digest,
    local_today,
    period_changes,
    queue_digest,
    render_group_report,
)
from services.runtime import Runtime
from services.telegram import TelegramUnavailable
from services.uow import UnitOfWork
from storage.groups import ChatRepository
from storage.health import HealthRepository
from storage.inbox import InboxRepository
from storage.models import Alliance, Schedule
from storage.people import PeopleRepository
from storage.policy import GroupPolicy
from storage.roles import RoleRepository
from storage.schedule import ScheduleRepository

log = logging.getLogger(__name__)

GRACE = timedelta(hours=12)
ACTIVITY_KEPT = timedelta(days=180)  # daily counters older than this are deleted
INBOX_DONE_KEPT = timedelta(days=1)  # Telegram redelivers an update for a day at most
INBOX_QUARANTINE_KEPT = timedelta(days=30)
MEMBER_COUNT_PACE = 0.05  # seconds between getChatMemberCount calls (20 a second)
# kind -> (default recurrence, paused by default)
DEFAULTS = {
    "digest_daily": ("daily 09:00", False),
    "digest_weekly": ("mon 09:00", False),
    "group_report": ("sun 20:00", True),
    "upkeep": ("daily 04:00", False),
}

Runner = Callable[[UnitOfWork, Runtime, Alliance, Schedule, datetime], Awaitable[None]]


def timezone_of(row: Schedule, alliance: Alliance) -> ZoneInfo:
    return ZoneInfo(row.timezone or alliance.timezone)


async def run_schedule(uow: UnitOfWork, rt: Runtime, schedule_id: int, *, now: datetime) -> bool:
    """Run the occurrence of a schedule due at `now`, unless it already ran. The caller commits."""
    session = uow.session
    row = await ScheduleRepository(session).get(schedule_id)
    alliance = await session.get(Alliance, row.alliance_id) if row is not None else None
    if row is None or alliance is None or row.paused:
        return False
    due = last_due(parse_recurrence(row.recurrence), now, timezone_of(row, alliance))
    if row.last_run_at is not None and row.last_run_at >= due:
        return False
    if row.kind == "upkeep":  # Bot API reads first: no Telegram call inside a transaction
        await refresh_from_telegram(uow, rt, alliance.id, now)
    # the occurrence served sets the day reported: a catch-up after midnight reports the day it
    # was due for
    await RUNNERS[row.kind](uow, rt, alliance, row, due)
    row.last_run_at = due
    log.info("schedule %s (%s) ran for %s", schedule_id, row.kind, due)
    return True


async def _digest(
    period: str, uow: UnitOfWork, rt: Runtime, alliance: Alliance, row: Schedule, now: datetime
) -> None:
    if not await HealthRepository(uow.session).chats(alliance.id):
        return
    digest = await build_digest(
        uow.session,
        alliance,
        period=period,
        today=local_today(alliance, now),
        keep=True,
        rules=rt.options.tier_rules,
    )
    await queue_digest(uow, alliance.owner_ids, digest)


async def _group_report(
    uow: UnitOfWork, rt: Runtime, alliance: Alliance, row: Schedule, now: datetime
) -> None:
    """The week's report inside every group: a few statements for all groups together."""
    session = uow.session
    tz = timezone_of(row, alliance)
    window = Window.ending(local_today(alliance, now), 7)
    rules = rt.options.tier_rules
    repo = HealthRepository(session)
    chats = {c.id: c for c in await ChatRepository(session).list_active(alliance.id)}
    tops = await PeopleRepository(session).top_contributors_by_group(alliance.id, window)
    for counts in await repo.group_counts(alliance.id, window, tz):
        chat = chats.get(counts.chat_id)
        if chat is None or GroupPolicy.load(chat.policy).shadow_mode:
            continue  # a group in shadow mode hears nothing from the bot unasked
        lang = chat.language or alliance.language
        metrics = compute(counts, window, rules)
        text = render_group_report(lang, chat.title, metrics, tops.get(chat.id, []))
        await uow.send(SendMessage(chat_id=chat.id, text=text, parse_mode="HTML"))


async def _upkeep(
    uow: UnitOfWork, rt: Runtime, alliance: Alliance, row: Schedule, now: datetime
) -> None:
    """Daily: roles from behaviour, week-on-week alerts (tier crossed, exits jumped), pruning."""
    session = uow.session
    tz = timezone_of(row, alliance)
    today = local_today(alliance, now)
    changed = await RoleRepository(session).recompute_roles(
        alliance.id, today, tz, now, RoleRules()
    )
    log.info("alliance %s: roles of %s members changed", alliance.id, changed)
    await HealthRepository(session).prune_activity(alliance.id, today - ACTIVITY_KEPT)
    await InboxRepository(session).prune(
        done_before=now - INBOX_DONE_KEPT, quarantined_before=now - INBOX_QUARANTINE_KEPT
    )
    yesterday = today - timedelta(days=1)
    rules = rt.options.tier_rules
    changes, chats = await period_changes(session, alliance, Window.ending(yesterday, 7), rules)
    alerts = [alert for change in changes for alert in period_alerts(change, rules)]
    titles = {chat_id: chat.title for chat_id, chat in chats.items()}
    await send_alerts(uow, alliance, titles, alerts, now=now)


async def refresh_from_telegram(
    uow: UnitOfWork,
    rt: Runtime,
    alliance_id: int,
    now: datetime,
    *,
    only: Sequence[int] | None = None,
) -> int:
    """Telegram's member count and admin list of every active group (or those in `only`): bots
    cannot list members, so the count is the only full one there is, and the admin lists protect
    the alliance's admins everywhere. Reads first, then the writes; returns the counts taken."""
    session = uow.session
    alliance = await session.get(Alliance, alliance_id)
    if alliance is None:
        return 0
    chats = [c.id for c in await ChatRepository(session).list_active(alliance_id)]
    if only is not None:
        chats = [c for c in chats if c in only]
    await uow.end_reads()
    counts: dict[int, int] = {}
    for chat_id in chats:
        try:
            counts[chat_id] = await rt.telegram.member_count(chat_id)
        except TelegramUnavailable as exc:
            log.warning("member count of %s: %s", chat_id, exc)
        await asyncio.sleep(MEMBER_COUNT_PACE if len(chats) > 1 else 0)
    await rt.authority.refresh(uow, chats)  # its reads come before any of this unit's writes
    day = local_today(alliance, now)
    repo = HealthRepository(session)
    for chat_id, count in counts.items():
        await repo.record_member_count(chat_id, day, count)
    return len(counts)


RUNNERS: dict[str, Runner] = {
    "digest_daily": partial(_digest, "day"),
    "digest_weekly": partial(_digest, "week"),
    "group_report": _group_report,
    "upkeep": _upkeep,
}
