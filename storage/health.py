"""Aggregates for group health, computed in SQL: a handful of GROUP BY statements per alliance
and window, whatever the number of groups and members; Python sees one row per group.

Windows are local days (rules.health.Window); events carry UTC times, so a window is turned into
its UTC bounds in the alliance's time zone. People (top contributors, inviters, who left) are in
storage.people, roles in storage.roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    select,
)
from sqlalchemy.sql.expression import ScalarSelect

from rules.health import GroupCounts, GroupMetrics, Window
from storage.groups import PRESENT, Repository, affected, table_of, upsert
from storage.models import (
    Activity,
    ActivityReply,
    BlacklistEntry,
    Chat,
    ChatDay,
    GroupPeriod,
    Member,
    MemberEvent,
    ModerationLog,
)


@dataclass(frozen=True)
class Bounds:
    """A window of local days as UTC instants: start <= t < end."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, window: Window, tz: ZoneInfo) -> Bounds:
        def at(day: date) -> datetime:
            return datetime.combine(day, time(0), tz).astimezone(UTC)

        return cls(at(window.start), at(window.end + timedelta(days=1)))


@dataclass(frozen=True)
class ChatRow:
    id: int
    title: str
    member_count: int | None
    since: datetime  # when the bot started serving the group


@dataclass(frozen=True)
class TrendRow:
    day: date
    messages: int
    active_members: int


@dataclass(frozen=True)
class Moderation:
    ads_removed: int
    blacklisted: int


def active_chats(alliance_id: int, chat_id: int | None = None) -> ScalarSelect[int]:
    """The ids of the alliance's active groups (or just `chat_id`), as a subquery."""
    query = select(Chat.id).where(Chat.alliance_id == alliance_id, Chat.status == "active")
    return (query if chat_id is None else query.where(Chat.id == chat_id)).scalar_subquery()


class HealthRepository(Repository):
    async def chats(self, alliance_id: int, chat_id: int | None = None) -> list[ChatRow]:
        query = select(Chat.id, Chat.title, Chat.member_count, Chat.created_at).where(
            Chat.alliance_id == alliance_id, Chat.status == "active"
        )
        if chat_id is not None:
            query = query.where(Chat.id == chat_id)
        rows = await self.session.execute(query.order_by(Chat.id))
        return [ChatRow(r.id, r.title, r.member_count, r.created_at) for r in rows]

    async def group_counts(
        self,
        alliance_id: int,
        window: Window,
        tz: ZoneInfo,
        *,
        settle_days: int = 7,
        chat_id: int | None = None,
    ) -> list[GroupCounts]:
        """GroupCounts for every active group of the alliance (or just `chat_id`) over `window`."""
        chats = active_chats(alliance_id, chat_id)
        bounds = Bounds.of(window, tz)
        activity = await self._activity(chats, window)
        events = await self._events(chats, bounds)
        cohort = await self._cohort(chats, Bounds.of(window.cohort(settle_days), tz))
        known = dict(
            (
                await self.session.execute(
                    select(Member.chat_id, func.count())
                    .where(Member.chat_id.in_(chats), Member.status.in_(PRESENT))
                    .group_by(Member.chat_id)
                )
            )
            .tuples()
            .all()
        )
        at_end = await self._member_counts(chats, window.end)
        at_start = await self._member_counts(chats, window.start - timedelta(days=1))
        result = []
        for chat in await self.chats(alliance_id, chat_id):
            active, messages, top = activity.get(chat.id, (0, 0, 0))
            joins, leaves = events.get(chat.id, (0, 0))
            joined, retained = cohort.get(chat.id, (0, 0))
            known_members = known.get(chat.id, 0)
            # Telegram's count, but never below the members seen present since it was taken
            members = max(at_end.get(chat.id) or chat.member_count or 0, known_members)
            result.append(
                GroupCounts(
                    chat_id=chat.id,
                    members=members,
                    members_at_start=at_start.get(chat.id),
                    active_members=active,
                    messages=messages,
                    joins=joins,
                    leaves=leaves,
                    cohort_joined=joined,
                    cohort_retained=retained,
                    top_messages=top,
                    known_members=known_members,
                )
            )
        return result

    async def _activity(
        self, chats: ScalarSelect[int], window: Window
    ) -> dict[int, tuple[int, int, int]]:
        """Per group: active members, messages, and messages of the most active tenth."""
        per_member = (
            select(
                Activity.chat_id,
                Activity.user_id,
                func.sum(Activity.messages).label("m"),
            )
            .where(
                Activity.chat_id.in_(chats),
                Activity.day.between(window.start, window.end),
                Activity.messages > 0,
            )
            .group_by(Activity.chat_id, Activity.user_id)
            .subquery()
        )
        ranked = select(
            per_member.c.chat_id,
            per_member.c.m,
            func.row_number()
            .over(partition_by=per_member.c.chat_id, order_by=per_member.c.m.desc())
            .label("rn"),
            func.count().over(partition_by=per_member.c.chat_id).label("n"),
        ).subquery()
        top_tenth = (ranked.c.n + 9) // 10  # ceil(n / 10)
        rows = await self.session.execute(
            select(
                ranked.c.chat_id,
                func.count(),
                func.sum(ranked.c.m),
                func.sum(case((ranked.c.rn <= top_tenth, ranked.c.m), else_=0)),
            ).group_by(ranked.c.chat_id)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}

    async def _events(self, chats: ScalarSelect[int], bounds: Bounds) -> dict[int, tuple[int, int]]:
        rows = await self.session.execute(
            select(
                MemberEvent.chat_id,
                func.sum(case((MemberEvent.kind == "join", 1), else_=0)),
                func.sum(case((MemberEvent.kind == "leave", 1), else_=0)),
            )
            .where(
                MemberEvent.chat_id.in_(chats),
                MemberEvent.at >= bounds.start,
                MemberEvent.at < bounds.end,
            )
            .group_by(MemberEvent.chat_id)
        )
        return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}

    async def _cohort(self, chats: ScalarSelect[int], bounds: Bounds) -> dict[int, tuple[int, int]]:
        """Per group: members who joined within `bounds`, and of those the ones still present
        who spoke at least once since joining."""
        retained = and_(Member.status.in_(PRESENT), Member.last_message_at >= Member.joined_at)
        rows = await self.session.execute(
            select(Member.chat_id, func.count(), func.sum(case((retained, 1), else_=0)))
            .where(
                Member.chat_id.in_(chats),
                Member.joined_at >= bounds.start,
                Member.joined_at < bounds.end,
            )
            .group_by(Member.chat_id)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}

    async def _member_counts(self, chats: ScalarSelect[int], day: date) -> dict[int, int]:
        rows = await self.session.execute(
            select(ChatDay.chat_id, ChatDay.member_count).where(
                ChatDay.chat_id.in_(chats), ChatDay.day == day
            )
        )
        return dict(rows.tuples().all())

    async def trend(self, alliance_id: int, window: Window) -> list[TrendRow]:
        """Per day across the alliance: messages and active members (summed over groups)."""
        rows = await self.session.execute(
            select(Activity.day, func.sum(Activity.messages), func.count())
            .where(
                Activity.chat_id.in_(active_chats(alliance_id)),
                Activity.day.between(window.start, window.end),
                Activity.messages > 0,
            )
            .group_by(Activity.day)
            .order_by(Activity.day)
        )
        by_day = {r[0]: TrendRow(r[0], int(r[1] or 0), int(r[2])) for r in rows}
        days = (window.start + timedelta(days=i) for i in range(window.days))
        return [by_day.get(day, TrendRow(day, 0, 0)) for day in days]

    async def moderation(self, alliance_id: int, tz: ZoneInfo, window: Window) -> Moderation:
        bounds = Bounds.of(window, tz)
        removed = await self.session.scalar(
            select(func.count()).where(
                ModerationLog.chat_id.in_(active_chats(alliance_id)),
                ModerationLog.action == "delete",
                ModerationLog.at >= bounds.start,
                ModerationLog.at < bounds.end,
            )
        )
        barred = await self.session.scalar(
            select(func.count()).where(
                BlacklistEntry.alliance_id == alliance_id,
                BlacklistEntry.created_at >= bounds.start,
                BlacklistEntry.created_at < bounds.end,
            )
        )
        return Moderation(int(removed or 0), int(barred or 0))

    async def blacklisted_since(self, chat_id: int, since: datetime) -> int:
        """Accounts blacklisted from this group since `since` (for spam-wave alerts)."""
        count = await self.session.scalar(
            select(func.count()).where(
                BlacklistEntry.source_chat_id == chat_id,
                BlacklistEntry.created_at >= since,
                BlacklistEntry.revoked_at.is_(None),
            )
        )
        return int(count or 0)

    async def record_member_count(self, chat_id: int, day: date, count: int) -> None:
        stmt = upsert(self.session, ChatDay).values(chat_id=chat_id, day=day, member_count=count)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["chat_id", "day"], set_={"member_count": count}
            )
        )
        chat = await self.session.get(Chat, chat_id)
        if chat is not None:
            chat.member_count = count

    async def keep_periods(self, period: str, start: date, metrics: Sequence[GroupMetrics]) -> None:
        """Record each group's figures and tier for a period (the weekly tier history), in one
        statement for all groups."""
        if not metrics:
            return
        figures = ("members", "active_members", "active_ratio", "exit_rate", "joins", "leaves")
        stmt = upsert(self.session, table_of(GroupPeriod))
        stmt = stmt.on_conflict_do_update(
            index_elements=["chat_id", "period", "start"],
            set_={name: stmt.excluded[name] for name in (*figures, "messages", "tier")},
        )
        rows = [
            {
                "chat_id": m.chat_id,
                "period": period,
                "start": start,
                **{name: getattr(m, name) for name in figures},
                "messages": m.messages,
                "tier": m.tier.value,
            }
            for m in metrics
        ]
        await self.session.execute(stmt, rows)

    async def prune_activity(self, alliance_id: int, before: date) -> int:
        """Forget the alliance's daily counters older than `before` (joins and leaves are kept).
        By group, so each deletion is a range of the primary key (chat_id, day, ...)."""
        removed = 0
        chats = active_chats(alliance_id)
        for model in (Activity, ActivityReply):
            result = await self.session.execute(
                delete(model).where(model.chat_id.in_(chats), model.day < before)
            )
            removed += affected(result)
        return removed

    # -- roles ---------------------------------------------------------------------------------
