"""Health aggregates in SQL, on SQLite and PostgreSQL: the counts of a small hand-made group, the
roles the daily UPDATE writes agree with the pure rules in rules.roles, alerts go out once."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.health import Window, compute
from rules.roles import MemberActivity, Role, RoleRules, behaviour_roles, from_bits
from storage.activity import ActivityRepository, DayCount, ReplyCount
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ChatRepository, MemberRepository
from storage.health import HealthRepository
from storage.models import Member
from storage.people import PeopleRepository
from storage.roles import RoleRepository
from storage.schedule import AlertRepository, ScheduleRepository

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
G1, G2 = -1001000000001, -1001000000002


@pytest.fixture
async def sessions(db_url):
    engine = create_engine(db_url)
    yield create_session_factory(engine)
    await engine.dispose()


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


async def _setup(session):
    alliance = await AllianceRepository(session).get_default(
        [1], timezone="Asia/Shanghai", language="en"
    )
    for gid in (G1, G2):
        await ChatRepository(session).upsert(
            gid, title=str(gid), status="active", alliance_id=alliance.id
        )
    return alliance


# user -> (days active of the last 30, messages a day, repliers, joined days ago or None, groups, present)
MEMBERS = {
    101: (20, 2, 0, None, 1, True),  # core
    102: (16, 1, 6, None, 1, True),  # core (16 days is "more than half"), influencer
    103: (15, 5, 0, None, 1, True),  # 15 days: not core
    104: (0, 0, 0, None, 2, True),  # lurker and partner
    105: (0, 0, 0, 3, 1, True),  # newcomer, not a lurker
    106: (2, 1, 5, 10, 1, True),  # influencer, not a newcomer any more (10 days)
    107: (20, 3, 9, None, 1, False),  # left: no roles
    108: (17, 1, 0, None, 1, True),  # 17 days but 17 messages... core
}


async def _members(session):
    members = MemberRepository(session)
    days, replies = [], []
    for uid, (active, per_day, repliers, joined_ago, groups, present) in MEMBERS.items():
        joined = at(TODAY - timedelta(days=joined_ago)) if joined_ago is not None else None
        for gid in (G1, G2)[:groups]:
            await members.record_join(
                gid,
                uid,
                at=joined or at(TODAY - timedelta(days=90)),
                invited_by=None,
                invite_link=None,
            )
            if joined is None:
                (await members.get(gid, uid)).joined_at = None
        if not present:
            await members.record_leave(G1, uid, at=at(TODAY - timedelta(days=1)), status="left")
        for d in range(active):
            days.append(DayCount(G1, TODAY - timedelta(days=d), uid, messages=per_day))
        for r in range(repliers):
            replies.append(ReplyCount(G1, TODAY - timedelta(days=r % 7), uid, 900 + r, 1))
    activity = ActivityRepository(session)
    await activity.add_days(days)
    await activity.add_replies(replies)
    await session.flush()


def _pure(uid: int) -> frozenset:
    active, per_day, repliers, joined_ago, groups, present = MEMBERS[uid]
    return behaviour_roles(
        MemberActivity(
            days_active=active,
            messages=active * per_day,
            distinct_repliers=repliers,
            groups=groups if present else groups - 1,
            joined_on=TODAY - timedelta(days=joined_ago) if joined_ago is not None else None,
            present=present,
        ),
        TODAY,
        RoleRules(),
    )


async def test_health_roles_in_sql_match_the_pure_rules(sessions):
    async with sessions() as s:
        alliance = await _setup(s)
        await _members(s)
        changed = await RoleRepository(s).recompute_roles(alliance.id, TODAY, TZ, NOW, RoleRules())
        await s.commit()
    assert changed >= 6
    async with sessions() as s:
        for uid in MEMBERS:
            member = await s.get(Member, (G1, uid))
            assert from_bits(member.role_flags) == _pure(uid), uid
        again = await RoleRepository(s).recompute_roles(alliance.id, TODAY, TZ, NOW, RoleRules())
        assert again == 0, "unchanged roles are not rewritten"
        one = await RoleRepository(s).member_activity(alliance.id, G1, 102, TODAY, TZ, RoleRules())
        assert (one.days_active, one.messages, one.distinct_repliers) == (16, 16, 6)
        await MemberRepository(s).record_leave(G1, 101, at=at(TODAY), status="left")
        await RoleRepository(s).recompute_roles(alliance.id, TODAY, TZ, NOW, RoleRules())
        left = await PeopleRepository(s).departed(
            alliance.id, TZ, Window.ending(TODAY, 7), [Role.CORE, Role.INFLUENCER]
        )
        assert [(p.user_id, p.chat_id) for p in left] == [(101, G1)], "a core member who left"
        pruned = await HealthRepository(s).prune_activity(alliance.id, TODAY - timedelta(days=16))
        assert pruned == 3 + 3  # days 17..19 ago of members 101 and 107


async def test_health_group_counts_and_metrics(sessions):
    async with sessions() as s:
        alliance = await _setup(s)
        await _members(s)
        health = HealthRepository(s)
        # a member who only received a reaction, and one banned this week: neither is
        # active, and a ban is not an exit
        await ActivityRepository(s).add_days([DayCount(G1, TODAY, 555, reactions_received=2)])
        await MemberRepository(s).record_join(
            G1, 556, at=at(TODAY - timedelta(days=30)), invited_by=None, invite_link=None
        )
        await MemberRepository(s).record_leave(G1, 556, at=at(TODAY), status="kicked")
        await health.record_member_count(G1, TODAY, 40)
        await health.record_member_count(G1, TODAY - timedelta(days=7), 38)
        await s.commit()
    async with sessions() as s:
        week = Window.ending(TODAY, 7)
        counts = {
            c.chat_id: c for c in await HealthRepository(s).group_counts(alliance.id, week, TZ)
        }
    g1 = counts[G1]
    # active this week: 101, 102, 103, 106 (2 days), 107 (left since, still counted), 108
    assert g1.active_members == 6
    assert g1.messages == 7 * 2 + 7 * 1 + 7 * 5 + 2 * 1 + 7 * 3 + 7 * 1
    assert g1.members == 40
    assert g1.members_at_start == 38
    assert g1.leaves == 1
    assert g1.joins == 1  # 105 joined 3 days ago (106 joined 10 days ago)
    assert g1.top_messages == 7 * 5  # the top tenth of 6 active members is 1 member: 103
    metrics = compute(g1, week)
    assert metrics.active_ratio == pytest.approx(6 / 40)
    assert metrics.tier.value == "inactive"
    assert metrics.exit_rate == pytest.approx(1 / 38)
    assert counts[G2].active_members == 0
    assert counts[G2].members == 1


async def test_health_alerts_are_claimed_once_a_day_and_schedules_once(sessions):
    async with sessions() as s:
        alliance = await _setup(s)
        alerts = AlertRepository(s)
        assert await alerts.claim(G1, "member_left", TODAY, at=NOW)
        assert not await alerts.claim(G1, "member_left", TODAY, at=NOW)
        assert await alerts.claim(G1, "member_left", TODAY + timedelta(days=1), at=NOW)
        assert await alerts.claim(G2, "member_left", TODAY, at=NOW)
        schedules = ScheduleRepository(s)
        first = await schedules.ensure(alliance.id, "digest_daily", "daily 09:00")
        second = await schedules.ensure(alliance.id, "digest_daily", "daily 10:00")
        assert first.id == second.id
        assert second.recurrence == "daily 09:00"
        await s.commit()
