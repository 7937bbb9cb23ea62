"""The unit of work: one transaction for one update or one job, and what must follow its commit.

Services write through `uow.session` and queue Bot API calls with `uow.send`; nothing they do
reaches Telegram or wakes anything before the caller commits. What must happen after the commit
(the executor to take the new calls, the owners' report to go out soon, the detector to retrain,
a job to run) is noted as an effect and carried out by the caller, from one place, only once the
commit succeeded (`bot.units`).

The session is opened on first use: an update that the caches answer (most group messages)
opens none, and costs no connection, BEGIN or ROLLBACK.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from rules.actions import Action
from storage.db import SessionFactory, has_written
from storage.models import Alliance, Chat
from storage.outbox import OutboxRepository, Queued


class Wake(StrEnum):
    REPORTS = "reports"  # the owners' report of new blacklist entries, soon and batched
    RETRAIN = "retrain"  # the detector, from newly labeled messages (debounced)


@dataclass(frozen=True, slots=True)
class TakeMemberCount:
    """Read a group's member count and admin list from Telegram, after the bot joined it."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class InstallSchedules:
    """An alliance's schedules changed: reinstall their jobs."""

    alliance_id: int


Effect = Wake | TakeMemberCount | InstallSchedules


class UnitOfWork:
    """The current update's (or job's) transaction and what handlers learned along the way."""

    __slots__ = (
        "_session",
        "_sessions",
        "alliance",
        "chat",
        "effects",
        "error",
        "failed",
        "queued",
    )

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self.chat: Chat | None = None  # the update's group, read-only (see `chat_for_update`)
        self.alliance: Alliance | None = None
        self.failed = False  # a handler raised: roll back (the intake tries the update again)
        self.error: BaseException | None = None
        self.effects: list[Effect] = []
        self.queued: list[Queued] = []  # outbox rows this unit wrote, for the executor

    @property
    def session(self) -> AsyncSession:
        session = self._session
        if session is None:
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

    @property
    def wrote(self) -> bool:
        """Whether the unit has written anything (flushed or not) that its commit will keep."""
        session = self._session
        return session is not None and has_written(session)

    async def end_reads(self) -> None:
        """Close the read transaction before a Bot API read (no call is made inside one).

        Only valid before the first write of the unit (`wrote`): a commit here would keep a
        write before the unit is done. Loaded rows stay usable.
        """
        session = self._session
        if session is None:
            return
        if self.wrote:
            raise RuntimeError("end_reads after a write: make Bot API calls before writing")
        await session.commit()

    async def send(
        self, action: Action, *, not_before: datetime | None = None, after: int | None = None
    ) -> int:
        """Queue a Bot API call to be made once this unit commits; returns the outbox row id.

        With `after` (another row's id) it waits for that call to finish; a message then reports
        on it truthfully (its `failure_text` is sent if that call failed).
        """
        row = await OutboxRepository(self.session).add(action, not_before=not_before, after=after)
        self.queued.append(Queued.of(row))
        return row.id

    def requeued(self, row: Queued) -> None:
        """A row this unit changed (a gathered notice moved later) that the executor must
        reschedule."""
        self.queued.append(row)

    def after_commit(self, effect: Effect) -> None:
        if effect not in self.effects:
            self.effects.append(effect)
