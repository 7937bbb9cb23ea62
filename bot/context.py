"""What handlers get besides the update: the deployment's services and the update's unit of work.

- `Services` is the typed `bot_data` (python-telegram-bot builds one per Application); it is filled
  in `post_init` and holds the settings, the session factory and the executor.
- `UnitOfWork` is one database transaction per update, set up by `UpdateProcessor` before any
  handler runs and committed after the last one: the processed-update mark, the decision and its
  queued actions land together or not at all. Its session is opened on first use, so an update
  answered from the caches (`bot.state`) that decides nothing costs no database round trip.
- `UpdateProcessor` runs updates of different chats concurrently and updates of one chat in order.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from telegram import Update
from telegram.ext import BaseUpdateProcessor, CallbackContext, ExtBot, JobQueue

from bot.activity import ActivityBuffer
from bot.caches import AdminCache
from bot.detector import Detector
from bot.executor import Executor
from bot.settings import Settings
from bot.state import StateCache
from storage.db import SessionFactory, has_written, written
from storage.groups import ProcessedUpdateRepository
from storage.models import Alliance, Chat, utcnow
from storage.outbox import OutboxRepository

log = logging.getLogger(__name__)


class Services:
    """The deployment's long-lived resources; built empty by PTB, filled in post_init."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    executor: Executor
    alliance_id: int
    # user id -> alliance ids they own; refreshed when alliances change
    owners: dict[int, set[int]]
    # user id -> (username, first name, last name) last written, to skip unchanged upserts
    seen_users: dict[int, tuple[str | None, str, str | None]]
    admin_cache: AdminCache
    activity: ActivityBuffer
    state: StateCache

    detector: Detector
    jobs: JobQueue[Any]
    report_delay: float = 5.0
    retrain_delay: float = 10.0

    def is_owner(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.owners

    def wake_reports(self) -> None:
        """Report new blacklist entries to the owners soon, in one batch."""
        from bot.reports import report_job

        if not self.jobs.get_jobs_by_name("blacklist-report-soon"):
            self.jobs.run_once(report_job, self.report_delay, name="blacklist-report-soon")

    def schedule_retrain(self) -> None:
        """Retrain the detector soon from the labeled messages (debounced)."""
        if not self.jobs.get_jobs_by_name("detector-retrain"):
            self.jobs.run_once(refresh_detector_job, self.retrain_delay, name="detector-retrain")


class UnitOfWork:
    """The current update's transaction and what handlers learned along the way.

    The session is opened on first use: an update that the caches answer (most group messages)
    opens none, and costs no connection, BEGIN or ROLLBACK.
    """

    __slots__ = ("_sessions", "_session", "chat", "alliance", "failed")

    def __init__(
        self, sessions: SessionFactory | None = None, *, session: AsyncSession | None = None
    ) -> None:
        self._sessions = sessions
        self._session = session
        self.chat: Chat | None = None
        self.alliance: Alliance | None = None
        self.failed = False

    @property
    def session(self) -> AsyncSession:
        session = self._session
        if session is None:
            if self._sessions is None:
                raise RuntimeError("this unit of work has no session factory")
            session = self._session = self._sessions()
        return session

    @property
    def opened(self) -> AsyncSession | None:
        """The session if one was opened, without opening one."""
        return self._session

    async def chat_for_update(self) -> Chat:
        """The update's chat, loaded into this transaction so that changes to it are saved."""
        if self.chat is None:
            raise RuntimeError("no chat in this update")
        row = await self.session.get(Chat, self.chat.id)
        if row is None:
            raise RuntimeError(f"chat {self.chat.id} vanished")
        return row

    async def end_reads(self) -> None:
        """Close the read transaction before a Bot API call (no call is made inside one).

        Only valid before the first write of the update; loaded rows stay usable.
        """
        session = self._session
        if session is None:
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("end_reads after a write: make Bot API calls before writing")
        await session.commit()

    async def queue(self, kind: str, chat_id: int, payload: dict[str, Any], **kw: Any) -> None:
        """Queue a Bot API call to be made once this update's transaction commits."""
        await OutboxRepository(self.session).add(kind, chat_id, payload, **kw)


async def refresh_detector_job(context: CallbackContext[Any, Any, Any, Services]) -> None:
    """Retrain the detector when labeled messages were added (by admins or the command line)."""
    services = context.bot_data
    await services.detector.retrain_if_changed(services.sessions)


async def prune_processed_job(context: CallbackContext[Any, Any, Any, Services]) -> None:
    """Forget processed update ids older than a day (Telegram redelivers for a day at most)."""
    services = context.bot_data
    async with services.sessions() as session:
        await ProcessedUpdateRepository(session).prune(older_than=timedelta(days=1), now=utcnow())
        await session.commit()


_current: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


def current_uow_or_none() -> UnitOfWork | None:
    """The unit of work of the update being processed, if any (error handlers run outside one)."""
    return _current.get()


def current_uow() -> UnitOfWork:
    uow = _current.get()
    if uow is None:
        raise RuntimeError("no unit of work: called outside update processing")
    return uow


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """The handler context: typed services and the update's unit of work."""

    @property
    def services(self) -> Services:
        return self.bot_data

    @property
    def uow(self) -> UnitOfWork:
        return current_uow()


# Processors that froze the start-up heap and have not shut down yet (`_freeze`).
_frozen_by = 0


def _freeze() -> None:
    """Keep what start-up built (modules, ORM mappers, the trained model, the Application) out of
    the garbage collector's scans, once the first update arrives and start-up is over.

    Those objects live as long as the process, yet every full collection walked all of them
    (hundreds of thousands: a pause of 100 ms and more, paid by whichever update triggered it).
    Objects made afterwards are collected as before; `_thaw` hands the frozen ones back when
    the last processor shuts down (tests start and stop many Applications in one process).
    """
    global _frozen_by
    if not _frozen_by:
        gc.collect(1)  # start-up's short-lived garbage, not frozen with the rest (young: cheap)
        gc.freeze()
    _frozen_by += 1


def _thaw() -> None:
    global _frozen_by
    _frozen_by -= 1
    if not _frozen_by:
        gc.unfreeze()


class _ChatTurn:
    """Updates of one chat waiting for their turn, in arrival order."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class UpdateProcessor(BaseUpdateProcessor):
    """One transaction per update that writes; concurrent across chats, ordered within a chat."""

    services: Services  # attached right after the Application is built

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: dict[int, _ChatTurn] = {}
        self._froze = False

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        if self._froze:
            self._froze = False
            _thaw()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not self._froze:
            self._froze = True
            _freeze()
        if not isinstance(update, Update):
            await coroutine
            return
        chat = update.effective_chat
        if chat is None:
            await self._process(update, coroutine)
            return
        chat_id = chat.id
        turn = self._turns.get(chat_id)
        if turn is None:
            turn = self._turns[chat_id] = _ChatTurn()
        turn.users += 1
        try:
            async with turn.lock:
                await self._process(update, coroutine)
        finally:
            turn.users -= 1
            if not turn.users:
                del self._turns[chat_id]

    async def _process(self, update: Update, coroutine: Awaitable[Any]) -> None:
        """Run the handlers in a unit of work; commit only when they wrote something.

        An update that wrote nothing (most chat messages: counted in memory by `bot.activity`)
        opens no transaction; its id is recorded with the next activity batch. One that wrote
        claims its id in the same transaction, so the decision and the mark land together.
        """
        services = self.services
        recent = services.state.recent_ids
        update_id = update.update_id
        uow = UnitOfWork(services.sessions)
        token = _current.set(uow)
        queued = False
        try:
            if recent.seen_here(update_id) or (
                recent.needs_lookup(update_id)
                and await ProcessedUpdateRepository(uow.session).seen(update_id)
            ):
                log.info("update %s already processed: ignored", update_id)
                coroutine.close()  # type: ignore[attr-defined]
                return
            await coroutine
            session = uow.opened
            wrote = session is not None and has_written(session)
            if uow.failed:
                return
            recent.add(update_id)
            if not wrote:
                # Nothing decided: no transaction to commit; the id goes with the next batch.
                services.activity.note_processed(update_id)
                return
            assert session is not None
            # Claimed last, so that the write lock is taken as late as possible and a
            # concurrent duplicate of the same update rolls back whole.
            if await ProcessedUpdateRepository(session).claim(update_id, at=utcnow()):
                await session.commit()
        finally:
            _current.reset(token)
            session = uow.opened
            if session is not None:
                try:
                    if has_written(session):
                        # Committed or rolled back: cached copies of what it touched are
                        # dropped either way (a read inside it may have cached its writes).
                        changes = written(session)
                        services.state.forget_written(changes)
                        queued = "outbox" in changes.tables or any(
                            table == "outbox" for table, _ in changes.rows
                        )
                finally:
                    await session.close()
        if queued:  # whoever queued a Bot API call, through the outbox
            services.executor.wake()
