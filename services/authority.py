"""Who is an admin where, from Telegram, and never guessed.

A group's admin list comes from getChatAdministrators, is kept for a while (`AdminCache`) and
stored (`storage.admins`): admins of any group of an alliance are protected in all of them, and
when Telegram cannot answer, the stored list stands in. With neither, `AuthorityUnknown` is
raised: the update waits and is tried again, because treating an admin as a plain member (their
message deleted, a warning) is worse than a moment's delay. A chat_member update about an admin
drops the chat's cached list, so promotions and demotions count at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.caches import AdminCache
from services.telegram import TelegramReads, TelegramUnavailable
from services.uow import UnitOfWork
from storage.admins import AdminEntry, AdminRepository
from storage.models import utcnow

log = logging.getLogger(__name__)

STORED_FRESH = timedelta(days=1)  # a stored list younger than this needs no new look
PARALLEL_READS = 8


class AuthorityUnknown(Exception):
    """Neither Telegram nor a stored list can say who a group's admins are (try again later)."""


class Authority:
    def __init__(self, reads: TelegramReads, cache: AdminCache | None = None) -> None:
        self._reads = reads
        self._cache = cache if cache is not None else AdminCache()

    def forget(self, chat_id: int) -> None:
        self._cache.drop(chat_id)

    async def admins(self, uow: UnitOfWork, chat_id: int) -> dict[int, AdminEntry]:
        """The group's creator and administrators (cached, else Telegram, else stored)."""
        known = self._cache.get(chat_id)
        if known is not None:
            return known
        if uow.wrote:  # no Telegram call inside a transaction that wrote: the stored list
            return await self._stored(uow, chat_id, "the update has written already")
        await uow.end_reads()
        try:
            admins = await self._reads.administrators(chat_id)
        except TelegramUnavailable as exc:
            return await self._stored(uow, chat_id, str(exc))
        self._cache.put(chat_id, admins)
        await AdminRepository(uow.session).replace(chat_id, admins, at=utcnow())
        return admins

    async def _stored(self, uow: UnitOfWork, chat_id: int, why: str) -> dict[int, AdminEntry]:
        """The stored list, when Telegram is not asked; AuthorityUnknown when there is none."""
        stored, taken = await AdminRepository(uow.session).of_chat(chat_id)
        if taken is None:
            raise AuthorityUnknown(f"chat {chat_id}: admins not listed ({why}), none stored")
        log.warning(
            "chat %s: admins not listed by Telegram (%s): using the list of %s",
            chat_id,
            why,
            taken.isoformat(timespec="minutes"),
        )
        return stored

    async def status(self, uow: UnitOfWork, chat_id: int, user_id: int) -> AdminEntry | None:
        """The user's admin entry in the group; None for everyone who is not an admin."""
        return (await self.admins(uow, chat_id)).get(user_id)

    async def may_moderate(self, uow: UnitOfWork, chat_id: int, user_id: int) -> bool:
        entry = await self.status(uow, chat_id, user_id)
        return entry is not None and (entry.status == "creator" or entry.can_restrict)

    async def changed(
        self, uow: UnitOfWork, chat_id: int, user_id: int, entry: AdminEntry | None
    ) -> None:
        """Telegram said someone became (or stopped being) an admin of the group."""
        self._cache.drop(chat_id)
        repo = AdminRepository(uow.session)
        _, taken = await repo.of_chat(chat_id)
        if taken is not None:  # a group never listed stays so, to be listed whole
            await repo.set(chat_id, user_id, entry, at=utcnow())

    async def admin_elsewhere(
        self, uow: UnitOfWork, alliance_id: int, user_id: int, *, but: int | None = None
    ) -> set[int]:
        """The alliance's other groups where the user is an admin, from the stored lists."""
        found = await AdminRepository(uow.session).admin_of(alliance_id, user_id)
        if but is not None:
            found.discard(but)
        return found

    async def refresh(
        self,
        uow: UnitOfWork,
        chat_ids: Sequence[int],
        *,
        missing_only: bool = False,
        limit: int | None = None,
    ) -> int:
        """Take a new list for the groups whose stored one is a day old (or, with
        `missing_only`, was never taken), at most `limit` of them, a few at a time; returns how
        many were read. Groups Telegram cannot answer for keep their list."""
        since = None if missing_only else utcnow() - STORED_FRESH
        fresh = await AdminRepository(uow.session).listed_since(chat_ids, since)
        stale = [c for c in chat_ids if c not in fresh and self._cache.get(c) is None]
        if limit is not None and len(stale) > limit:
            log.warning("%d groups have no admin list yet: taking %d now", len(stale), limit)
            stale = stale[:limit]
        if not stale or uow.wrote:  # no Telegram call inside a transaction that wrote
            return 0
        await uow.end_reads()
        gate = asyncio.Semaphore(PARALLEL_READS)

        async def read(chat_id: int) -> tuple[int, dict[int, AdminEntry] | None]:
            async with gate:
                try:
                    return chat_id, await self._reads.administrators(chat_id)
                except TelegramUnavailable as exc:
                    log.warning("chat %s: admins not listed (%s)", chat_id, exc)
                    return chat_id, None

        results = await asyncio.gather(*(read(c) for c in stale))
        now: datetime = utcnow()
        repo = AdminRepository(uow.session)
        for chat_id, admins in results:
            if admins is not None:
                self._cache.put(chat_id, admins)
                await repo.replace(chat_id, admins, at=now)
        return sum(1 for _, admins in results if admins is not None)
