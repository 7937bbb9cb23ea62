"""Timed work on python-telegram-bot's JobQueue, and what follows a committed unit of work.

`Scheduler` installs the alliances' stored schedules (digests, group reports, upkeep; run by
`services.schedules`) and the bot's own repeating jobs (owners' blacklist reports, detector refresh,
a word in a group for owners who never started the bot), and is the `bot.units.AfterCommit` of the
running bot: after a unit commits, the executor takes its new calls and the effects it asked for are
carried out (a report soon, the detector retrained, a group's member count taken, an alliance's
schedules reinstalled).

A restart that spans a due time runs the missed occurrence at start (within `GRACE`); a failed run
is tried again after `RETRY`.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from telegram.ext import CallbackContext, JobQueue

from bot.executor import Executor
from bot.units import run_unit
from rules.schedule import missed, parse_recurrence
from services.notices import tell_unreached_owners
from services.reports import send_blacklist_reports
from services.runtime import Runtime
from services.schedules import (
    DEFAULTS,
    GRACE,
    refresh_from_telegram,
    run_schedule,
    timezone_of,
)
from services.uow import InstallSchedules, TakeMemberCount, UnitOfWork, Wake
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Alliance, Chat, Schedule, utcnow
from storage.schedule import ScheduleRepository

log = logging.getLogger(__name__)

RETRY = timedelta(minutes=10)
UNREACHED_EVERY = 30.0  # seconds between looks for owners Telegram would not let the bot reach
# A job that fires late (a busy loop, the job queue starting after the catch-up was queued) still
# runs: APScheduler would drop it after 1 s. run_schedule itself refuses a run already made.
LATE_OK = {"misfire_grace_time": int(GRACE.total_seconds()), "coalesce": True}
Context = CallbackContext[Any, Any, Any, Any]


def job_id(context: Context) -> int:
    """The id a job was started with: a schedule's, an alliance's or a group's."""
    assert context.job is not None
    data = context.job.data
    assert isinstance(data, int)
    return data


def job_name(schedule_id: int) -> str:
    return f"schedule:{schedule_id}"


class Scheduler:
    def __init__(
        self,
        queue: JobQueue[Any],
        rt: Runtime,
        executor: Executor,
        *,
        report_delay: float = 5.0,
        retrain_delay: float = 10.0,
    ) -> None:
        self.queue = queue
        self.rt = rt
        self.executor = executor
        self.report_delay = report_delay
        self.retrain_delay = retrain_delay

    # ---- after a commit ----------------------------------------------------------------
    def __call__(self, uow: UnitOfWork) -> None:
        self.executor.accept(uow.queued)
        for effect in uow.effects:
            match effect:
                case Wake.REPORTS:
                    self._once(self._report, self.report_delay, "blacklist-report-soon")
                case Wake.RETRAIN:
                    self._once(self._refresh, self.retrain_delay, "detector-retrain")
                case TakeMemberCount(chat_id=chat_id):
                    self.queue.run_once(
                        self._member_count,
                        2,
                        data=chat_id,
                        name=f"member-count:{chat_id}",
                        job_kwargs={"misfire_grace_time": 3600},
                    )
                case InstallSchedules(alliance_id=alliance_id):
                    self.queue.run_once(self._reinstall, 0, data=alliance_id)

    def _once(self, callback: Any, delay: float, name: str) -> None:
        if not self.queue.get_jobs_by_name(name):  # debounced: one pending run at a time
            self.queue.run_once(callback, delay, name=name)

    # ---- starting ------------------------------------------------------------------------
    async def start(self, now: datetime) -> int:
        """The repeating jobs, every stored schedule, and the runs a restart skipped; returns
        how many were caught up."""
        self.queue.run_repeating(self._report, interval=60, first=10, name="blacklist-report")
        self.queue.run_repeating(
            self._unreached, interval=UNREACHED_EVERY, first=15, name="unreached-owners"
        )
        self.queue.run_repeating(self._refresh, interval=300, first=300, name="detector-refresh")
        self.queue.run_once(self._list_admins, 5, name="admin-lists")
        caught_up = 0
        async with self.rt.sessions() as session:
            repo = ScheduleRepository(session)
            for alliance_id in self.rt.alliances.ids:
                for kind, (recurrence, paused) in DEFAULTS.items():
                    await repo.ensure(alliance_id, kind, recurrence, paused=paused)
            await session.commit()
            for row in await repo.list_all():
                alliance = await session.get(Alliance, row.alliance_id)
                if alliance is None:
                    continue
                self.install(row, alliance)
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
                    log.info(
                        "schedule %s (%s) missed %s: running it now", row.id, row.kind, skipped
                    )
                    name = f"{job_name(row.id)}:catch-up"
                    self.queue.run_once(
                        self._schedule, 1, data=row.id, name=name, job_kwargs=LATE_OK
                    )
                    caught_up += 1
        return caught_up

    def install(self, row: Schedule, alliance: Alliance) -> None:
        """(Re)install the job of a schedule; a paused one has none."""
        for job in self.queue.get_jobs_by_name(job_name(row.id)):
            job.schedule_removal()
        if row.paused:
            return
        r = parse_recurrence(row.recurrence)
        self.queue.run_daily(
            self._schedule,
            time=time(r.hour, r.minute, tzinfo=timezone_of(row, alliance)),
            days=tuple(sorted((d + 1) % 7 for d in r.weekdays)),  # the queue counts from Sunday
            data=row.id,
            name=job_name(row.id),
            job_kwargs=LATE_OK,
        )

    async def run(self, schedule_id: int, *, now: datetime) -> bool:
        """Run the occurrence of a schedule due at `now`, unless it already ran."""
        return await run_unit(
            self.rt, self, lambda uow: run_schedule(uow, self.rt, schedule_id, now=now)
        )

    # ---- the jobs --------------------------------------------------------------------------
    async def _schedule(self, context: Context) -> None:
        schedule_id = job_id(context)
        try:
            await self.run(schedule_id, now=utcnow())
        except Exception:  # e.g. a lock conflict with a batch: try the occurrence again later
            log.exception("schedule %s failed; retrying in %s", schedule_id, RETRY)
            name = f"{job_name(schedule_id)}:retry"
            self.queue.run_once(
                self._schedule, RETRY, data=schedule_id, name=name, job_kwargs=LATE_OK
            )

    async def _reinstall(self, context: Context) -> None:
        alliance_id = job_id(context)
        async with self.rt.sessions() as session:
            alliance = await session.get(Alliance, alliance_id)
            rows = await ScheduleRepository(session).list_for(alliance_id)
        for row in rows if alliance is not None else []:
            assert alliance is not None
            self.install(row, alliance)

    async def _report(self, context: Context) -> None:
        await run_unit(self.rt, self, send_blacklist_reports)

    async def _unreached(self, context: Context) -> None:
        await self.tell_unreached()

    async def tell_unreached(self) -> int:
        """Tell a group once of each owner Telegram would not let the bot write to (the owner
        never pressed Start); returns how many groups were told."""

        async def work(uow: UnitOfWork) -> int:
            alliances = await AllianceRepository(uow.session).list_all()
            return await tell_unreached_owners(uow, alliances)

        return await run_unit(self.rt, self, work)

    async def _list_admins(self, context: Context) -> None:
        """The admin lists of groups never listed (the bot was added before lists were kept):
        they protect each group's admins in every group of the alliance."""
        for alliance_id in self.rt.alliances.ids:

            async def work(uow: UnitOfWork, alliance_id: int = alliance_id) -> int:
                groups = [c.id for c in await ChatRepository(uow.session).list_active(alliance_id)]
                return await self.rt.authority.refresh(uow, groups, missing_only=True)

            await run_unit(self.rt, self, work)

    async def _refresh(self, context: Context) -> None:
        await self.rt.detector.retrain_if_changed(self.rt.sessions)

    async def _member_count(self, context: Context) -> None:
        """One group's member count and admin list, right after the bot joined it."""
        chat_id = job_id(context)
        entry_alliance = await _alliance_of(self.rt, chat_id)
        if entry_alliance is None:
            return
        await run_unit(
            self.rt,
            self,
            lambda uow: refresh_from_telegram(
                uow, self.rt, entry_alliance, utcnow(), only=[chat_id]
            ),
        )


async def _alliance_of(rt: Runtime, chat_id: int) -> int | None:
    async with rt.sessions() as session:
        chat = await session.get(Chat, chat_id)
        return chat.alliance_id if chat is not None else None
