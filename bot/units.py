"""Closing a unit of work, in one place: commit what it wrote, drop the cached copies of it, and
only then carry out what it asked for (the executor takes the new calls, reports and retraining
are scheduled, jobs are started).

Every caller (the intake, scheduled jobs, the command line) ends its units here, so no effect
ever runs for a transaction that did not commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from services.runtime import Runtime
from services.uow import UnitOfWork
from storage.db import has_written, written
from storage.inbox import InboxRepository
from storage.models import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


class AfterCommit(Protocol):
    def __call__(self, uow: UnitOfWork) -> None:
        """Carry out the effects of a committed unit (`services.uow.Effect`, queued calls)."""


def nothing_after(uow: UnitOfWork) -> None:
    """For the command line: the running bot picks the queued calls up by itself."""


async def close(
    rt: Runtime, uow: UnitOfWork, after: AfterCommit, *, update_id: int | None = None
) -> bool:
    """Commit the unit (claiming `update_id` in the inbox with it) unless it failed or wrote
    nothing; returns whether it committed writes. Effects run only after a commit."""
    session = uow.opened
    committed = False
    try:
        if session is None or uow.failed or not has_written(session):
            return False
        if update_id is not None and not await InboxRepository(session).claim(
            update_id, at=utcnow()
        ):
            log.info("update %s was already handled: its second run is rolled back", update_id)
            await session.rollback()
            return False
        await session.commit()
        committed = True
    finally:
        if session is not None:
            try:
                if has_written(session):
                    # committed or rolled back, cached copies of what it touched are dropped
                    # either way (a read inside it may have cached its writes)
                    rt.state.forget_written(written(session))
            finally:
                await session.close()
    after(uow)
    return committed


async def run_unit(
    rt: Runtime, after: AfterCommit, work: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """Run `work` in a unit of work of its own and close it (a job, a command-line step)."""
    uow = UnitOfWork(rt.sessions)
    try:
        result = await work(uow)
    except BaseException:
        uow.failed = True
        raise
    finally:
        await close(rt, uow, after)
    return result
