"""Read-through caches of what nearly every update reads: its chat and alliance, the alliance's
blacklist and warned accounts, the sender's membership. A plain chat message then costs no
database round trip, and no session is even opened for it (`services.uow.UnitOfWork` opens one on
first use).

The database stays the source of truth: entries expire after a few seconds, and every update that
wrote drops the entries its writes may have changed (`forget_written`, from the rows and tables
the session wrote), so within this process a change is seen at once and by other processes (the
command line, later workers) within the expiry. A load that ran while an entry was being dropped
is not stored (a generation counter), so a slow read cannot put back what a commit just replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from rules.detect import allowed_term
from rules.facts import DetectPolicy
from services.caches import TtlCache
from storage.admins import own_handles
from storage.db import Written
from storage.models import Alliance, Base, BlacklistEntry, Chat, Member, Warning
from storage.policy import AlliancePolicy, GroupPolicy

UTC_ZONE = ZoneInfo("UTC")

T = TypeVar("T", bound=Base)
CHAT_TTL = 30.0
BLACKLIST_TTL = 300.0  # entries written here are re-read on their own at once
WARNED_TTL = 30.0
OWN_TTL = 300.0
MEMBER_TTL = 120.0


class SessionSource(Protocol):
    """Where a cache miss gets its session: the update's unit of work (opened on first use)."""

    @property
    def session(self) -> AsyncSession: ...


def _snapshot(row: Base) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


def _detached(model: type[T], row: T) -> T:
    """A copy of the row that belongs to no session: reading it never touches the database."""
    copy = model(**_snapshot(row))
    make_transient_to_detached(copy)
    return copy


class MemberView:
    """A membership as last stored plus the messages counted since: read-only for callers."""

    __slots__ = ("first_seen", "joined_at", "last_message_at", "left_at", "messages_seen", "status")

    def __init__(
        self,
        *,
        status: str,
        first_seen: datetime,
        joined_at: datetime | None,
        left_at: datetime | None,
        messages_seen: int,
        last_message_at: datetime | None,
    ) -> None:
        self.status = status
        self.first_seen = first_seen
        self.joined_at = joined_at
        self.left_at = left_at
        self.messages_seen = messages_seen
        self.last_message_at = last_message_at

    @classmethod
    def of(cls, row: Member) -> MemberView:
        return cls(
            status=row.status,
            first_seen=row.first_seen,
            joined_at=row.joined_at,
            left_at=row.left_at,
            messages_seen=row.messages_seen or 0,
            last_message_at=row.last_message_at,
        )

    def count(self, at: datetime) -> None:
        self.messages_seen += 1
        self.last_message_at = at

    def keep_counts_of(self, older: MemberView) -> None:
        """Messages counted in memory that the stored row may not have yet."""
        self.messages_seen = max(self.messages_seen, older.messages_seen)
        if older.last_message_at is not None and (
            self.last_message_at is None or older.last_message_at > self.last_message_at
        ):
            self.last_message_at = older.last_message_at


@dataclass
class ChatMembers:
    """A chat's memberships; `stale` ones were written since and are read again on next use."""

    rows: dict[int, MemberView]
    stale: set[int] = field(default_factory=set)


@dataclass
class Listed:
    """An alliance's blacklisted user ids; `stale` ones were written since and are read again."""

    ids: set[int]
    stale: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ChatEntry:
    """A chat as most updates read it: the row, its alliance, its policy parsed once, the
    detector's view of that policy, and the alliance's time zone."""

    chat: Chat
    alliance: Alliance | None
    policy: GroupPolicy
    detect: DetectPolicy
    tz: ZoneInfo


@dataclass
class StateCache:
    chats: TtlCache[int, ChatEntry]
    warned: TtlCache[int, frozenset[int]]
    blacklists: TtlCache[int, Listed]
    own: TtlCache[int, frozenset[str]]
    members: TtlCache[int, ChatMembers]
    # Bumped by every drop: a load that saw its store's count change while it read does not
    # store its result (it may have read the row before the commit that dropped it).
    generations: dict[str, int] = field(
        default_factory=lambda: {"chats": 0, "members": 0, "blacklists": 0, "warned": 0}
    )

    @classmethod
    def empty(cls) -> StateCache:
        return cls(
            chats=TtlCache(CHAT_TTL, 50_000),
            blacklists=TtlCache(BLACKLIST_TTL, 10_000),
            own=TtlCache(OWN_TTL, 10_000),
            warned=TtlCache(WARNED_TTL, 10_000),
            members=TtlCache(MEMBER_TTL, 20_000),
        )

    async def entry(self, uow: SessionSource, chat_id: int) -> ChatEntry | None:
        """The chat as read-only copies shared between updates (None: not a chat of ours).

        Code that changes the chat loads it into its session: `UnitOfWork.chat_for_update`.
        """
        cached = self.chats.get(chat_id)
        if cached is None:
            cached = await self._load_chat(uow.session, chat_id)
        return cached

    async def chat(self, uow: SessionSource, chat_id: int) -> tuple[Chat | None, Alliance | None]:
        entry = await self.entry(uow, chat_id)
        return (entry.chat, entry.alliance) if entry is not None else (None, None)

    async def policy(self, uow: SessionSource, chat_id: int) -> GroupPolicy:
        """The chat's validated policy, parsed once per cache entry rather than per message."""
        entry = await self.entry(uow, chat_id)
        return entry.policy if entry is not None else GroupPolicy()

    async def _load_chat(self, session: AsyncSession, chat_id: int) -> ChatEntry | None:
        generation = self.generations["chats"]
        row = await session.get(Chat, chat_id)
        if row is None:
            return None
        alliance = await session.get(Alliance, row.alliance_id) if row.alliance_id else None
        policy = GroupPolicy.load(row.policy)
        own = await self._own_terms(session, alliance) if alliance else frozenset()
        entry = ChatEntry(
            _detached(Chat, row),
            _detached(Alliance, alliance) if alliance else None,
            policy,
            policy.detect(own),
            ZoneInfo(alliance.timezone) if alliance else UTC_ZONE,
        )
        if generation == self.generations["chats"]:
            self.chats.put(chat_id, entry)
        return entry

    async def _own_terms(self, session: AsyncSession, alliance: Alliance) -> frozenset[str]:
        """The alliance's own contacts, never an ad: the owners' allow list and the handles of
        its owners, its groups' admins and its public groups (read once per OWN_TTL)."""
        terms = self.own.get(alliance.id)
        if terms is None:
            listed = AlliancePolicy.load(alliance.policy).allowed
            handles = await own_handles(session, alliance.id, alliance.owner_ids)
            words = {t for t in map(allowed_term, [*listed, *handles]) if t is not None}
            terms = frozenset(words)
            self.own.put(alliance.id, terms)
        return terms

    async def has_warnings(
        self, uow: SessionSource, alliance_id: int, user_id: int, now: datetime
    ) -> bool:
        """Whether the user has an active warning in the alliance (one query per alliance)."""
        ids = self.warned.get(alliance_id)
        if ids is None:
            generation = self.generations["warned"]
            rows = await uow.session.scalars(
                select(Warning.user_id)
                .where(
                    Warning.alliance_id == alliance_id,
                    Warning.revoked_at.is_(None),
                    Warning.expires_at > now,
                )
                .distinct()
            )
            ids = frozenset(rows)
            if generation == self.generations["warned"]:
                self.warned.put(alliance_id, ids)
        return user_id in ids

    async def is_blacklisted(self, uow: SessionSource, alliance_id: int, user_id: int) -> bool:
        """Whether the user is on the alliance's blacklist: the whole list is read once per
        BLACKLIST_TTL; an entry written since is read again on its own (a raid adds entries
        by the hundred: the list is never read whole again for them)."""
        listed = self.blacklists.get(alliance_id)
        if listed is None:
            generation = self.generations["blacklists"]
            rows = await uow.session.scalars(
                select(BlacklistEntry.user_id).where(
                    BlacklistEntry.alliance_id == alliance_id, BlacklistEntry.revoked_at.is_(None)
                )
            )
            listed = Listed(set(rows))
            if generation == self.generations["blacklists"]:
                self.blacklists.put(alliance_id, listed)
        elif user_id in listed.stale:
            row = await uow.session.get(BlacklistEntry, (alliance_id, user_id))
            listed.stale.discard(user_id)
            if row is not None and row.revoked_at is None:
                listed.ids.add(user_id)
            else:
                listed.ids.discard(user_id)
        return user_id in listed.ids

    async def member(self, uow: SessionSource, chat_id: int, user_id: int) -> MemberView | None:
        """The membership as last stored plus messages counted since (read-only, shared).

        A chat's memberships are loaded together, once per MEMBER_TTL: one query per chat, not
        one per sender. A membership written since is read again on its own.
        """
        members = self.members.get(chat_id)
        if members is None:
            generation = self.generations["members"]
            rows = await uow.session.scalars(select(Member).where(Member.chat_id == chat_id))
            members = ChatMembers({row.user_id: MemberView.of(row) for row in rows})
            if generation == self.generations["members"]:
                self.members.put(chat_id, members)
        elif user_id in members.stale:
            generation = self.generations["members"]
            row = await uow.session.get(Member, (chat_id, user_id))
            fresh = MemberView.of(row) if row is not None else None
            older = members.rows.get(user_id)
            if fresh is not None and older is not None:
                fresh.keep_counts_of(older)
            if generation == self.generations["members"]:
                members.stale.discard(user_id)
                if fresh is None:
                    members.rows.pop(user_id, None)
                else:
                    members.rows[user_id] = fresh
            return fresh
        return members.rows.get(user_id)

    def count_message(self, chat_id: int, user_id: int, at: datetime) -> None:
        """Keep the cached count current between loads (the database gets it in batches)."""
        members = self.members.get(chat_id)
        if members is None:
            return
        cached = members.rows.get(user_id)
        if cached is None:
            members.rows[user_id] = MemberView(
                status="member",
                first_seen=at,
                joined_at=None,
                left_at=None,
                messages_seen=1,
                last_message_at=at,
            )
        else:
            cached.count(at)

    def forget_written(self, written: Written) -> None:
        """Drop what a session's writes may have changed (committed or rolled back)."""
        if written.unknown:
            self.clear()
            return
        tables = set(written.tables)
        for table, key in written.rows:
            if table == "chat":
                self._drop("chats")
                self.chats.drop(key[0])
            elif table == "member":
                self._drop("members")
                members = self.members.get(key[0])
                if members is not None:
                    members.stale.add(key[1])
            elif table == "blacklist":
                self._drop("blacklists")
                listed = self.blacklists.get(key[0])
                if listed is not None:
                    listed.stale.add(key[1])
            else:
                tables.add(table)
        if "chat" in tables or "alliance" in tables:
            self._drop("chats")
            self.chats.clear()
            self.own.clear()
        if "member" in tables:
            self._drop("members")
            self.members.clear()
        if "blacklist" in tables:
            self._drop("blacklists")
            self.blacklists.clear()
        if "warning" in tables:
            self._drop("warned")
            self.warned.clear()

    def _drop(self, store: str) -> None:
        self.generations[store] += 1

    def clear(self) -> None:
        for store in self.generations:
            self._drop(store)
        self.chats.clear()
        self.own.clear()
        self.members.clear()
        self.blacklists.clear()
        self.warned.clear()
