"""Batched writes of per-message bookkeeping: member message counts, daily activity counters,
reply edges, seen accounts, processed update ids. Each method writes a whole batch in a few
multi-row statements that add to what is stored (so two batches of one day simply sum)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import func

from storage.groups import Repository, upsert
from storage.models import (
    Activity,
    ActivityReply,
    Member,
    ProcessedUpdate,
    TgUser,
    utcnow,
)

CHUNK = 400
T = TypeVar("T")


@dataclass
class MemberCount:
    chat_id: int
    user_id: int
    messages: int
    last_at: datetime


@dataclass
class DayCount:
    """One member's counters for one local day."""

    chat_id: int
    day: date
    user_id: int
    messages: int = 0
    replies_received: int = 0
    reactions_received: int = 0


@dataclass(frozen=True)
class ReplyCount:
    chat_id: int
    day: date
    author_id: int
    replier_id: int
    replies: int


@dataclass(frozen=True)
class SeenUser:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    is_bot: bool
    language_code: str | None


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class ActivityRepository(Repository):
    async def add_member_counts(self, counts: Sequence[MemberCount]) -> None:
        for part in _chunks(counts):
            stmt = upsert(self.session, Member).values(
                [
                    {
                        "chat_id": c.chat_id,
                        "user_id": c.user_id,
                        "status": "member",
                        "first_seen": c.last_at,
                        "messages_seen": c.messages,
                        "last_message_at": c.last_at,
                        "roles": {},
                    }
                    for c in part
                ]
            )
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["chat_id", "user_id"],
                    set_={
                        "messages_seen": Member.messages_seen + stmt.excluded.messages_seen,
                        "last_message_at": func.coalesce(
                            stmt.excluded.last_message_at, Member.last_message_at
                        ),
                    },
                )
            )

    async def upsert_users(self, users: Sequence[SeenUser]) -> None:
        now = utcnow()
        for part in _chunks(users):
            stmt = upsert(self.session, TgUser).values(
                [
                    {
                        "id": u.id,
                        "first_name": u.first_name[:255],
                        "last_name": u.last_name,
                        "username": u.username.lower() if u.username else None,
                        "is_bot": u.is_bot,
                        "language_code": u.language_code,
                        "started_bot": False,
                        "updated_at": now,
                    }
                    for u in part
                ]
            )
            changed = ("first_name", "last_name", "username", "is_bot", "language_code")
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={k: stmt.excluded[k] for k in (*changed, "updated_at")},
                )
            )

    async def mark_processed(self, update_ids: Sequence[int]) -> None:
        now = utcnow()
        for part in _chunks(update_ids):
            stmt = upsert(self.session, ProcessedUpdate).values(
                [{"update_id": u, "at": now} for u in part]
            )
            await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["update_id"]))

    async def add_days(self, counts: Sequence[DayCount]) -> None:
        await self._add_up(
            Activity,
            ("chat_id", "day", "user_id"),
            ("messages", "replies_received", "reactions_received"),
            [asdict(c) for c in counts],
        )

    async def add_replies(self, counts: Sequence[ReplyCount]) -> None:
        await self._add_up(
            ActivityReply,
            ("chat_id", "day", "author_id", "replier_id"),
            ("replies",),
            [asdict(c) for c in counts],
        )

    async def _add_up(
        self,
        model: type[Activity] | type[ActivityReply],
        keys: tuple[str, ...],
        counters: tuple[str, ...],
        rows: list[dict[str, object]],
    ) -> None:
        """Insert counter rows; where a row exists, add to its counters. One statement, compiled
        once and run for all rows (executemany)."""
        if not rows:
            return
        stmt = upsert(self.session, model)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: getattr(model, name) + stmt.excluded[name] for name in counters},
        )
        await self.session.execute(stmt, rows)
