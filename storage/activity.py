"""Batched writes of per-message bookkeeping: member message counts, seen accounts, processed
update ids. Each method writes a whole batch in a few multi-row statements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import func

from storage.groups import Repository, upsert
from storage.models import Member, ProcessedUpdate, TgUser, utcnow

CHUNK = 400
T = TypeVar("T")


@dataclass
class MemberCount:
    chat_id: int
    user_id: int
    messages: int
    last_at: datetime


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
