"""Repositories for alliances, chats, members, seen users and processed updates.

Repositories flush, never commit: the caller owns the unit of work (one update or one job).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from rules.decision import Person
from storage.models import (
    Activity,
    ActivityReply,
    AlertSent,
    Alliance,
    Base,
    BlacklistEntry,
    Chat,
    ChatAdmin,
    ChatDay,
    GroupPeriod,
    Member,
    MemberEvent,
    ModerationLog,
    PostedMessage,
    Schedule,
    TgUser,
    Warning,
    utcnow,
)
from storage.upgrade import move_rows

log = logging.getLogger(__name__)

# everything kept per group, by the column naming the group: a group upgraded to a supergroup
# takes all of it along
CHAT_KEYED: tuple[tuple[type[Base], str], ...] = (
    (Member, "chat_id"),
    (ModerationLog, "chat_id"),
    (Warning, "chat_id"),
    (BlacklistEntry, "source_chat_id"),
    (Activity, "chat_id"),
    (ActivityReply, "chat_id"),
    (MemberEvent, "chat_id"),
    (ChatDay, "chat_id"),
    (GroupPeriod, "chat_id"),
    (ChatAdmin, "chat_id"),
    (PostedMessage, "chat_id"),
    (AlertSent, "chat_id"),
    (Schedule, "chat_id"),
)

# Telegram statuses of someone who is in the chat
PRESENT = ("member", "administrator", "creator", "restricted")


def upsert(session: AsyncSession, table: type[Base] | Table) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    if session.bind.dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def table_of(model: type[Base]) -> Table:
    """A model's table, for batches written through Core: one statement run for all rows
    (executemany), without the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


def affected(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE statement wrote. The session returns a
    CursorResult for those, though its `execute` is typed to return a plain Result."""
    assert isinstance(result, CursorResult)
    return result.rowcount


class Repository:
    """Base of the repositories: one session, owned (and committed) by the caller."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class AllianceRepository(Repository):
    async def get(self, alliance_id: int) -> Alliance | None:
        return await self.session.get(Alliance, alliance_id)

    async def get_default(self, owner_ids: list[int], *, timezone: str, language: str) -> Alliance:
        """The deployment's first alliance, created for OWNER_IDS on first use."""
        alliance = await self.session.scalar(select(Alliance).order_by(Alliance.id).limit(1))
        if alliance is None:
            alliance = Alliance(
                name="default", owner_ids=sorted(owner_ids), timezone=timezone, language=language
            )
            self.session.add(alliance)
            await self.session.flush()
        elif sorted(alliance.owner_ids) != sorted(owner_ids) and owner_ids:
            alliance.owner_ids = sorted(owner_ids)
        return alliance

    async def list_all(self) -> list[Alliance]:
        return list(await self.session.scalars(select(Alliance).order_by(Alliance.id)))


class ChatRepository(Repository):
    async def get(self, chat_id: int) -> Chat | None:
        return await self.session.get(Chat, chat_id)

    async def upsert(self, chat_id: int, **fields: Any) -> Chat:
        chat = await self.session.get(Chat, chat_id)
        if chat is None:
            chat = Chat(id=chat_id, **fields)
            self.session.add(chat)
        else:
            for key, value in fields.items():
                setattr(chat, key, value)
        await self.session.flush()
        return chat

    async def answer_request(self, chat_id: int, status: str, alliance_id: int | None) -> bool:
        """A group waiting for an owner's approval becomes `status`; False when it was no
        longer waiting (another owner answered first)."""
        result = await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id, Chat.status == "pending")
            .values(status=status, alliance_id=alliance_id)
        )
        return affected(result) > 0

    async def list_active(self, alliance_id: int) -> list[Chat]:
        rows = await self.session.scalars(
            select(Chat)
            .where(Chat.alliance_id == alliance_id, Chat.status == "active")
            .order_by(Chat.id)
        )
        return list(rows)

    async def list_with_language(self) -> list[tuple[int, str, str]]:
        """(id, title, language) of the active groups given a language of their own."""
        rows = await self.session.execute(
            select(Chat.id, Chat.title, Chat.language)
            .where(Chat.status == "active", Chat.language.is_not(None))
            .order_by(Chat.id)
        )
        return [(int(i), str(t), str(lang)) for i, t, lang in rows]

    async def migrate(
        self, old_id: int, new_id: int, moves: Sequence[tuple[type[Base], str]]
    ) -> Chat:
        """Move a group's data to its supergroup id (each table's chat column, as `moves`
        names it); the old row stays as a pointer. Rows the supergroup already has of its own
        stay; the group's are moved around them."""
        old = await self.session.get(Chat, old_id)
        new = await self.session.get(Chat, new_id)
        if old is None:
            return new if new is not None else await self.upsert(new_id, type="supergroup")
        if new is None:
            copied = {
                c.key: getattr(old, c.key)
                for c in Chat.__mapper__.column_attrs
                if c.key not in ("id", "created_at", "updated_at", "migrated_to")
            }
            new = Chat(id=new_id, **copied)
            new.type = "supergroup"
            self.session.add(new)
            await self.session.flush()
        for model, name in moves:
            merged = await move_rows(self.session, model, name, old_id, new_id)
            if merged:
                log.info(
                    "chat %s -> %s: %s %s rows merged", old_id, new_id, merged, model.__tablename__
                )
        old.status = "migrated"
        old.migrated_to = new_id
        await self.session.flush()
        return new


class MemberRepository(Repository):
    async def get(self, chat_id: int, user_id: int) -> Member | None:
        return await self.session.get(Member, (chat_id, user_id))

    async def record_join(
        self,
        chat_id: int,
        user_id: int,
        *,
        at: datetime,
        invited_by: int | None,
        invite_link: str | None,
        status: str = "member",
        fresh_within: timedelta = timedelta(minutes=2),
    ) -> bool:
        """Record an arrival; True when it is a new arrival (not the second report of one join)."""
        member = await self.get(chat_id, user_id)
        fresh = True
        if member is None:
            member = Member(chat_id=chat_id, user_id=user_id, first_seen=at)
            self.session.add(member)
        elif member.status in PRESENT and (
            member.joined_at is not None and at - member.joined_at < fresh_within
        ):
            fresh = False
        if fresh:
            member.joined_at = at
            self.session.add(
                MemberEvent(
                    chat_id=chat_id,
                    user_id=user_id,
                    at=at,
                    kind="join",
                    inviter_id=invited_by if invited_by != user_id else None,
                    invite_link=invite_link,
                )
            )
        elif invite_link is not None or invited_by is not None:
            await self._complete_join_event(chat_id, user_id, invited_by, invite_link)
        member.status = status
        member.left_at = None
        if invited_by is not None and invited_by != user_id:
            member.invited_by = invited_by
        if invite_link is not None:
            member.invite_link = invite_link
        await self.session.flush()
        return fresh

    async def set_status(self, chat_id: int, user_id: int, status: str) -> None:
        member = await self.get(chat_id, user_id)
        if member is None:
            member = Member(chat_id=chat_id, user_id=user_id, first_seen=utcnow())
            self.session.add(member)
        member.status = status
        await self.session.flush()

    async def _complete_join_event(
        self, chat_id: int, user_id: int, invited_by: int | None, invite_link: str | None
    ) -> None:
        """The second report of a join may name the inviter or the link the first did not."""
        event = await self.session.scalar(
            select(MemberEvent)
            .where(
                MemberEvent.chat_id == chat_id,
                MemberEvent.user_id == user_id,
                MemberEvent.kind == "join",
            )
            .order_by(MemberEvent.id.desc())
            .limit(1)
        )
        if event is None:
            return
        if event.inviter_id is None and invited_by is not None and invited_by != user_id:
            event.inviter_id = invited_by
        if event.invite_link is None and invite_link is not None:
            event.invite_link = invite_link

    async def record_leave(
        self, chat_id: int, user_id: int, *, at: datetime, status: str
    ) -> Member | None:
        """Record a departure; the member when they were present until now (a real leave, not
        the second report of one), else None."""
        member = await self.get(chat_id, user_id)
        departed = member is not None and member.status in PRESENT
        if member is None:
            member = Member(chat_id=chat_id, user_id=user_id, first_seen=at)
            self.session.add(member)
        if departed or member.left_at is None:
            # a ban is not an exit: the exit rate counts members who chose to go
            kind = "ban" if status == "kicked" else "leave"
            self.session.add(MemberEvent(chat_id=chat_id, user_id=user_id, at=at, kind=kind))
        member.status = status
        member.left_at = at
        await self.session.flush()
        return member if departed else None

    async def present_in(
        self, chat_ids: Sequence[int], user_id: int, statuses: Sequence[str] = PRESENT
    ) -> set[int]:
        """Which of the chats the user is known to be in (with one of `statuses`)."""
        rows = await self.session.scalars(
            select(Member.chat_id).where(
                Member.chat_id.in_(list(chat_ids)),
                Member.user_id == user_id,
                Member.status.in_(list(statuses)),
            )
        )
        return set(rows)

    async def history(self, chat_id: int, user_id: int, *, limit: int) -> list[MemberEvent]:
        """The member's latest joins and leaves in a chat, newest first."""
        rows = await self.session.scalars(
            select(MemberEvent)
            .where(MemberEvent.chat_id == chat_id, MemberEvent.user_id == user_id)
            .order_by(MemberEvent.at.desc(), MemberEvent.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def set_role(
        self, chat_id: int, user_id: int, role: str, value: dict[str, Any] | None
    ) -> None:
        """Give (value) or take (None) a role people assign, e.g. VIP."""
        member = await self.get(chat_id, user_id)
        if member is None:
            member = Member(chat_id=chat_id, user_id=user_id, first_seen=utcnow(), roles={})
            self.session.add(member)
        roles = dict(member.roles or {})
        if value is None:
            roles.pop(role, None)
        else:
            roles[role] = value
        member.roles = roles
        await self.session.flush()

    async def list_with_role(self, chat_id: int, role: str) -> list[int]:
        members = await self.session.scalars(
            select(Member).where(Member.chat_id == chat_id, Member.status.in_(PRESENT))
        )
        return [m.user_id for m in members if (m.roles or {}).get(role)]


class UserRepository(Repository):
    async def mark_started(self, user_id: int, *, first_name: str, username: str | None) -> None:
        """The user opened a private chat with the bot, so it may write to them."""
        stmt = upsert(self.session, TgUser).values(
            id=user_id,
            first_name=first_name[:255],
            username=username.lower() if username else None,
            started_bot=True,
            updated_at=utcnow(),
        )
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["id"], set_={"started_bot": True})
        )

    async def get(self, user_id: int) -> TgUser | None:
        return await self.session.get(TgUser, user_id)

    async def remember(self, people: Sequence[Person]) -> None:
        """Store people's names now (the batched record of senders comes a little later): a
        decision about someone names them right away."""
        if not people:
            return
        stmt = upsert(self.session, table_of(TgUser))
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                k: stmt.excluded[k] for k in ("first_name", "last_name", "username", "updated_at")
            },
        )
        now = utcnow()
        rows = {
            p.user_id: {
                "id": p.user_id,
                "first_name": p.name[:255],
                "last_name": None,
                "username": p.username.lower() if p.username else None,
                "is_bot": False,
                "started_bot": False,
                "updated_at": now,
            }
            for p in people
            if p.name
        }
        if rows:
            await self.session.execute(stmt, list(rows.values()))

    async def people(self, user_ids: Sequence[int]) -> dict[int, Person]:
        """Everyone of `user_ids` as people read them (Name (@username, id)); an account never
        seen is named by its id alone."""
        wanted = sorted(set(user_ids))
        found = {
            u.id: Person(u.id, " ".join(p for p in (u.first_name, u.last_name) if p), u.username)
            for u in await self.session.scalars(select(TgUser).where(TgUser.id.in_(wanted)))
        }
        return {i: found.get(i, Person(i, "")) for i in wanted}

    async def find_by_username(self, username: str) -> TgUser | None:
        name = username.removeprefix("@").lower()
        user: TgUser | None = await self.session.scalar(
            select(TgUser).where(TgUser.username == name).order_by(TgUser.updated_at.desc())
        )
        return user
