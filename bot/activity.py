"""Per-message bookkeeping that costs nothing per message: counted in memory, written in batches.

A plain chat message that leads to no decision writes nothing on its own: the member's message
count and last-seen time, the names of accounts seen, and the update's id (so a redelivered update
is ignored) are kept here and written in one transaction every few seconds, when enough piled up,
and at shutdown. A crash loses at most the last batch of these counts; joins, leaves, warnings,
bans and everything queued for Telegram are never buffered: they commit with their update.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from storage.activity import ActivityRepository, MemberCount, SeenUser
from storage.db import SessionFactory

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    members: dict[tuple[int, int], MemberCount] = field(default_factory=dict)
    users: dict[int, SeenUser] = field(default_factory=dict)
    processed: set[int] = field(default_factory=set)

    def size(self) -> int:
        return len(self.members) + len(self.users) + len(self.processed)


class ActivityBuffer:
    def __init__(
        self, sessions: SessionFactory, *, interval: float = 2.0, max_pending: int = 5000
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.max_pending = max_pending
        self._pending = _Pending()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0

    def note_message(self, chat_id: int, user_id: int, at: datetime) -> None:
        key = (chat_id, user_id)
        count = self._pending.members.get(key)
        if count is None:
            self._pending.members[key] = MemberCount(chat_id, user_id, 1, at)
        else:
            count.messages += 1
            count.last_at = at
        self._maybe_flush()

    def note_user(self, user: SeenUser) -> None:
        self._pending.users[user.id] = user
        self._maybe_flush()

    def note_processed(self, update_id: int) -> None:
        self._pending.processed.add(update_id)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._pending.size() >= self.max_pending:
            self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="activity-buffer")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # keep counting; the batch is merged back and retried
                log.exception("activity batch failed; retrying")

    async def flush(self) -> None:
        if not self._pending.size():
            return
        batch, self._pending = self._pending, _Pending()
        try:
            async with self.sessions() as session:
                repo = ActivityRepository(session)
                await repo.add_member_counts(list(batch.members.values()))
                await repo.upsert_users(list(batch.users.values()))
                await repo.mark_processed(sorted(batch.processed))
                await session.commit()
            self.batches += 1
        except Exception:
            self._merge_back(batch)
            raise

    def _merge_back(self, batch: _Pending) -> None:
        for key, count in batch.members.items():
            mine = self._pending.members.get(key)
            if mine is None:
                self._pending.members[key] = count
            else:
                mine.messages += count.messages
        for user_id, user in batch.users.items():
            self._pending.users.setdefault(user_id, user)
        self._pending.processed |= batch.processed
