"""Read-through caches of what nearly every update reads: its chat and alliance, the alliance's
blacklist, the sender's membership. A plain chat message then costs no database round trip.

The database stays the source of truth: entries expire after a few seconds, and every update that
wrote drops the entries it may have changed (`forget`), so within this process a change is seen at
once and by other processes (the command line, later workers) within the expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from bot.caches import RecentIds, TtlCache
from storage.models import Alliance, Base, BlacklistEntry, Chat, Member
from storage.policy import GroupPolicy

T = TypeVar("T", bound=Base)
CHAT_TTL = 30.0
BLACKLIST_TTL = 30.0
MEMBER_TTL = 120.0


def _snapshot(row: Base) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


def _detached(model: type[T], row: T) -> T:
    """A copy of the row that belongs to no session: reading it never touches the database."""
    copy = model(**_snapshot(row))
    make_transient_to_detached(copy)
    return copy


@dataclass
class StateCache:
    chats: TtlCache[int, tuple[Chat, Alliance | None, GroupPolicy]]
    warned: TtlCache[int, frozenset[int]]
    blacklists: TtlCache[int, frozenset[int]]
    # chat -> user -> membership snapshot
    members: TtlCache[int, dict[int, dict[str, Any]]]
    recent_ids: RecentIds

    @classmethod
    def empty(cls, stored_max_update: int | None) -> StateCache:
        return cls(
            chats=TtlCache(CHAT_TTL, 50_000),
            blacklists=TtlCache(BLACKLIST_TTL, 10_000),
            warned=TtlCache(BLACKLIST_TTL, 10_000),
            members=TtlCache(MEMBER_TTL, 20_000),
            recent_ids=RecentIds(stored_max_update),
        )

    async def chat(
        self, session: AsyncSession, chat_id: int
    ) -> tuple[Chat | None, Alliance | None]:
        """The chat and its alliance, read-only (detached, shared between updates).

        Code that changes the chat loads it into its session: `UnitOfWork.chat_for_update`.
        """
        cached = await self._load_chat(session, chat_id)
        return (cached[0], cached[1]) if cached is not None else (None, None)

    async def policy(self, session: AsyncSession, chat_id: int) -> GroupPolicy:
        """The chat's validated policy, parsed once per cache entry rather than per message."""
        cached = await self._load_chat(session, chat_id)
        return cached[2] if cached is not None else GroupPolicy()

    async def _load_chat(
        self, session: AsyncSession, chat_id: int
    ) -> tuple[Chat, Alliance | None, GroupPolicy] | None:
        cached = self.chats.get(chat_id)
        if cached is None:
            row = await session.get(Chat, chat_id)
            if row is None:
                return None
            alliance = await session.get(Alliance, row.alliance_id) if row.alliance_id else None
            cached = (
                _detached(Chat, row),
                _detached(Alliance, alliance) if alliance else None,
                GroupPolicy.load(row.policy),
            )
            self.chats.put(chat_id, cached)
        return cached

    async def has_warnings(
        self, session: AsyncSession, alliance_id: int, user_id: int, now: datetime
    ) -> bool:
        """Whether the user has an active warning in the alliance (one query per alliance)."""
        ids = self.warned.get(alliance_id)
        if ids is None:
            rows = await session.scalars(
                select(Warning.user_id)
                .where(
                    Warning.alliance_id == alliance_id,
                    Warning.revoked_at.is_(None),
                    Warning.expires_at > now,
                )
                .distinct()
            )
            ids = frozenset(rows)
            self.warned.put(alliance_id, ids)
        return user_id in ids

    async def is_blacklisted(self, session: AsyncSession, alliance_id: int, user_id: int) -> bool:
        ids = self.blacklists.get(alliance_id)
        if ids is None:
            rows = await session.scalars(
                select(BlacklistEntry.user_id).where(
                    BlacklistEntry.alliance_id == alliance_id, BlacklistEntry.revoked_at.is_(None)
                )
            )
            ids = frozenset(rows)
            self.blacklists.put(alliance_id, ids)
        return user_id in ids

    async def member(self, session: AsyncSession, chat_id: int, user_id: int) -> Member | None:
        """The membership as last stored plus messages counted since (read-only, detached).

        A chat's memberships are loaded together, once per MEMBER_TTL: one query per chat, not
        one per sender.
        """
        members = self.members.get(chat_id)
        if members is None:
            rows = await session.scalars(select(Member).where(Member.chat_id == chat_id))
            members = {row.user_id: _snapshot(row) for row in rows}
            self.members.put(chat_id, members)
        cached = members.get(user_id)
        return Member(**cached) if cached is not None else None

    def count_message(self, chat_id: int, user_id: int, at: datetime) -> None:
        """Keep the cached count current between loads (the database gets it in batches)."""
        members = self.members.get(chat_id)
        if members is None:
            return
        cached = members.get(user_id)
        if cached is None:
            members[user_id] = {
                "chat_id": chat_id,
                "user_id": user_id,
                "status": "member",
                "first_seen": at,
                "messages_seen": 1,
                "last_message_at": at,
                "joined_at": None,
                "left_at": None,
                "invited_by": None,
                "invite_link": None,
                "roles": {},
            }
        else:
            cached["messages_seen"] += 1
            cached["last_message_at"] = at

    def forget(self, chat_id: int | None, alliance_id: int | None, user_ids: set[int]) -> None:
        """Drop what an update that wrote may have changed."""
        if chat_id is not None:
            self.chats.drop(chat_id)
            members = self.members.get(chat_id)
            if members is not None and user_ids & members.keys():
                self.members.drop(chat_id)
        if alliance_id is not None:
            self.blacklists.drop(alliance_id)
            self.warned.drop(alliance_id)
