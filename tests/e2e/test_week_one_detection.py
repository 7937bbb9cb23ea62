"""Ordinary group life is no ad, end to end: greetings and common phrases in many groups, the
club's own contacts, a newcomer's question; and what an ad does get: a repeat after a warning
moves the ladder on, the warned account is not welcomed, a warning says only what happened.

Regulars get their history the way it happens: they joined days ago (the sandbox's clock is set
back) and chatted in each group before the story starts.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.app import running
from sandbox.membership import Membership
from sandbox.model import ADMIN_RIGHTS, Member
from sandbox.world import settle, wait_for
from storage.models import BlacklistEntry, ModerationLog, Warning
from tests.e2e.conftest import Env, start_env

DAY = 86400
GREETING = "祝大家新年快乐，万事如意！"
PHRASES = ("早上好", "收到", "谢谢群主", "哈哈哈", "好的", "新年快乐", "谢谢群主，收到！大家早上好")
HISTORY = ("今天路上好堵", "周末有人去跑山吗", "这个配件在哪里买的", "晚上一起吃饭吧")
ADS = (
    "兼职日结 300-500，加薇 kk20931 私聊，名额有限",
    "招代理，日赚 800，加V信 vx55667788 了解",
    "免费领取福利视频，进群 https://t.me/+AbCdEfGh12 速来",
    "高薪招聘客服，包吃住，联系飞机 @job_offer_hr88",
)


@pytest.fixture
async def env6(app_db_url):
    """Six groups of one alliance, as in the New Year story."""
    world, app, chats, users = await start_env(app_db_url, groups=6)
    async with running(app):
        for chat in chats.values():
            Membership(world).add_bot(chat, by=users["olga"])
        await wait_for(
            lambda: len(world.calls("sendMessage")) >= len(chats),
            timeout=20,
            what="the bot to greet its groups",
        )
        await settle(world)
        yield Env(world, app, users, chats)


async def _regulars(env: Env, names: list[str], groups: list, *, days: int = 5) -> None:
    """Members who joined `days` ago and have chatted in each of `groups` since."""
    env.world.shift(-days * DAY)
    for name in names:
        for group in groups:
            env.members.join(env.user(name), group)
    await env.settle()
    env.world.shift(DAY)
    for i, name in enumerate(names):
        for j, group in enumerate(groups):
            for k in range(3):
                env.talk.send(name, group, HISTORY[(i + j + k) % len(HISTORY)] + f" {k}")
    await env.settle()
    env.world.set_time_offset(0)
    await env.app.runtime.activity.flush()


async def _warnings_of(env: Env, user_ids: list[int]) -> int:
    async with env.session() as s:
        return await s.scalar(
            select(func.count()).select_from(Warning).where(Warning.user_id.in_(user_ids))
        )


async def _blacklisted(env: Env) -> set[int]:
    async with env.session() as s:
        rows = await s.scalars(
            select(BlacklistEntry.user_id).where(BlacklistEntry.revoked_at.is_(None))
        )
        return set(rows)


async def test_a_new_year_greeting_in_six_groups_deletes_nothing(env6):
    env = env6
    groups = list(env.groups.values())
    names = [f"member{i}" for i in range(6)]
    await _regulars(env, names, groups)
    greetings = [env.talk.send(name, g, GREETING) for name in names for g in groups]
    greetings += [env.talk.send(name, g, "新年快乐！🎉") for name in names[:2] for g in groups]
    await env.settle()
    assert all(m is not None for m in greetings)
    assert not [m for m in greetings if m.deleted]
    ids = [env.users[n].id for n in names]
    assert await _warnings_of(env, ids) == 0
    assert not (await _blacklisted(env)) & set(ids)
    assert not [t for g in groups for t in env.bot_texts(g) if "Warning" in t or "Removed" in t]


async def test_a_raid_of_common_phrases_spares_every_regular_and_catches_every_ad(env6):
    env = env6
    groups = list(env.groups.values())
    regulars = [f"reg{i:02d}" for i in range(30)]
    await _regulars(env, regulars, groups, days=10)
    spammers = [f"adacct{i}" for i in range(len(ADS))]
    for name in spammers:
        for g in groups:
            env.members.join(env.user(name), g)
    await env.settle()
    said, ads = [], []
    for round_ in range(2):
        for i, name in enumerate(regulars):
            for g in groups:
                said.append(env.talk.send(name, g, PHRASES[(i + round_) % len(PHRASES)]))
            if i % 8 == 0:  # the ads arrive in the middle of it, in every group
                for s, name_ in enumerate(spammers):
                    for g in groups:
                        ad = env.talk.send(name_, g, ADS[s])
                        if ad is not None:  # a blacklisted account can no longer write
                            ads.append((g, ad))
        await env.settle()
    await env.settle()
    assert all(m is not None for m in said)
    assert not [m.text for m in said if m.deleted]
    regular_ids = [env.users[n].id for n in regulars]
    assert await _warnings_of(env, regular_ids) == 0
    listed = await _blacklisted(env)
    assert not listed & set(regular_ids)
    assert listed >= {env.users[n].id for n in spammers}
    await env.wait_for(lambda: all(env.is_banned(n, g) for n in spammers for g in groups))
    await env.wait_for(lambda: all(env.deleted(g, ad) for g, ad in ads))
    assert all(env.status(n, g) == "member" for n in regulars for g in groups)


async def test_the_clubs_own_contacts_stay(env):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    await _regulars(env, ["rita"], [g1, g2])
    env.talk.private("olga", "/allow gzcar2024")
    await env.wait_private("olga", "gzcar2024")
    await env.admin_says(g1, "/allow 13800138000")
    await env.wait_bot_says(g1, "13800138000")
    await env.admin_says(g1, "/allow https://t.me/gzcar_club")
    await env.wait_bot_says(g1, "t.me/gzcar_club")
    await env.admin_says(g1, "/allow gzcar.com")
    await env.wait_bot_says(g1, "gzcar.com")
    await env.settle()
    kept = [
        (g1, await env.say("rita", g1, "请加客服微信 gzcar2024")),
        (g2, await env.say("rita", g2, "报名请加客服微信：gzcar2024，周六见")),
        (g1, await env.say("rita", g1, "活动热线 138 0013 8000，有事打电话")),
        (g1, await env.say("rita", g1, "俱乐部频道 https://t.me/gzcar_club 记得关注")),
        (g1, await env.say("rita", g1, "报名表在 https://www.gzcar.com/join 填一下")),
    ]
    await env.settle()
    assert not [m.text for g, m in kept if env.deleted(g, m)]
    # another account's contact that merely starts like the club's is still an ad
    await env.join("spammer", g1)
    ad = await env.say("spammer", g1, "兼职日结，加微信 gzcar20245 私聊")
    await env.wait_for(lambda: env.deleted(g1, ad))


async def test_a_newcomers_first_question_is_not_an_ad(env):
    g1 = env.groups["g1"]
    await env.join("newbie", g1)
    question = await env.say("newbie", g1, "有没有人出二手轮胎？私聊我")
    await env.settle()
    assert not env.deleted(g1, question)
    assert await _warnings_of(env, [env.users["newbie"].id]) == 0
    assert not [t for t in env.bot_texts(g1) if "Warning" in t]


@pytest.mark.parametrize(
    "again",
    ["看这里 https://cheap-tyres.shop/deal", "关注 @tyre_deals_channel", "电话 13912345678"],
    ids=["link", "channel", "contact"],
)
async def test_a_warned_advertiser_who_posts_outside_contacts_again_is_a_repeat(env, again):
    g1, g2 = env.groups["g1"], env.groups["g2"]
    await env.join("spammer", g1)
    await env.say("spammer", g1, "兼职日结 300-500，加薇 kk20931 私聊，名额有限")
    await env.wait_bot_says(g1, "Warning 1 of 2")
    repeat = await env.say("spammer", g1, again)
    await env.wait_for(lambda: env.is_banned("spammer", g1) and env.is_banned("spammer", g2))
    await env.wait_for(lambda: env.deleted(g1, repeat))
    assert env.users["spammer"].id in await _blacklisted(env)


async def test_a_member_warned_at_once_gets_no_welcome(env):
    g1 = env.groups["g1"]
    env.members.join(env.user("spammer"), g1)
    env.talk.send("spammer", g1, "兼职日结 300-500，加薇 kk20931 私聊，名额有限")
    await env.wait_bot_says(g1, "Warning 1 of 2")
    await asyncio.sleep(3)  # past the welcome's gathering time (1.5 s here)
    await env.settle()
    welcomes = [t for t in env.bot_texts(g1) if t.startswith("Welcome") and "Spammer" in t]
    assert welcomes == []


@pytest.mark.xfail(
    strict=True,
    reason="the warning's words (services/texts.py) do not follow the removal's outcome and a "
    "failed removal is not reported to the owners (reported)",
)
async def test_a_warning_says_the_message_was_removed_only_when_it_was(env):
    g1 = env.groups["g1"]
    group_bot = g1.members[env.world.bot.id]
    Membership(env.world)._set(
        g1,
        env.users["olga"],
        Member(group_bot.user, "administrator", {**ADMIN_RIGHTS, "can_delete_messages": False}),
    )
    await env.settle()
    await env.join("spammer", g1)
    ad = await env.say("spammer", g1, "兼职日结 300-500，加薇 kk20931 私聊，名额有限")
    warning = await env.wait_bot_says(g1, "Warning 1 of 2")
    await env.settle()
    assert not env.deleted(g1, ad)
    assert "was removed" not in warning
    assert "could not" in warning.lower()
    report = await env.wait_private("olga", "Delete messages")
    assert "Club 1" in report
    await env.say("spammer", g1, "招代理，日赚 800，加V信 vx55667788 了解")
    await env.settle()
    reports = [m.text for m in env.world.private_messages_to("olga") if "Delete messages" in m.text]
    assert len(reports) == 1
    async with env.session() as s:
        logged = (await s.scalars(select(ModerationLog.action))).all()
    assert "warn" in logged
