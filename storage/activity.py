"""Batched writes of per-message bookkeeping: member message counts, daily activity counters,
reply edges, seen accounts, groups' new titles. Each method writes a whole batch as one
statement run for all its rows, adding to what is stored (so two batches of one day sum).
`messages_elsewhere` reads a sender's history in an alliance's other groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select, update

from storage.groups import Repository, table_of, upsert
from storage.models import (
    Activity,
    ActivityReply,
    Chat,
    Member,
    TgUser,
    utcnow,
)


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


class ActivityRepository(Repository):
    async def messages_elsewhere(self, alliance_id: int, user_id: int, *, but: int) -> int:
        """Messages the user posted in the alliance's active groups other than `but` (as
        written so far: the counts of the last few seconds may not be in yet)."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Member.messages_seen), 0))
            .join(Chat, Chat.id == Member.chat_id)
            .where(
                Member.user_id == user_id,
                Member.chat_id != but,
                Chat.alliance_id == alliance_id,
                Chat.status == "active",
            )
        )
        return int(total or 0)

    async def add_member_counts(self, counts: Sequence[MemberCount]) -> None:
        if not counts:
            return
        table = table_of(Member)
        stmt = upsert(self.session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["chat_id", "user_id"],
            set_={
                "messages_seen": table.c.messages_seen + stmt.excluded.messages_seen,
                "last_message_at": func.coalesce(
                    stmt.excluded.last_message_at, table.c.last_message_at
                ),
            },
        )
        rows = [
            {
                "chat_id": c.chat_id,
                "user_id": c.user_id,
                "status": "member",
                "first_seen": c.last_at,
                "messages_seen": c.messages,
                "last_message_at": c.last_at,
                "roles": {},
                "role_flags": 0,
            }
            # in key order, so that concurrent writers lock member rows in one order
            for c in sorted(counts, key=lambda c: (c.chat_id, c.user_id))
        ]
        await self.session.execute(stmt, rows)

    async def upsert_users(self, users: Sequence[SeenUser]) -> None:
        if not users:
            return
        now = utcnow()
        stmt = upsert(self.session, table_of(TgUser))
        changed = ("first_name", "last_name", "username", "is_bot", "language_code")
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={k: stmt.excluded[k] for k in (*changed, "updated_at")}
        )
        rows = [
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
            for u in users
        ]
        await self.session.execute(stmt, rows)

    async def set_titles(self, titles: Mapping[int, str]) -> None:
        if titles:
            table = table_of(Chat)
            stmt = (
                update(table)
                .where(table.c.id == bindparam("chat_id"))
                .values(title=bindparam("new_title"))
            )
            rows = [{"chat_id": c, "new_title": t[:255]} for c, t in titles.items()]
            await self.session.execute(stmt, rows)

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
        table = table_of(model)  # Core: no per-row ORM bookkeeping
        stmt = upsert(self.session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: table.c[name] + stmt.excluded[name] for name in counters},
        )
        await self.session.execute(stmt, rows)
