"""People behind the figures, in SQL: each group's most active members (one windowed
statement for all groups), the top inviters with how many of their invitees are blacklisted, and
the core members and influencers who left.

Names: the owners' digests name inviters and departed members as Name (@username, id), so that
the owner can find the account; the most active members, thanked inside their group, by name
only (an @username there would notify them). Bots are never among the most active."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import (
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.expression import ColumnElement

from rules.health import Window
from rules.roles import BEHAVIOUR_BITS, Role
from storage.groups import PRESENT, Repository
from storage.health import Bounds, active_chats
from storage.models import (
    Activity,
    BlacklistEntry,
    Member,
    MemberEvent,
    TgUser,
)


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    count: int
    chat_id: int | None = None
    extra: int = 0


class PeopleRepository(Repository):
    async def top_contributors(self, chat_id: int, window: Window, limit: int = 5) -> list[Person]:
        found = await self._top(Activity.chat_id == chat_id, window, limit)
        return found.get(chat_id, [])

    async def top_contributors_by_group(
        self, alliance_id: int, window: Window, limit: int = 5
    ) -> dict[int, list[Person]]:
        """Every group's most active members, in one statement."""
        return await self._top(Activity.chat_id.in_(active_chats(alliance_id)), window, limit)

    async def _top(
        self, which: ColumnElement[bool], window: Window, limit: int
    ) -> dict[int, list[Person]]:
        total = func.sum(Activity.messages).label("total")
        per_member = (
            select(Activity.chat_id, Activity.user_id, total)
            .outerjoin(TgUser, TgUser.id == Activity.user_id)
            .where(
                which,
                Activity.day.between(window.start, window.end),
                Activity.messages > 0,
                or_(TgUser.is_bot.is_(None), TgUser.is_bot.is_(False)),
            )
            .group_by(Activity.chat_id, Activity.user_id)
            .subquery()
        )
        rank = (
            func.row_number()
            .over(
                partition_by=per_member.c.chat_id,
                order_by=(per_member.c.total.desc(), per_member.c.user_id),
            )
            .label("rank")
        )
        ranked = select(per_member, rank).subquery()
        rows = await self.session.execute(
            select(
                ranked.c.chat_id,
                ranked.c.user_id,
                ranked.c.total,
                TgUser.first_name,
                TgUser.username,
            )
            .outerjoin(TgUser, TgUser.id == ranked.c.user_id)
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.chat_id, ranked.c.rank)
        )
        found: dict[int, list[Person]] = {}
        for r in rows:
            found.setdefault(r[0], []).append(Person(r[1], _name(r[3], r[4], r[1]), int(r[2])))
        return found

    async def top_inviters(
        self, alliance_id: int, tz: ZoneInfo, window: Window, limit: int = 5
    ) -> list[Person]:
        """Who brought the most members in, and how many of them are blacklisted now."""
        bounds = Bounds.of(window, tz)
        barred = (
            select(literal(1))
            .where(
                BlacklistEntry.alliance_id == alliance_id,
                BlacklistEntry.user_id == MemberEvent.user_id,
                BlacklistEntry.revoked_at.is_(None),
            )
            .exists()
        )
        invited = func.count().label("invited")
        rows = await self.session.execute(
            select(
                MemberEvent.inviter_id,
                invited,
                func.sum(case((barred, 1), else_=0)),
                TgUser.first_name,
                TgUser.username,
                TgUser.last_name,
            )
            .outerjoin(TgUser, TgUser.id == MemberEvent.inviter_id)
            .where(
                MemberEvent.chat_id.in_(active_chats(alliance_id)),
                MemberEvent.kind == "join",
                MemberEvent.inviter_id.is_not(None),
                MemberEvent.at >= bounds.start,
                MemberEvent.at < bounds.end,
            )
            .group_by(MemberEvent.inviter_id, TgUser.first_name, TgUser.username, TgUser.last_name)
            .order_by(invited.desc(), MemberEvent.inviter_id)
            .limit(limit)
        )
        return [
            Person(r[0], _full(r[3], r[5], r[4], r[0]), int(r[1]), extra=int(r[2] or 0))
            for r in rows
        ]

    async def departed(
        self, alliance_id: int, tz: ZoneInfo, window: Window, roles: Sequence[Role]
    ) -> list[Person]:
        """Members holding one of `roles` (as last computed) who left within the window."""
        bits = sum(BEHAVIOUR_BITS[role] for role in roles)
        bounds = Bounds.of(window, tz)
        rows = await self.session.execute(
            select(
                Member.user_id,
                Member.chat_id,
                Member.role_flags,
                TgUser.first_name,
                TgUser.username,
                TgUser.last_name,
            )
            .outerjoin(TgUser, TgUser.id == Member.user_id)
            .where(
                Member.chat_id.in_(active_chats(alliance_id)),
                Member.status.not_in(PRESENT),
                Member.left_at >= bounds.start,
                Member.left_at < bounds.end,
                Member.role_flags.op("&")(bits) != 0,
            )
            .order_by(Member.left_at)
        )
        return [
            Person(r[0], _full(r[3], r[5], r[4], r[0]), 0, chat_id=r[1], extra=r[2]) for r in rows
        ]


def _name(first_name: str | None, username: str | None, user_id: int) -> str:
    """A name to show (not an @mention, which would notify the person)."""
    return first_name or (f"@{username}" if username else str(user_id))


def _full(first_name: str | None, last_name: str | None, username: str | None, user_id: int) -> str:
    """Name (@username, id), as the owners read people in their private chat."""
    name = " ".join(p for p in (first_name, last_name) if p)
    handle = f"@{username}, " if username else ""
    return f"{name} ({handle}{user_id})" if name else f"{handle}{user_id}"
