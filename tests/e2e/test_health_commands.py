"""Health features people touch directly: reactions and replies counted, /stats, /vip, /whois,
/schedule, alerts when the bot loses its rights or an ad wave hits, and the in-group report."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.scheduler import job_name
from storage.models import Activity, ActivityReply, Schedule, utcnow


async def _rows(env, model):
    await env.rt.activity.flush()
    async with env.session() as session:
        return list(await session.scalars(select(model)))


async def test_reactions_and_replies_are_credited_to_the_author(env):
    g1 = env.groups["g1"]
    for name in ("amy", "bob", "cal"):
        env.members.join(env.user(name), g1)
    await env.settle()
    post = await env.say("amy", g1, "photos from Saturday")
    env.talk.react(env.user("bob"), g1, post, "👍")
    env.talk.react(env.user("cal"), g1, post, "❤")
    env.talk.react(env.user("cal"), g1, post, "🔥")  # replaces cal's heart: still one each
    env.talk.react(env.user("amy"), g1, post, "👍")  # her own message: not counted
    env.talk.send(env.user("bob"), g1, "great shots", reply_to=post)
    await env.settle()
    rows = {r.user_id: r for r in await _rows(env, Activity)}
    amy, bob = rows[env.users["amy"].id], rows[env.users["bob"].id]
    assert (amy.messages, amy.replies_received, amy.reactions_received) == (1, 1, 2)
    assert (bob.messages, bob.replies_received, bob.reactions_received) == (1, 0, 0)
    edges = await _rows(env, ActivityReply)
    assert [(e.author_id, e.replier_id, e.replies) for e in edges] == [
        (env.users["amy"].id, env.users["bob"].id, 1)
    ]


async def test_stats_vip_and_whois_in_a_group(env):
    g1 = env.groups["g1"]
    env.members.join(env.user("amy"), g1)
    await env.settle()
    post = await env.say("amy", g1, "hello everyone")
    await env.settle()
    await env.rt.activity.flush()
    await env.admin_says(g1, "/stats")
    stats = await env.wait_bot_says(g1, "last 7 days")
    assert "Active members: 1 of" in stats
    assert "Top contributors: Amy (1)" in stats

    await env.say("amy", g1, "/stats")
    await env.wait_bot_says(g1, "Only the group's owner and admins")

    await env.admin_reply(g1, post, "/vip")
    await env.wait_bot_says(g1, "is now a VIP")
    await env.admin_says(g1, "/vip")
    await env.wait_bot_says(g1, f"VIPs: Amy (@amy, {env.users['amy'].id})")
    await env.admin_reply(g1, post, "/whois")
    whois = await env.wait_bot_says(g1, "Roles:")
    assert "VIP" in whois
    assert "newcomer" in whois
    assert "participating" in whois
    await env.admin_reply(g1, post, "/vip off")
    await env.wait_bot_says(g1, "no longer a VIP")
    await env.admin_says(g1, "/whois")
    await env.wait_bot_says(g1, "Usage: reply to a member's message with /whois")


async def test_schedule_changes_are_stored_and_installed(env):
    env.talk.private("olga", "/schedule")
    listing = await env.wait_private("olga", "Schedules (time zone")
    assert "Weekly digest: mon 09:00" in listing
    assert "Weekly report in each group: off" in listing

    env.talk.private("olga", "/schedule weekly fri 18:30")
    await env.wait_private("olga", "Weekly digest: fri 18:30")
    env.talk.private("olga", "/schedule daily 25:00")
    await env.wait_private("olga", "could not read “25:00”")
    env.talk.private("olga", "/schedule timezone Mars/Olympus")
    await env.wait_private("olga", "Unknown time zone “Mars/Olympus”")
    env.talk.private("olga", "/schedule timezone Asia")  # a folder of zones, not a zone
    await env.wait_private("olga", "Unknown time zone “Asia”")
    env.talk.private("olga", "/schedule weekly 09:00")
    await env.wait_private("olga", "A weekly schedule needs its day")
    env.talk.private("olga", "/schedule report 每周日 20:00")
    await env.wait_private("olga", "Weekly report in each group: sun 20:00")
    env.talk.private("adam", "/schedule")
    await env.wait_private("adam", "Only the owners")

    async with env.session() as session:
        rows = {r.kind: r for r in await session.scalars(select(Schedule))}
    assert rows["digest_weekly"].recurrence == "fri 18:30"
    assert not rows["group_report"].paused
    jobs = env.app.app.job_queue
    assert jobs.get_jobs_by_name(job_name(rows["digest_weekly"].id))
    assert jobs.get_jobs_by_name(job_name(rows["group_report"].id))


async def test_weekly_report_inside_each_group_thanks_top_contributors(env):
    g1 = env.groups["g1"]
    env.members.join(env.user("amy"), g1)
    await env.settle()
    await env.say("amy", g1, "first")
    await env.say("amy", g1, "second")
    await env.settle()
    await env.rt.activity.flush()
    async with env.session() as session:
        row = await session.scalar(select(Schedule).where(Schedule.kind == "group_report"))
        await session.execute(  # due today (after midnight), so the week ends today
            update(Schedule)
            .where(Schedule.id == row.id)
            .values(paused=False, recurrence="daily 00:00")
        )
        await session.commit()
    assert await env.app.scheduler.run(row.id, now=utcnow())
    report = await env.wait_bot_says(g1, "This week in Club 1")
    assert "Amy: 2 messages" in report
    await env.wait_bot_says(env.groups["g2"], "This week in Club 2")


async def test_owner_is_alerted_when_the_bot_loses_its_rights(env):
    env.members.demote(env.world.bot, env.groups["g2"], by="olga")
    alert = await env.wait_private("olga", "lost my admin rights")
    assert "Club 2" in alert
    env.members.remove_bot(env.groups["g3"], by="olga")
    await env.wait_private("olga", "I was removed from the group")


async def test_an_ad_wave_alerts_the_owner_once(env):
    g1 = env.groups["g1"]
    for n in range(7):
        uid = env.user(f"promo{n}").id
        await env.admin_says(g1, f"/blacklist {uid} ads")
    await env.settle()
    alert = await env.wait_private("olga", "ad wave")
    assert "Club 1" in alert
    assert "5 accounts" in alert
    await env.settle()
    waves = [m for m in env.world.private_messages_to("olga") if "ad wave" in m.text]
    assert len(waves) == 1


async def test_removed_ads_and_bots_are_not_activity(env):
    g1 = env.groups["g1"]
    env.members.join(env.user("amy"), g1)
    env.members.join(env.user("spam"), g1)
    await env.settle()
    await env.say("amy", g1, "see you at the meetup")
    ad = await env.say("spam", g1, "兼职日结 300-500，加薇 kk20931 私聊，名额有限")
    await env.wait_for(lambda: env.deleted(g1, ad), timeout=15)
    rows = {r.user_id: r.messages for r in await _rows(env, Activity)}
    assert rows == {env.users["amy"].id: 1}
