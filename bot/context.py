"""What handlers get besides the update: the deployment's services and the update's unit of work.

- `Services` is the typed `bot_data` (python-telegram-bot builds one per Application); it is filled
  in `post_init` and holds the settings, the session factory and the executor.
- `UnitOfWork` is one database transaction per update, opened by `UpdateProcessor` before any
  handler runs and committed after the last one: the processed-update mark, the decision and its
  queued actions land together or not at all.
- `UpdateProcessor` runs updates of different chats concurrently and updates of one chat in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
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
from storage.db import SessionFactory, has_written
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


@dataclass
class UnitOfWork:
    """The current update's transaction and what handlers learned along the way."""

    session: AsyncSession
    chat: Chat | None = None
    alliance: Alliance | None = None
    queued: int = 0
    failed: bool = False

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
        if self.session.new or self.session.dirty or self.session.deleted:
            raise RuntimeError("end_reads after a write: make Bot API calls before writing")
        await self.session.commit()

    async def queue(self, kind: str, chat_id: int, payload: dict[str, Any], **kw: Any) -> None:
        """Queue a Bot API call to be made once this update's transaction commits."""
        await OutboxRepository(self.session).add(kind, chat_id, payload, **kw)
        self.queued += 1


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


def _users_of(update: Update) -> set[int]:
    """Every account an update is about: sender, joiners, the member whose status changed."""
    users = {update.effective_user.id} if update.effective_user else set()
    message = update.effective_message
    if message is not None:
        users.update(u.id for u in message.new_chat_members or ())
        if message.left_chat_member is not None:
            users.add(message.left_chat_member.id)
    if update.chat_member is not None:
        users.add(update.chat_member.new_chat_member.user.id)
    return users


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


class UpdateProcessor(BaseUpdateProcessor):
    """One transaction per update; concurrent across chats, ordered within a chat."""

    services: Services  # attached right after the Application is built

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._lock_users: dict[int, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        chat = update.effective_chat
        if chat is None:
            await self._in_transaction(update, coroutine)
            return
        lock = self._chat_locks.setdefault(chat.id, asyncio.Lock())
        self._lock_users[chat.id] = self._lock_users.get(chat.id, 0) + 1
        try:
            async with lock:
                await self._in_transaction(update, coroutine)
        finally:
            self._lock_users[chat.id] -= 1
            if not self._lock_users[chat.id]:
                del self._lock_users[chat.id], self._chat_locks[chat.id]

    async def _in_transaction(self, update: Update, coroutine: Awaitable[Any]) -> None:
        async with self.services.sessions() as session:
            uow = UnitOfWork(session=session)
            token = _current.set(uow)
            try:
                processed = ProcessedUpdateRepository(session)
                activity = self.services.activity
                recent = self.services.state.recent_ids
                if recent.seen_here(update.update_id) or (
                    recent.needs_lookup(update.update_id) and await processed.seen(update.update_id)
                ):
                    log.info("update %s already processed: ignored", update.update_id)
                    coroutine.close()  # type: ignore[attr-defined]
                    return
                await coroutine
                if uow.failed:
                    await session.rollback()
                    return
                recent.add(update.update_id)
                if not has_written(session):
                    # Nothing decided: no transaction to commit; the id goes with the next batch.
                    await session.rollback()
                    activity.note_processed(update.update_id)
                    return
                # Claimed last, so that the write lock is taken as late as possible and a
                # concurrent duplicate of the same update rolls back whole.
                if not await processed.claim(update.update_id, at=utcnow()):
                    await session.rollback()
                    return
                await session.commit()
                self.services.state.forget(
                    update.effective_chat.id if update.effective_chat else None,
                    uow.chat.alliance_id if uow.chat is not None else None,
                    _users_of(update),
                )
            finally:
                _current.reset(token)
        if uow.queued:
            self.services.executor.wake()
