"""Scheduled work: schedules stored in the database become JobQueue jobs at start.

Each alliance has a daily and a weekly digest, a weekly report inside each group (off by
default) and a daily upkeep (member counts, roles, week-on-week alerts). A run records the
occurrence it served (`last_run_at`) in the same transaction as the messages it queues, so:
- a run interrupted before its commit is run again after a restart;
- a restart that spans a due time runs the missed occurrence at start (within GRACE);
- the catch-up and the regular job never both send one occurrence.
Times are local to the alliance's time zone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import TelegramError
from telegram.ext import CallbackContext

from bot.context import Services
from handlers.alerts import send_alerts
from handlers.digest import (
    build_digest,
    local_today,
    period_changes,
    queue_digest,
    render_group_report,
)
from rules.health import Window, compute, period_alerts
from rules.roles import RoleRules
from rules.schedule import Recurrence, last_due, missed, parse_recurrence
from storage.groups import ChatRepository
from storage.health import HealthRepository
from storage.models import Alliance, Chat, Schedule, utcnow
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.roles import RoleRepository
from storage.schedule import ScheduleRepository

log = logging.getLogger(__name__)

GRACE = timedelta(hours=12)
RETRY = timedelta(minutes=10)
# A job that fires late (a busy loop, the job queue starting after the catch-up was queued) still
# runs: APScheduler would drop it after 1 s. run_schedule itself refuses a run already made.
LATE_OK = {"misfire_grace_time": int(GRACE.total_seconds()), "coalesce": True}
ACTIVITY_KEPT = timedelta(days=180)  # daily counters older than this are deleted
MEMBER_COUNT_PACE = 0.05  # seconds between getChatMemberCount calls (20 a second)
# kind -> (default recurrence, paused by default)
DEFAULTS = {
    "digest_daily": ("daily 09:00", False),
    "digest_weekly": ("mon 09:00", False),
    "group_report": ("sun 20:00", True),
    "upkeep": ("daily 04:00", False),
}

Runner = Callable[[Services, AsyncSession, Alliance, Schedule, datetime], Awaitable[None]]


def job_name(schedule_id: int) -> str:
    return f"schedule:{schedule_id}"


def timezone_of(row: Schedule, alliance: Alliance) -> ZoneInfo:
    return ZoneInfo(row.timezone or alliance.timezone)


async def start_schedules(services: Services, now: datetime) -> int:
    """Create missing default schedules, install every schedule as a job, and queue the runs a
    restart skipped; returns how many were caught up."""
    caught_up = 0
    async with services.sessions() as session:
        repo = ScheduleRepository(session)
        for alliance_id in {a for ids in services.owners.values() for a in ids}:
            for kind, (recurrence, paused) in DEFAULTS.items():
                await repo.ensure(alliance_id, kind, recurrence, paused=paused)
        await session.commit()
        for row in await repo.list_all():
            alliance = await session.get(Alliance, row.alliance_id)
            if alliance is None:
                continue
            install(services, row, timezone_of(row, alliance))
            if row.paused:
                continue
            skipped = missed(
                parse_recurrence(row.recurrence),
                row.last_run_at,
                now,
                timezone_of(row, alliance),
                GRACE,
                row.created_at,
            )
            if skipped is not None:
                log.info("schedule %s (%s) missed %s: running it now", row.id, row.kind, skipped)
                services.jobs.run_once(
                    _job,
                    1,
                    data=row.id,
                    name=f"{job_name(row.id)}:catch-up",
                    job_kwargs=LATE_OK,
                )
                caught_up += 1
    return caught_up


def install(services: Services, row: Schedule, tz: ZoneInfo) -> None:
    """(Re)install the job of a schedule; a paused one has none."""
    for job in services.jobs.get_jobs_by_name(job_name(row.id)):
        job.schedule_removal()
    if row.paused:
        return
    r: Recurrence = parse_recurrence(row.recurrence)
    services.jobs.run_daily(
        _job,
        time=time(r.hour, r.minute, tzinfo=tz),
        days=tuple(sorted((d + 1) % 7 for d in r.weekdays)),  # the job queue counts from Sunday
        data=row.id,
        name=job_name(row.id),
        job_kwargs=LATE_OK,
    )


async def _job(context: CallbackContext[Any, Any, Any, Services]) -> None:
    assert context.job is not None
    services, schedule_id = context.bot_data, int(context.job.data)  # type: ignore[arg-type]
    try:
        await run_schedule(services, schedule_id, now=utcnow())
    except Exception:  # e.g. a lock conflict with a batch: try the occurrence again later
        log.exception("schedule %s failed; retrying in %s", schedule_id, RETRY)
        services.jobs.run_once(
            _job,
            RETRY,
            data=schedule_id,
            name=f"{job_name(schedule_id)}:retry",
            job_kwargs=LATE_OK,
        )


async def run_schedule(services: Services, schedule_id: int, *, now: datetime) -> bool:
    """Run the occurrence of a schedule due at `now`, unless it already ran."""
    async with services.sessions() as session:
        row = await ScheduleRepository(session).get(schedule_id)
        alliance = await session.get(Alliance, row.alliance_id) if row is not None else None
        if row is None or alliance is None or row.paused:
            return False
        due = last_due(parse_recurrence(row.recurrence), now, timezone_of(row, alliance))
        if row.last_run_at is not None and row.last_run_at >= due:
            return False
        kind, alliance_id = row.kind, alliance.id
    if kind == "upkeep":  # Bot API reads first: no Telegram call inside a transaction
        await snapshot_member_counts(services, alliance_id, now)
    async with services.sessions() as session:
        row = await ScheduleRepository(session).get(schedule_id)
        alliance = await session.get(Alliance, alliance_id)
        if row is None or alliance is None or (row.last_run_at and row.last_run_at >= due):
            return False
        # the occurrence served sets the day reported: a catch-up after midnight reports the
        # day it was due for
        await RUNNERS[row.kind](services, session, alliance, row, due)
        row.last_run_at = due
        await session.commit()
    services.executor.wake()
    log.info("schedule %s (%s) ran for %s", schedule_id, kind, due)
    return True


async def _digest(
    period: str,
    services: Services,
    session: AsyncSession,
    alliance: Alliance,
    row: Schedule,
    now: datetime,
) -> None:
    if not await HealthRepository(session).chats(alliance.id):
        return
    digest = await build_digest(
        session,
        alliance,
        period=period,
        today=local_today(alliance, now),
        keep=True,
        rules=services.settings.tier_rules,
    )
    await queue_digest(session, alliance.owner_ids, digest)


async def _group_report(
    services: Services, session: AsyncSession, alliance: Alliance, row: Schedule, now: datetime
) -> None:
    """The week's report inside every group: a few statements for all groups together."""
    tz = timezone_of(row, alliance)
    window = Window.ending(local_today(alliance, now), 7)
    rules = services.settings.tier_rules
    repo = HealthRepository(session)
    chats = {c.id: c for c in await ChatRepository(session).list_active(alliance.id)}
    tops = await PeopleRepository(session).top_contributors_by_group(alliance.id, window)
    outbox = OutboxRepository(session)
    for counts in await repo.group_counts(alliance.id, window, tz):
        chat = chats.get(counts.chat_id)
        if chat is None:
            continue
        lang = chat.language or alliance.language
        metrics = compute(counts, window, rules)
        text = render_group_report(lang, chat.title, metrics, tops.get(chat.id, []))
        await outbox.add("send_message", chat.id, {"text": text, "parse_mode": "HTML"})


async def _upkeep(
    services: Services, session: AsyncSession, alliance: Alliance, row: Schedule, now: datetime
) -> None:
    """Daily: roles from behaviour, and week-on-week alerts (tier crossed, exits jumped)."""
    tz = timezone_of(row, alliance)
    today = local_today(alliance, now)
    changed = await RoleRepository(session).recompute_roles(
        alliance.id, today, tz, now, RoleRules()
    )
    log.info("alliance %s: roles of %s members changed", alliance.id, changed)
    await HealthRepository(session).prune_activity(alliance.id, today - ACTIVITY_KEPT)
    yesterday = today - timedelta(days=1)
    rules = services.settings.tier_rules
    changes, chats = await period_changes(session, alliance, Window.ending(yesterday, 7), rules)
    alerts = [alert for change in changes for alert in period_alerts(change, rules)]
    titles = {chat_id: chat.title for chat_id, chat in chats.items()}
    await send_alerts(session, alliance, titles, alerts, now=now)


async def member_count_job(context: CallbackContext[Any, Any, Any, Services]) -> None:
    """One group's member count, right after the bot joined it."""
    assert context.job is not None
    services, chat_id = context.bot_data, int(context.job.data)  # type: ignore[arg-type]
    async with services.sessions() as session:
        chat = await session.get(Chat, chat_id)
        alliance_id = chat.alliance_id if chat is not None else None
    if alliance_id is not None:
        await snapshot_member_counts(services, alliance_id, utcnow(), only=[chat_id])


async def snapshot_member_counts(
    services: Services, alliance_id: int, now: datetime, *, only: list[int] | None = None
) -> int:
    """Telegram's member count of every active group (or those in `only`), recorded for the
    local day; bots cannot list members, so this is the only full count there is."""
    async with services.sessions() as session:
        alliance = await session.get(Alliance, alliance_id)
        chats = [c.id for c in await ChatRepository(session).list_active(alliance_id)]
    if alliance is None:
        return 0
    if only is not None:
        chats = [c for c in chats if c in only]
    day = local_today(alliance, now)
    recorded = 0
    for chat_id in chats:
        try:
            count = await services.executor.bot.get_chat_member_count(chat_id)
        except TelegramError as exc:
            log.warning("member count of %s: %s", chat_id, exc)
            continue
        async with services.sessions() as session:
            await HealthRepository(session).record_member_count(chat_id, day, count)
            await session.commit()
        recorded += 1
        await asyncio.sleep(MEMBER_COUNT_PACE)
    return recorded


RUNNERS: dict[str, Runner] = {
    "digest_daily": partial(_digest, "day"),
    "digest_weekly": partial(_digest, "week"),
    "group_report": _group_report,
    "upkeep": _upkeep,
}
