"""Roles from behaviour, in SQL: one UPDATE ... FROM per alliance writes every member's role
flags with the thresholds of rules.roles.RoleRules; one member's figures for /whois."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    func,
    literal_column,
    not_,
    select,
    update,
)
from sqlalchemy.sql.expression import ColumnElement

from rules.health import Window
from rules.roles import BEHAVIOUR_BITS, MemberActivity, Role, RoleRules
from storage.groups import PRESENT, Repository, affected
from storage.health import Bounds, active_chats
from storage.models import (
    Activity,
    ActivityReply,
    Member,
)


class RoleRepository(Repository):
    async def recompute_roles(
        self, alliance_id: int, today: date, tz: ZoneInfo, now: datetime, rules: RoleRules
    ) -> int:
        """Write every member's behaviour roles for the window ending `today`, in one statement;
        the number of members whose roles changed."""
        window = Window.ending(today, rules.window_days)
        chats = active_chats(alliance_id)
        in_window = and_(Activity.day.between(window.start, window.end), Activity.messages > 0)
        act = (
            select(
                Activity.chat_id,
                Activity.user_id,
                func.count().label("days"),
                func.sum(Activity.messages).label("messages"),
            )
            .where(Activity.chat_id.in_(chats), in_window)
            .group_by(Activity.chat_id, Activity.user_id)
            .subquery()
        )
        rep = (
            select(
                ActivityReply.chat_id,
                ActivityReply.author_id,
                func.count(func.distinct(ActivityReply.replier_id)).label("repliers"),
            )
            .where(
                ActivityReply.chat_id.in_(chats),
                ActivityReply.day.between(window.start, window.end),
            )
            .group_by(ActivityReply.chat_id, ActivityReply.author_id)
            .subquery()
        )
        grp = (  # only users in enough groups: the rest count as 0, and the join stays small
            select(Member.user_id, func.count().label("groups"))
            .where(Member.chat_id.in_(chats), Member.status.in_(PRESENT))
            .group_by(Member.user_id)
            .having(func.count() >= rules.partner_min_groups)
            .subquery()
        )
        newcomer_since = Bounds.of(Window.ending(today, rules.newcomer_days), tz).start
        m = Member.__table__.alias("m")
        messages = func.coalesce(act.c.messages, 0)
        newcomer = and_(m.c.joined_at.is_not(None), m.c.joined_at >= newcomer_since)

        def bit(condition: ColumnElement[bool], role: Role) -> ColumnElement[int]:
            return case((condition, BEHAVIOUR_BITS[role]), else_=0)

        flags = (
            bit(
                and_(
                    func.coalesce(act.c.days, 0) >= rules.core_min_days(),
                    messages >= rules.core_min_messages,
                ),
                Role.CORE,
            )
            + bit(
                func.coalesce(rep.c.repliers, 0) >= rules.influencer_min_repliers, Role.INFLUENCER
            )
            + bit(and_(messages == 0, not_(newcomer)), Role.LURKER)
            + bit(grp.c.groups.is_not(None), Role.PARTNER)
            + bit(newcomer, Role.NEWCOMER)
        )
        # The target row is joined by its physical row id, which the planner knows to be unique
        # (a join on (chat_id, user_id) of member with itself is estimated at a few hundred rows
        # and planned as nested loops). Members who left keep the roles they had: the digest
        # lists the core members and influencers who left.
        row_id = "ctid" if self.session.bind.dialect.name == "postgresql" else "rowid"
        computed = (
            select(
                literal_column(f"m.{row_id}").label("tid"),
                cast(flags, Integer).label("flags"),
            )
            .select_from(m)
            .outerjoin(act, and_(act.c.chat_id == m.c.chat_id, act.c.user_id == m.c.user_id))
            .outerjoin(rep, and_(rep.c.chat_id == m.c.chat_id, rep.c.author_id == m.c.user_id))
            .outerjoin(grp, grp.c.user_id == m.c.user_id)
            .where(m.c.chat_id.in_(chats), m.c.status.in_(PRESENT))
            .subquery()
        )
        result = await self.session.execute(
            update(Member)
            .values(role_flags=computed.c.flags, roles_at=now)
            .where(
                literal_column(f"member.{row_id}") == computed.c.tid,
                Member.role_flags != computed.c.flags,
            )
            .execution_options(synchronize_session=False)
        )
        return affected(result)

    async def member_activity(
        self,
        alliance_id: int,
        chat_id: int,
        user_id: int,
        today: date,
        tz: ZoneInfo,
        rules: RoleRules,
    ) -> MemberActivity | None:
        """One member's figures for the role rules (for /whois)."""
        member = await self.session.get(Member, (chat_id, user_id))
        if member is None:
            return None
        window = Window.ending(today, rules.window_days)
        days, messages = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.sum(Activity.messages), 0)).where(
                    Activity.chat_id == chat_id,
                    Activity.user_id == user_id,
                    Activity.day.between(window.start, window.end),
                    Activity.messages > 0,
                )
            )
        ).one()
        repliers = await self.session.scalar(
            select(func.count(func.distinct(ActivityReply.replier_id))).where(
                ActivityReply.chat_id == chat_id,
                ActivityReply.author_id == user_id,
                ActivityReply.day.between(window.start, window.end),
            )
        )
        groups = await self.session.scalar(
            select(func.count()).where(
                Member.user_id == user_id,
                Member.status.in_(PRESENT),
                Member.chat_id.in_(active_chats(alliance_id)),
            )
        )
        joined = member.joined_at.astimezone(tz).date() if member.joined_at else None
        return MemberActivity(
            days_active=int(days),
            messages=int(messages),
            distinct_repliers=int(repliers or 0),
            groups=int(groups or 0),
            joined_on=joined,
            present=member.status in PRESENT,
            status=member.status,
            vip=bool(member.roles.get("vip")),
            butler=bool(member.roles.get("butler")),
        )
