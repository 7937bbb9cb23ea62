"""Shadow mode acts on nothing, on every path: calls queued before it was turned on are dropped,
/spam decides and logs but removes nothing, the weekly group report stays out of the group.
Answers to admins' commands still come (they are how an admin sees what would happen)."""

import asyncio

from sqlalchemy import select, update

from storage.models import ModerationLog, Schedule, utcnow

AD = "兼职日结 300-500，加薇 kk20931 私聊，名额有限"


async def test_calls_queued_before_shadow_mode_are_not_made(env):
    g1 = env.groups["g1"]
    env.members.join(env.user("amy"), g1)  # a welcome waits a moment to gather the wave
    await env.admin_says(g1, "/shadow on")
    await env.wait_bot_says(g1, "Shadow mode is on")
    await env.settle()
    await asyncio.sleep(2.0)  # longer than the welcome's gathering window
    assert not [t for t in env.bot_texts(g1) if "Welcome" in t]


async def test_spam_in_shadow_mode_removes_nothing(env):
    g1 = env.groups["g1"]
    await env.admin_says(g1, "/shadow on")
    await env.wait_bot_says(g1, "Shadow mode is on")
    env.members.join(env.user("eve"), g1)
    await env.settle()
    with_ad = await env.say("eve", g1, "新人报到，多多关照")
    await env.settle()
    command = await env.admin_reply(g1, with_ad, "/spam")
    await env.settle()
    assert not env.deleted(g1, with_ad)
    assert not env.deleted(g1, command)
    async with env.session() as s:
        actions = set((await s.scalars(select(ModerationLog.action))).all())
    assert {"would_warn", "would_delete"} <= actions


async def test_the_weekly_group_report_skips_a_group_in_shadow_mode(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    await env.admin_says(g1, "/shadow on")
    await env.wait_bot_says(g1, "Shadow mode is on")
    async with env.session() as s:
        await s.execute(
            update(Schedule)
            .where(Schedule.kind == "group_report")
            .values(paused=False, recurrence="daily 00:00")
        )
        await s.commit()
        report = await s.scalar(select(Schedule.id).where(Schedule.kind == "group_report"))
    before = len(env.bot_texts(g1))
    assert await env.app.scheduler.run(report, now=utcnow())
    await env.wait_bot_says(g2, "This week in")
    await env.settle()
    assert len(env.bot_texts(g1)) == before
