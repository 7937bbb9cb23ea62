"""Community health end to end: a simulated week of chat in three groups becomes the owner's
weekly digest (tiers, chart), a departing core member raises one alert, an admin leaving is a
departure like any other, and a digest that fell due while the bot was down is sent when it starts
again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.app import running
from sandbox.world import settle, wait_for
from storage.groups import MemberRepository
from storage.models import Activity, Inbox, Schedule, utcnow
from tests.e2e.conftest import start_bot

DAY = 86_400


async def _schedule_id(env, kind: str) -> int:
    async with env.session() as session:
        return await session.scalar(select(Schedule.id).where(Schedule.kind == kind))


async def _simulate_week(env, speakers: dict[str, int], members: int = 10) -> None:
    """`members` newcomers per group a week ago; then, on each of the 7 days before today,
    `speakers[group]` of them say something (one replies to another)."""
    world = env.world
    world.set_time_offset(-8 * DAY)
    for key in speakers:
        for n in range(members):
            env.members.join(env.user(f"{key}m{n}"), env.groups[key])
    await env.settle()
    for day in range(7, 0, -1):
        world.set_time_offset(-day * DAY)
        for key, count in speakers.items():
            for n in range(count):
                env.talk.send(env.user(f"{key}m{n}"), env.groups[key], f"hi {n} d{day}")
        await env.settle()
    world.set_time_offset(0)


async def _counted_messages(env) -> int:
    await env.rt.activity.flush()
    async with env.session() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(Activity.messages), 0))))


async def test_week_of_activity_becomes_weekly_digest_with_tiers_and_chart(env):
    # 13 in each group (10 members, owner, admin, bot): 6 speak = 46 % (high), 3 = 23 %
    # (general), 1 = 8 % (inactive, under 10 %)
    await _simulate_week(env, {"g1": 6, "g2": 3, "g3": 1})
    assert await _counted_messages(env) == 7 * (6 + 3 + 1)
    assert await env.app.scheduler.run(await _schedule_id(env, "upkeep"), now=utcnow())
    weekly = await _schedule_id(env, "digest_weekly")
    async with env.session() as session:  # due today at midnight: the week is the 7 days before
        await session.execute(
            update(Schedule).where(Schedule.id == weekly).values(recurrence="daily 00:00")
        )
        await session.commit()
    assert await env.app.scheduler.run(weekly, now=utcnow())
    assert not await env.app.scheduler.run(weekly, now=utcnow()), "one occurrence, one digest"

    digest = await env.wait_private("olga", "Weekly digest")
    assert "3 groups" in digest
    lines = digest.splitlines()
    line = {key: next(x for x in lines if f"Club {key[-1]}" in x) for key in ("g1", "g2", "g3")}
    assert line["g1"].startswith("🟢")
    assert "46%" in line["g1"]
    assert line["g2"].startswith("🟡")
    assert "23%" in line["g2"]
    assert line["g3"].startswith("🔴")
    assert "8%" in line["g3"]
    attention = digest.index("Needs attention")
    assert attention < digest.index("Club 3") < digest.index("Groups by tier")
    assert "under 10% active" in digest
    await wait_for(lambda: env.world.calls("sendPhoto"), timeout=20, what="the chart")
    photo = env.world.calls("sendPhoto")[-1]
    assert photo.params["chat_id"] in (str(env.users["olga"].id), env.users["olga"].id)
    olga_chat = env.world.private_chat("olga")
    photos = [m for m in env.world.bot_messages(olga_chat) if "photo" in m.extra]
    assert photos
    assert photos[-1].caption.startswith("📊 Weekly digest")


async def test_owner_asks_for_the_digest_and_groups_now(env):
    await _simulate_week(env, {"g1": 6, "g2": 3, "g3": 1})
    await env.rt.activity.flush()
    env.talk.private("olga", "/groups")
    groups = await env.wait_private("olga", "Your groups")
    assert groups.index("Club 3") < groups.index("Club 1")  # attention first
    env.talk.private("olga", "/digest weekly")
    await env.wait_private("olga", "Weekly digest")
    env.talk.private("olga", "/digest hourly")
    await env.wait_private("olga", "Usage: /digest")
    env.talk.private("adam", "/digest")
    await env.wait_private("adam", "Only the owners")


async def test_core_member_leaving_alerts_the_owner_once(env):
    world, g1 = env.world, env.groups["g1"]
    world.set_time_offset(-20 * DAY)
    env.members.join(env.user("carol"), g1)
    env.members.join(env.user("dave"), g1)
    env.members.join(env.user("dave"), env.groups["g2"])
    await env.settle()
    for day in range(20, 0, -1):
        world.set_time_offset(-day * DAY)
        env.talk.send(env.user("carol"), g1, f"good morning, day {day}")
    world.set_time_offset(0)
    await env.settle()
    services = env.rt
    await services.activity.flush()
    assert await env.app.scheduler.run(await _schedule_id(env, "upkeep"), now=utcnow())

    env.talk.send(env.users["adam"], g1, "/whois", reply_to=world.last_message_of("carol", g1))
    whois = await env.wait_bot_says(g1, "Roles:")
    assert "core member" in whois
    assert "participating" in whois

    env.members.leave("carol", g1)
    alert = await env.wait_private("olga", "left the group")
    assert "Carol" in alert
    assert "core member" in alert
    env.members.join(env.user("carol"), g1)
    env.members.leave("carol", g1)
    env.members.leave("dave", env.groups["g2"])  # a lurker, where nobody left yet: no alert
    await env.settle()
    await settle(world)
    alerts = [m for m in world.private_messages_to("olga") if "left the group" in m.text]
    assert len(alerts) == 1


async def test_admin_leaving_is_recorded_like_any_departure(env):
    g1, adam = env.groups["g1"], env.users["adam"]
    await env.admin_says(g1, "see you all")
    env.members.leave("adam", g1)
    await env.settle()
    async with env.session() as session:
        member = await MemberRepository(session).get(g1.id, adam.id)
        set_aside = await session.scalar(
            select(func.count()).select_from(Inbox).where(Inbox.status == "quarantined")
        )
    assert member.status == "left"
    assert set_aside == 0


async def test_restart_after_a_missed_due_time_still_sends_the_digest(env):
    settings = env.app.settings
    tz = ZoneInfo("Asia/Shanghai")
    due = datetime.now(tz) - timedelta(minutes=3)
    async with env.session() as session:
        await session.execute(
            update(Schedule)
            .where(Schedule.kind == "digest_daily")
            .values(
                recurrence=f"daily {due:%H:%M}",
                created_at=datetime.now(UTC) - timedelta(days=2),
                last_run_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        await session.commit()
    assert not [m for m in env.world.private_messages_to("olga") if "Daily digest" in m.text]

    await env.app.poller.stop()  # the running bot stops; a new one starts on the same database
    second = await start_bot(env.world, settings)
    async with running(second):
        await env.wait_private("olga", "Daily digest", timeout=30)
        async with second.runtime.sessions() as session:
            row = await session.scalar(select(Schedule).where(Schedule.kind == "digest_daily"))
            assert row.last_run_at is not None
            assert row.last_run_at >= due.astimezone(UTC) - timedelta(minutes=1)
        assert not await second.scheduler.run(row.id, now=utcnow())
    env.app.poller.start()
