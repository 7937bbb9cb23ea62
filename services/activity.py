"""Per-message bookkeeping that costs nothing per message: counted in memory, written in batches.

A plain chat message that leads to no decision writes nothing on its own: the member's message
count and last-seen time, the day's counters per member (messages, replies received, reactions
received), who replied to whom, the names of accounts seen, and the update's id (so a redelivered
update is ignored) are kept here and written in one transaction every few seconds, when enough
piled up, and at shutdown. A crash loses at most the last batch of these counts; joins, leaves,
warnings, bans and everything queued for Telegram are never buffered: they commit with their
update.

Days are local days in each alliance's time zone (the caller passes the chat's zone). Reactions are credited to a message's author
while the message is among the most recent ones the bot remembers (`recent_messages`); reactions
to older messages are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from storage.activity import ActivityRepository, DayCount, MemberCount, ReplyCount, SeenUser
from storage.db import SessionFactory
from storage.inbox import InboxRepository
from storage.models import utcnow

log = logging.getLogger(__name__)

RECENT_PER_AUTHOR = 50


@dataclass
class _Pending:
    members: dict[tuple[int, int], MemberCount] = field(default_factory=dict)
    days: dict[tuple[int, date, int], DayCount] = field(default_factory=dict)
    replies: dict[tuple[int, date, int, int], int] = field(default_factory=dict)
    users: dict[int, SeenUser] = field(default_factory=dict)
    processed: set[int] = field(default_factory=set)
    titles: dict[int, str] = field(default_factory=dict)

    def size(self) -> int:
        return (
            len(self.titles)
            + len(self.members)
            + len(self.days)
            + len(self.replies)
            + len(self.users)
            + len(self.processed)
        )

    def day(self, chat_id: int, day: date, user_id: int) -> DayCount:
        key = (chat_id, day, user_id)
        count = self.days.get(key)
        if count is None:
            count = self.days[key] = DayCount(chat_id, day, user_id)
        return count


class ActivityBuffer:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        interval: float = 2.0,
        max_pending: int = 5000,
        recent_messages: int = 50_000,
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.max_pending = max_pending
        self.recent_messages = recent_messages
        # (chat, message) -> [author, reactions counted so far]
        self._authors: OrderedDict[tuple[int, int], list[int]] = OrderedDict()
        # author -> their latest (chat, message) ids, to remove them should they be blacklisted
        self._by_author: dict[int, deque[tuple[int, int]]] = {}
        self._pending = _Pending()
        # user id -> (username, first name, last name) last noted, to skip unchanged upserts
        self._seen: dict[int, tuple[str | None, str, str | None]] = {}
        self._wake = asyncio.Event()
        # one write at a time, so that `flush` returns only once everything noted before it is
        # written, also what a write already under way took (a group's upgrade relies on it)
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0

    @staticmethod
    def local_day(at: datetime, tz: ZoneInfo) -> date:
        return at.astimezone(tz).date()

    def note_message(
        self,
        chat_id: int,
        user_id: int,
        at: datetime,
        *,
        tz: ZoneInfo,
        message_id: int | None = None,
        reply_to: int | None = None,
    ) -> None:
        """A member's message; `reply_to` is the author of the message it answers, if any."""
        pending = self._pending
        key = (chat_id, user_id)
        count = pending.members.get(key)
        if count is None:
            pending.members[key] = MemberCount(chat_id, user_id, 1, at)
        else:
            count.messages += 1
            count.last_at = at
        day = self.local_day(at, tz)
        pending.day(chat_id, day, user_id).messages += 1
        if reply_to is not None and reply_to != user_id:
            pending.day(chat_id, day, reply_to).replies_received += 1
            edge = (chat_id, day, reply_to, user_id)
            pending.replies[edge] = pending.replies.get(edge, 0) + 1
        if message_id is not None:
            self._authors[(chat_id, message_id)] = [user_id, 0]
            if len(self._authors) > self.recent_messages:
                self._authors.popitem(last=False)
            mine = self._by_author.get(user_id)
            if mine is None:
                if len(self._by_author) > self.recent_messages:
                    self._by_author.clear()
                mine = self._by_author[user_id] = deque(maxlen=RECENT_PER_AUTHOR)
            mine.append((chat_id, message_id))
        self._maybe_flush()

    def note_reactions(
        self,
        chat_id: int,
        message_id: int,
        at: datetime,
        *,
        tz: ZoneInfo,
        added: int = 0,
        total: int | None = None,
        by: int | None = None,
    ) -> None:
        """Reactions on a message: one member's net change `added` (message_reaction: reactions
        set minus reactions taken back), or the message's new `total` (message_reaction_count).
        Both kinds may report the same reaction; counting against the known total credits it
        once. A member's reaction to their own message is not credited."""
        entry = self._authors.get((chat_id, message_id))
        if entry is None:
            return
        new_total = entry[1] + added if total is None else total
        gained, entry[1] = new_total - entry[1], new_total
        if gained > 0 and (by is None or by != entry[0]):
            self._pending.day(
                chat_id, self.local_day(at, tz), entry[0]
            ).reactions_received += gained
            self._maybe_flush()

    def recent_messages_of(self, user_id: int) -> list[tuple[int, int]]:
        """The (chat, message) ids of the user's latest messages this process saw (those that
        stayed: ads already removed are not among them)."""
        return list(self._by_author.get(user_id, ()))

    def note_user(self, user: SeenUser) -> None:
        """An account seen; written only when its name changed since it was last noted."""
        signature = (user.username, user.first_name, user.last_name)
        if self._seen.get(user.id) == signature:
            return
        if len(self._seen) > 100_000:
            self._seen.clear()
        self._seen[user.id] = signature
        self._pending.users[user.id] = user
        self._maybe_flush()

    def note_title(self, chat_id: int, title: str) -> None:
        """A group's new title, as Telegram reported it with an update."""
        self._pending.titles[chat_id] = title
        self._maybe_flush()

    def note_processed(self, update_id: int) -> None:
        """An update that decided nothing: marked done with this batch, so that a crash
        re-handles it together with the counts it lost."""
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # keep counting; the batch is merged back and retried
                log.exception("activity batch failed; retrying")

    async def flush(self) -> None:
        async with self._flushing:
            await self._write_pending()

    async def _write_pending(self) -> None:
        if not self._pending.size():
            return
        batch, self._pending = self._pending, _Pending()
        try:
            async with self.sessions() as session:
                repo = ActivityRepository(session)
                await repo.add_member_counts(list(batch.members.values()))
                await repo.add_days(list(batch.days.values()))
                await repo.add_replies(
                    [ReplyCount(*key, replies=n) for key, n in batch.replies.items()]
                )
                await repo.upsert_users(list(batch.users.values()))
                await repo.set_titles(batch.titles)
                await InboxRepository(session).finish_many(sorted(batch.processed), at=utcnow())
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
        for (chat_id, day, user_id), day_count in batch.days.items():
            mine_day = self._pending.day(chat_id, day, user_id)
            mine_day.messages += day_count.messages
            mine_day.replies_received += day_count.replies_received
            mine_day.reactions_received += day_count.reactions_received
        for edge, n in batch.replies.items():
            self._pending.replies[edge] = self._pending.replies.get(edge, 0) + n
        for user_id, user in batch.users.items():
            self._pending.users.setdefault(user_id, user)
        self._pending.processed |= batch.processed
        for chat_id, title in batch.titles.items():
            self._pending.titles.setdefault(chat_id, title)
